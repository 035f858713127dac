"""The breach register as CSV (Art. 33(5)), for the DPO and the supervisory authority."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from breaches.selectors import REGISTER_COLUMNS, register_rows

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: str) -> str:
    # Free text opened in a spreadsheet must not run as a formula (CSV injection).
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def register_csv_lines(queryset: QuerySet) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so that spreadsheet programs read UTF-8
    yield writer.writerow([label for _key, label in REGISTER_COLUMNS])
    for row in register_rows(queryset):
        yield writer.writerow([_cell(row[key]) for key, _label in REGISTER_COLUMNS])


def register_csv_response(queryset: QuerySet) -> StreamingHttpResponse:
    response = StreamingHttpResponse(register_csv_lines(queryset), content_type="text/csv")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="breach-register-{stamp}.csv"'
    return response
