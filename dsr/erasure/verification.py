"""Verifying an erasure on demand (``manage.py verify_erasure``, the request page in the admin).

The scan needs the numbers. While the request is open it has them; once closed it keeps only
tombstones, so the numbers come from what its deferred items still hold (matched against the
tombstones), or from the operator (``--number``), accepted only if a tombstone of the request
matches it. Whatever is known, the tables that hold numbers are also checked by fingerprint:
any number in them whose keyed hash is a tombstone of the request is reported — found without
knowing the number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from dsr.erasure.execution import erasure_numbers
from dsr.erasure.scan import ScanResult, request_scan
from dsr.erasure.tombstones import fingerprint_findings
from dsr.models import OPEN_STATUSES, DataSubjectRequest, ErasureRun, RequestKind
from dsr.services.base import lock, record_event
from portal.errors import BusinessRuleError
from portal.numbers import normalize_number
from portal.redaction import number_fingerprint


@dataclass
class Verification:
    request: DataSubjectRequest
    scan: ScanResult
    fingerprint_hits: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.scan.clean and not self.fingerprint_hits

    def lines(self) -> list[str]:
        out = [f"Request #{self.request.pk} ({self.request.status})."]
        if not self.scan.numbers:
            out.append(
                "No number of the subject is known any more (the request keeps only "
                "tombstones): give one with --number to search free text for it."
            )
        out += self.scan.lines()
        out += [f"  HIT by fingerprint: {text}" for text in self.fingerprint_hits]
        out.append("CLEAN" if self.clean else "RESIDUAL DATA FOUND")
        return out


def _numbers(request: DataSubjectRequest, given: Iterable[str]) -> list[str]:
    numbers = set(erasure_numbers(request))
    fingerprints = set(request.tombstones.values_list("fingerprint", flat=True))
    for index, raw in enumerate(given):
        e164 = normalize_number(raw, country=request.tenant.country, field=f"number.{index}")
        if e164 not in numbers and number_fingerprint(e164) not in fingerprints:
            raise BusinessRuleError(
                f"{raw} is not a number of request #{request.pk} (no tombstone matches it).",
                field="number",
            )
        numbers.add(e164)
    return sorted(numbers)


def erasure_verify(
    *, request: DataSubjectRequest, numbers: Iterable[str] = (), by=None, record: bool = True
) -> Verification:
    """Run the residual-data scan of an erasure request now; record the result on its
    timeline (``record``)."""
    if request.kind != RequestKind.ERASURE:
        raise BusinessRuleError(f"Request #{request.pk} is not an erasure request.")
    known = _numbers(request, numbers)
    scan = request_scan(request, known, own_rows=request.status in OPEN_STATUSES)
    result = Verification(request, scan, fingerprint_findings(request))
    if record:
        with transaction.atomic():
            note = (
                f"Residual-data scan on demand: {'clean' if result.clean else 'residual data'} "
                f"({len(scan.findings()) + len(result.fingerprint_hits)} hit(s), "
                f"{scan.numbers} number(s), {scan.tables} tables, "
                f"{scan.storage_objects} storage objects)."
            )
            record_event(lock(request), "residual_scan", by=by, note=note)
            ErasureRun.objects.filter(request=request).update(
                scan_at=scan.at,
                scan_clean=result.clean,
                scan_findings=[
                    *scan.findings(),
                    *({"where": "fingerprint", "reason": hit} for hit in result.fingerprint_hits),
                ][:500],
                scan_summary={**scan.summary(), "fingerprint_hits": len(result.fingerprint_hits)},
            )
    return result
