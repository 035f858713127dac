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
from dataclasses import dataclass

from django.db import transaction

from dsr.models import OPEN_STATUSES, DataSubjectRequest, ErasureRun, RequestKind
from dsr.services.base import lock, record_event
from dsr.services.erasure.execution import erasure_numbers
from dsr.services.erasure.scan import ScanResult, request_scan
from portal.errors import BusinessRuleError
from portal.numbers import normalize_number
from portal.redaction import number_fingerprint, redact_mentions_in, scanned_models


@dataclass
class Verification:
    request: DataSubjectRequest
    scan: ScanResult

    @property
    def clean(self) -> bool:
        return self.scan.clean

    def lines(self) -> list[str]:
        out = [f"Request #{self.request.pk} ({self.request.status})."]
        if not self.scan.numbers:
            out.append(
                "No number of the subject is known any more (the request keeps only "
                "tombstones): give one with --number to search free text for it."
            )
        out += self.scan.lines()
        out.append("CLEAN" if self.clean else "RESIDUAL DATA FOUND")
        return out


def known_numbers(request: DataSubjectRequest, given: Iterable[str]) -> list[str]:
    """The subject's numbers as far as known, with those ``given`` (checked against the
    request's tombstones)."""
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
    known = known_numbers(request, numbers)
    scan = request_scan(request, known, own_rows=request.status in OPEN_STATUSES, fingerprints=True)
    result = Verification(request, scan)
    if record:
        with transaction.atomic():
            note = (
                f"Residual-data scan on demand: {'clean' if result.clean else 'residual data'} "
                f"({len(scan.findings())} hit(s), "
                f"{scan.numbers} number(s), {scan.tables} tables, "
                f"{scan.storage_objects} storage objects)."
            )
            record_event(lock(request), "residual_scan", by=by, note=note)
            ErasureRun.objects.filter(request=request).update(
                scan_at=scan.at,
                scan_clean=result.clean,
                scan_findings=scan.findings()[:500],
                scan_summary=scan.summary(),
            )
    return result


@transaction.atomic
def erasure_redact_findings(*, request: DataSubjectRequest, by, numbers: Iterable[str] = ()) -> int:
    """The DPO's answer to residual data in rows the erasure does not own (e.g. another
    caller's transcript naming the subject's number): cut the numbers out of exactly the text
    cells the last scan found — live rows and history alike — and record it. Returns the rows
    changed. The erasure is then run again (its scan decides)."""
    from dsr.services.base import require_perm

    require_perm(by, "decide_request", "redact residual data")
    request = lock(request)
    run = ErasureRun.objects.filter(request=request).first()
    findings = [f for f in (run.scan_findings if run else []) if f.get("where") == "database"]
    if not findings:
        raise BusinessRuleError("The last residual-data scan found nothing in the database.")
    known = known_numbers(request, numbers)
    if not known:
        raise BusinessRuleError(
            "The request keeps no number any more: give the number the scan searched for.",
            field="numbers",
        )
    tables = {model._meta.db_table: model for model in scanned_models()}
    changed = 0
    for finding in findings:
        model = tables.get(finding["table"])
        field = (
            next((f for f in model._meta.concrete_fields if f.column == finding["column"]), None)
            if model
            else None
        )
        if field is None:
            continue
        rows = model._base_manager.filter(pk=finding["row"])
        changed += redact_mentions_in(rows, fields=[field.attname], numbers=known)
    record_event(
        request,
        "residual_redacted",
        by=by,
        note=f"The subject's numbers were cut out of {changed} row(s) the residual-data scan "
        f"found ({len(findings)} finding(s)).",
    )
    return changed
