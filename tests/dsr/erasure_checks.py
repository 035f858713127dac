"""Independent checks of an erasure: a raw scan of every table of the database, and what
storage still holds. They share no code with the erasure's own residual scan on purpose."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.db import connection

from portal.numbers import number_variants


def variants_pattern(numbers) -> re.Pattern:
    """Every common written form of the numbers, not inside a longer digit sequence."""
    forms = sorted({v for n in numbers for v in number_variants(n)}, key=len, reverse=True)
    return re.compile("(?<![0-9])(?:" + "|".join(re.escape(f) for f in forms) + ")(?![0-9])")


def raw_rows_with(numbers) -> list[tuple[str, dict]]:
    """(table, row) of every row in every table of the database where any column, read as
    text, holds one of the numbers in a common written form."""
    pattern = variants_pattern(numbers)
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [c[0] for c in cursor.description]
            for values in cursor.fetchall():
                if any(
                    pattern.search(v.decode(errors="ignore") if isinstance(v, bytes) else str(v))
                    for v in values
                    if v is not None
                ):
                    found.append((table, dict(zip(columns, values, strict=True))))
    return found


def belongs_to_call(table: str, row: dict, call_id: int) -> bool:
    """A row of the call itself, of its history, or of an object of the call."""
    if table in ("calls_call", "calls_historicalcall"):
        return row["id"] == call_id
    return row.get("call_id") == call_id


def stored_keys(s3=None) -> set[tuple[str, str]]:
    """(key, version id or 'marker:<id>') of everything in storage: every version and delete
    marker on S3, every file on the filesystem."""
    if s3 is not None:
        client, bucket = s3
        listing = client.list_object_versions(Bucket=bucket)
        return {(v["Key"], v["VersionId"]) for v in listing.get("Versions", [])} | {
            (m["Key"], f"marker:{m['VersionId']}") for m in listing.get("DeleteMarkers", [])
        }
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    if not root.exists():
        return set()
    return {(str(p.relative_to(root)), "file") for p in root.rglob("*") if p.is_file()}
