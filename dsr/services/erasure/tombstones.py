"""Tombstones after a backup restore: finding erased subjects' data again, and erasing it again.

A tombstone keeps a keyed hash of each erased number (``number_fingerprint``), the request and
the time — never the number. Restoring a database backup taken before an erasure brings the
erased rows back; ``reapply_erasures`` recognises them by hashing every distinct number in the
tables that hold numbers (live rows and history) and erases them again through the same erasers
as the request did (``dsr.services.erasure.items``), respecting legal holds.

Only data recorded *before* the erasure is erased again: a subject who calls after their
erasure is new data, lawfully collected, and stays.

A backup restored over the whole database also takes the tombstones back to the backup's day:
export them regularly (``reapply_erasures --export FILE``, no personal data in it) and import
that file after a restore (``reapply_erasures --import FILE``) — see docs/erasure.md.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from calls.models import Call, LegalHoldNumber
from consent.models import (
    ConsentEvent,
    ConsentState,
    InboundSms,
    ProcessingRestriction,
    SmsNotice,
)
from dsr.models import (
    OPEN_STATUSES,
    DataSubjectRequest,
    ErasureItem,
    RequestKind,
    RequestSubjectNumber,
    Tombstone,
)
from dsr.services.base import record_event
from dsr.services.erasure.items import (
    Context,
    Outcome,
    erase_call,
    erase_hold_number,
    erase_number_data,
    erase_request_copy,
    frozen_rules,
)
from portal.models import Tenant
from portal.redaction import number_fingerprint

# Every column that holds a subject's number in E.164, and when the row was recorded.
NUMBER_COLUMNS = (
    (Call, ("caller", "callee"), "created_at"),
    (ConsentEvent, ("number",), "recorded_at"),
    (ConsentState, ("number",), "updated_at"),
    (ProcessingRestriction, ("number",), "started_at"),
    (SmsNotice, ("number",), "sent_at"),
    (InboundSms, ("number",), "received_at"),
    (RequestSubjectNumber, ("number",), "request__created_at"),
    (LegalHoldNumber, ("number",), "hold__applied_at"),
)


@dataclass
class Restored:
    """A tombstoned number found again, and the erasure it belongs to."""

    number: str
    request_ref: int
    erased_at: datetime
    fingerprints: set[str]


@dataclass
class TenantReport:
    tenant: str
    numbers: int = 0
    erased: Counter = field(default_factory=Counter)
    deferred: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        found = f"{self.tenant}: {self.numbers} erased number(s) found again"
        if not self.numbers:
            return [found + "."]
        from dsr.services.erasure.certificate import describe_counts

        erased = describe_counts(self.erased) if any(self.erased.values()) else ""
        out = [found + (f"; erased again: {erased}" if erased else "; nothing erased") + "."]
        out += [f"  kept: {text}" for text in self.deferred]
        out += [f"  note: {text}" for text in self.notes]
        return out


def tombstones_by_fingerprint(tenant_id: int) -> dict[str, list[Tombstone]]:
    index: dict[str, list[Tombstone]] = defaultdict(list)
    for tombstone in Tombstone.objects.filter(tenant_id=tenant_id).order_by("erased_at", "pk"):
        index[tombstone.fingerprint].append(tombstone)
    return index


def numbers_present(tenant_id: int, fingerprints) -> set[str]:
    """The distinct numbers in the tenant's number columns (live and history) whose keyed
    hash is in ``fingerprints``."""
    found: set[str] = set()
    for model, columns, _ in NUMBER_COLUMNS:
        for table in (model, model.history.model):
            rows = table._base_manager.filter(tenant_id=tenant_id)
            for column in columns:
                values = rows.order_by().values_list(column, flat=True).distinct()
                for value in values.iterator():
                    if value and number_fingerprint(value) in fingerprints:
                        found.add(value)
    return found


def restored_numbers(tenant_id: int) -> list[Restored]:
    index = tombstones_by_fingerprint(tenant_id)
    restored = []
    for number in sorted(numbers_present(tenant_id, index)):
        latest = index[number_fingerprint(number)][-1]
        restored.append(
            Restored(number, latest.request_ref, latest.erased_at, {latest.fingerprint})
        )
    return restored


def _call_ids(tenant_id: int, number: str, before: datetime) -> list[int]:
    matches = Q(caller=number) | Q(callee=number)
    live = Call.objects.filter(matches, tenant_id=tenant_id, created_at__lt=before)
    history = Call.history.model.objects.filter(
        matches, tenant_id=tenant_id, history_date__lt=before
    )
    return sorted(
        set(live.values_list("pk", flat=True)) | set(history.values_list("id", flat=True))
    )


def _reapply_one(found: Restored, tenant: Tenant, report: TenantReport, *, dry_run: bool) -> bool:
    """Erase again what a restore brought back of one number; False when only new data."""
    request = DataSubjectRequest.objects.filter(pk=found.request_ref, tenant=tenant).first()
    if request is not None and request.status in OPEN_STATUSES:
        # Restored to before it closed: its own erasure run finishes it (it is resumed).
        report.notes.append(
            f"request #{request.pk} is {request.status} again (restored); its erasure is resumed"
        )
        if not dry_run and request.kind == RequestKind.ERASURE:
            from dsr.tasks import erasure_run

            transaction.on_commit(lambda pk=request.pk: erasure_run.delay(pk))
        return True
    ctx = Context(
        tenant_id=tenant.pk,
        request_ref=found.request_ref,
        request=request,
        numbers=[found.number],
        fingerprints=found.fingerprints,
        rules=frozen_rules(request) if request is not None else None,
        before=found.erased_at,
    )
    calls = _call_ids(tenant.pk, found.number, found.erased_at)
    holds = LegalHoldNumber.objects.filter(
        tenant=tenant, number=found.number, hold__applied_at__lt=found.erased_at
    ).values_list("pk", flat=True)
    others = (
        RequestSubjectNumber.objects.filter(
            tenant=tenant, number=found.number, request__created_at__lt=found.erased_at
        )
        .exclude(request_id=found.request_ref)
        .values_list("request_id", flat=True)
        .distinct()
    )
    work = [("call", pk, erase_call) for pk in calls]
    work += [("hold_number", pk, erase_hold_number) for pk in holds]
    work += [("request", pk, erase_request_copy) for pk in others]
    ledger = ConsentEvent.objects.filter(
        tenant=tenant, number=found.number, recorded_at__lt=found.erased_at
    ).count()
    if not work and not ledger:
        return False  # only new data (the subject came back after the erasure): it stays
    if dry_run:
        report.erased.update(kind for kind, _, _ in work)
        report.erased["consent_event"] += ledger
        return True
    with transaction.atomic():
        erased: Counter = Counter()
        for kind, pk, eraser in work:
            _record(request, kind, pk, eraser(ctx, pk), erased, report)
        _record(request, "number", 0, erase_number_data(ctx, found.number), erased, report)
        report.erased.update(erased)
        if request is not None:
            summary = ", ".join(f"{n} {k}" for k, n in sorted(erased.items()) if n) or "nothing"
            record_event(
                request,
                "erasure_reapplied",
                note=f"Found again after a restore and erased again: {summary}.",
            )
    return True


def _record(request, kind: str, pk: int, outcome: Outcome, erased: Counter, report) -> None:
    if outcome.erased:
        erased.update({k: v for k, v in outcome.counts.items() if k != "history_rows"})
        return
    report.deferred.append(f"{kind} {pk}: {outcome.reason}")
    if request is None or kind == "number":
        return
    # The request's deferred items are finished by the beat task when the reason ends.
    item, _ = ErasureItem.objects.get_or_create(
        request=request,
        kind=kind,
        object_id=pk,
        defaults={"tenant_id": request.tenant_id, "label": f"{kind} {pk} (found after a restore)"},
    )
    item.status = ErasureItem.Status.DEFERRED
    item.deferred_at = item.deferred_at or timezone.now()
    item.blocker, item.reason, item.legal_ground = outcome.blocker, outcome.reason, outcome.ground
    item.release_expected_at, item.holds = outcome.until, outcome.holds
    item._change_reason = "found again after a restore; deferred"
    item.save()


def reapply_erasures(*, tenant: Tenant | None = None, dry_run: bool = False) -> list[TenantReport]:
    """Erase again, per tenant, what a restore brought back of the tombstoned numbers."""
    tenants = Tenant.objects.filter(
        pk__in=Tombstone.objects.values("tenant_id") if tenant is None else [tenant.pk]
    ).order_by("slug")
    reports = []
    for current in tenants:
        report = TenantReport(tenant=current.slug)
        for found in restored_numbers(current.pk):
            report.numbers += _reapply_one(found, current, report, dry_run=dry_run)
        reports.append(report)
    return reports


def tombstones_export() -> list[dict]:
    return [
        {
            "tenant": slug,
            "fingerprint": fingerprint,
            "request": request_ref,
            "erased_at": erased_at.isoformat(),
        }
        for slug, fingerprint, request_ref, erased_at in Tombstone.objects.order_by(
            "erased_at", "pk"
        ).values_list("tenant__slug", "fingerprint", "request_ref", "erased_at")
    ]


@transaction.atomic
def tombstones_import(entries: list[dict]) -> int:
    """Add the exported tombstones this database lacks (after a restore); returns how many."""
    tenants = dict(Tenant.objects.values_list("slug", "pk"))
    added = 0
    for entry in entries:
        tenant_id = tenants.get(entry["tenant"])
        if tenant_id is None:
            continue
        _, created = Tombstone.objects.get_or_create(
            tenant_id=tenant_id,
            fingerprint=entry["fingerprint"],
            request_ref=int(entry["request"]),
            defaults={
                "erased_at": parse_datetime(entry["erased_at"]),
                "request": DataSubjectRequest.objects.filter(
                    pk=int(entry["request"]), tenant_id=tenant_id
                ).first(),
            },
        )
        added += created
    return added


def tombstones_dumps() -> str:
    return json.dumps(tombstones_export(), indent=1)


def fingerprint_findings(request: DataSubjectRequest) -> list[str]:
    """Rows of the tenant recorded before the erasure that hold a number erased under
    ``request`` (by its tombstones), other than the deferred items' own — found without
    knowing the number. Rows recorded later are new data (a subject calling again)."""
    from dsr.services.erasure.scan import expected_rows

    tombstones = list(request.tombstones.all())
    if not tombstones:
        return []
    fingerprints = {t.fingerprint for t in tombstones}
    erased_at = max(t.erased_at for t in tombstones)
    exclude, _ = expected_rows(request, own_rows=False)
    findings = []
    for model, columns, recorded in NUMBER_COLUMNS:
        for table, when in ((model, recorded), (model.history.model, "history_date")):
            rows = table._base_manager.filter(
                tenant_id=request.tenant_id, **{f"{when}__lt": erased_at}
            )
            if table._meta.label in exclude:
                rows = rows.exclude(exclude[table._meta.label])
            for column in columns:
                values = Counter(
                    value
                    for value in rows.values_list(column, flat=True).iterator()
                    if value and number_fingerprint(value) in fingerprints
                )
                for value, count in values.items():
                    findings.append(
                        f"{table._meta.db_table}.{column}: {count} row(s) hold an erased number "
                        f"(fingerprint {number_fingerprint(value)[:12]}…)"
                    )
    return findings
