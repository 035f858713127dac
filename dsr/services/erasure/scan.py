"""The residual-data scan: is the subject's number still anywhere?

Before an erasure request may be closed, every text and JSON column of every table of the
project (history tables included, the tenant's rows) and the tenant's storage (object keys, and
the metadata of every version) are searched for the subject's numbers in any common written
form (``portal.redaction.residual_scan``); and each storage key the erasure removed must have no
version and no delete marker left.

Only the rows that are *expected* to hold the numbers are left out, and exactly those:

* the rows of deferred items — a call kept under a legal hold or a minimum retention period
  (the call, its recording, transcript, access log and statements, with their history), a hold's
  copy of the number while the hold is in force, another request of the subject still open;
* while the request itself is open, its own rows (its numbers, and the subject's details it
  carries): they are scrubbed when it closes, and that scrub is verified by a second scan of the
  request's tables before the close commits.

A hit blocks completion: it is recorded on the request's ``ErasureRun`` and shown to the DPO.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from calls.models import Call, FileDeletion, LegalHoldNumber, Recording, RecordingAccess, Transcript
from calls.services.storage import stored_file_versions, stored_objects
from dsr.models import (
    CallRectification,
    DataSubjectRequest,
    ErasureItem,
    RequestClockPause,
    RequestEvent,
    RequestSubjectNumber,
    SubjectNotice,
)
from portal.redaction import ResidualHit, numbers_regex, residual_scan, scanned_models

Kind = ErasureItem.Kind

# Models whose rows belong to a call, by the column naming it.
CALL_ROWS = ((Call, "id"), (Recording, "call_id"), (Transcript, "call_id"))
CALL_ROWS += ((RecordingAccess, "call_id"), (CallRectification, "call_id"))
REQUEST_ROWS = (
    (DataSubjectRequest, "id"),
    (RequestSubjectNumber, "request_id"),
    (RequestEvent, "request_id"),
    (SubjectNotice, "request_id"),
    (RequestClockPause, "request_id"),
)


@dataclass
class ScanResult:
    at: datetime
    numbers: int
    tables: int
    db_hits: list[ResidualHit] = field(default_factory=list)
    storage_objects: int = 0
    storage_hits: list[dict] = field(default_factory=list)
    fingerprint_hits: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.db_hits and not self.storage_hits and not self.fingerprint_hits

    @property
    def only_pending_removals(self) -> bool:
        """Every hit is a storage removal that is still pending (storage down, worker busy)."""
        return (
            not self.db_hits
            and bool(self.storage_hits)
            and not self.fingerprint_hits
            and all(hit.get("removal_pending") for hit in self.storage_hits)
        )

    def findings(self) -> list[dict]:
        rows = [
            {"where": "database", "table": h.table, "column": h.column, "row": str(h.pk)}
            for h in self.db_hits
        ]
        rows += [{"where": "storage", **hit} for hit in self.storage_hits]
        return rows + [{"where": "fingerprint", "reason": hit} for hit in self.fingerprint_hits]

    def summary(self) -> dict:
        return {
            "at": self.at.isoformat(),
            "clean": self.clean,
            "numbers_searched": self.numbers,
            "tables_scanned": self.tables,
            "storage_objects_scanned": self.storage_objects,
            "database_hits": len(self.db_hits),
            "storage_hits": len(self.storage_hits),
            "fingerprint_hits": len(self.fingerprint_hits),
            "expected_rows_left_out": self.expected,
        }

    def lines(self) -> list[str]:
        out = [
            f"Residual-data scan at {self.at:%Y-%m-%d %H:%M:%S} UTC: {self.numbers} number(s), "
            f"{self.tables} table(s), {self.storage_objects} storage object(s).",
        ]
        out += [f"  expected, left out: {text}" for text in self.expected]
        if self.clean:
            out.append("No residual data found.")
        for hit in self.findings():
            if hit["where"] == "database":
                out.append(f"  HIT database {hit['table']}.{hit['column']} row {hit['row']}")
            elif hit["where"] == "storage":
                out.append(f"  HIT storage {hit['key']} ({hit['reason']})")
            else:
                out.append(f"  HIT by fingerprint: {hit['reason']}")
        return out


def _rows(models_and_keys, ids: Iterable) -> dict[str, Q]:
    ids = sorted(set(ids))
    exclude: dict[str, Q] = {}
    if not ids:
        return exclude
    for model, key in models_and_keys:
        exclude[model._meta.label] = Q(**{f"{key}__in": ids})
        history_key = "id" if key == "id" else key
        exclude[model.history.model._meta.label] = Q(**{f"{history_key}__in": ids})
    return exclude


def expected_rows(request: DataSubjectRequest, *, own_rows: bool) -> tuple[dict[str, Q], list[str]]:
    """The rows expected to hold the subject's numbers — the deferred items' own rows and, with
    ``own_rows``, the request's — as exclusions for ``residual_scan``, with a description."""
    deferred = ErasureItem.objects.filter(request=request, status=ErasureItem.Status.DEFERRED)
    ids: dict[str, list[int]] = {kind: [] for kind in Kind.values}
    for kind, object_id in deferred.values_list("kind", "object_id"):
        ids[kind].append(object_id)
    requests = list(ids[Kind.REQUEST]) + ([request.pk] if own_rows else [])
    exclude = {
        **_rows(CALL_ROWS, ids[Kind.CALL]),
        **_rows(((LegalHoldNumber, "id"),), ids[Kind.HOLD_NUMBER]),
        **_rows(REQUEST_ROWS, requests),
    }
    described = []
    if ids[Kind.CALL]:
        described.append(
            "the rows of deferred call(s) " + ", ".join(map(str, sorted(ids[Kind.CALL])))
        )
    if ids[Kind.HOLD_NUMBER]:
        described.append(f"{len(ids[Kind.HOLD_NUMBER])} number(s) named by a hold in force")
    if ids[Kind.REQUEST]:
        described.append("open request(s) " + ", ".join(f"#{i}" for i in sorted(ids[Kind.REQUEST])))
    if own_rows:
        described.append(f"request #{request.pk}'s own rows (scrubbed as it closes)")
    return exclude, described


def erased_storage_keys(request: DataSubjectRequest) -> list[FileDeletion]:
    ids = [
        deletion_id
        for deletions in ErasureItem.objects.filter(
            request=request, status=ErasureItem.Status.ERASED
        ).values_list("file_deletions", flat=True)
        for deletion_id in deletions or []
    ]
    return list(FileDeletion.objects.filter(pk__in=ids).order_by("pk"))


def storage_scan(request: DataSubjectRequest, numbers: list[str]) -> tuple[int, list[dict]]:
    """Object keys and metadata under the tenant's prefix, and the erased keys' versions."""
    pattern = numbers_regex(numbers)
    hits: list[dict] = []
    scanned = 0
    if numbers:
        for found in stored_objects(f"tenants/{request.tenant_id}/"):
            scanned += 1
            if pattern.search(found.key):
                hits.append({"key": found.key, "reason": "the key holds the number"})
            for name, value in found.metadata:
                if pattern.search(value):
                    hits.append({"key": found.key, "reason": f"metadata {name} holds the number"})
    for deletion in erased_storage_keys(request):
        versions = stored_file_versions(deletion.storage_key)
        if versions:
            hits.append(
                {
                    "key": deletion.storage_key,
                    "reason": f"{versions} version(s) or delete marker(s) left",
                    "removal_pending": deletion.completed_at is None,
                }
            )
    return scanned, hits


def request_scan(
    request: DataSubjectRequest,
    numbers: list[str],
    *,
    own_rows: bool,
    models=None,
    storage: bool = True,
    fingerprints: bool = False,
) -> ScanResult:
    """The scan for one request (``models`` narrows it, e.g. to the request's own tables);
    ``fingerprints`` also checks the number columns against the request's tombstones (finds an
    erased number without knowing it)."""
    exclude, described = expected_rows(request, own_rows=own_rows)
    models = list(models or scanned_models())
    result = ScanResult(
        at=timezone.now(), numbers=len(numbers), tables=len(models), expected=described
    )
    if numbers:
        result.db_hits = residual_scan(
            numbers, tenant_id=request.tenant_id, models_to_scan=models, exclude=exclude
        )
    if storage:
        result.storage_objects, result.storage_hits = storage_scan(request, numbers)
    if fingerprints:
        from dsr.services.erasure.tombstones import fingerprint_findings

        result.fingerprint_hits = fingerprint_findings(request)
    return result


def request_models() -> list:
    """The request's own tables and their history: what closing a request scrubs."""
    return [model for model, _ in REQUEST_ROWS] + [model.history.model for model, _ in REQUEST_ROWS]
