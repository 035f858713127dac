"""Executing an approved erasure request, resuming it, and finishing deferred items.

``erasure_execute`` is the body of the Celery task ``dsr.tasks.erasure_run`` (``acks_late``,
rejected on worker loss): it moves the request to ``processing``, lists what it finds
(``items.discover``), erases or defers each item in a transaction of its own, removes the
files, tells recipients (Art. 19), scans for residual data and closes the request —
``completed``, or ``partially_completed`` with the deferred items and why.

It can be killed anywhere and run again: it re-reads the request and its items, skips what is
erased already, and an object already gone is success. Every item marks the run's progress; a
run with no progress for ``ERASURE_STUCK_AFTER_MINUTES`` is started again by the beat task
``erasure_resume_stuck``.

Deferred items are erased when their reason ends — a hold released (at once, after the release
commits) or expired, a minimum retention period over, another request closed — by
``deferred_sweep`` (beat, and on release); once none is left the request completes by itself.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from calls.models import FileDeletion
from calls.services import file_deletion_run
from dsr.models import (
    DataSubjectRequest,
    ErasureItem,
    ErasureRun,
    RequestKind,
    RequestStatus,
)
from dsr.services import notifications
from dsr.services.base import lock, record_event, save_request, transition
from dsr.services.erasure import certificate
from dsr.services.erasure.items import Context, discover, frozen_rules, item_process, request_scrub
from dsr.services.erasure.scan import ScanResult, request_models, request_scan
from portal.errors import BusinessRuleError
from portal.redaction import number_fingerprint

logger = logging.getLogger(__name__)
S = RequestStatus
Status = ErasureItem.Status
ANNOUNCE_BATCH = 500


class ResidualAfterScrub(Exception):
    def __init__(self, result: ScanResult) -> None:
        super().__init__("residual data after the request's own scrub")
        self.result = result


def stuck_after() -> timedelta:
    return timedelta(minutes=settings.ERASURE_STUCK_AFTER_MINUTES)


def _context(request: DataSubjectRequest, numbers: list[str]) -> Context:
    return Context(
        tenant_id=request.tenant_id,
        request_ref=request.pk,
        request=request,
        numbers=list(numbers),
        fingerprints=set(request.tombstones.values_list("fingerprint", flat=True)),
        rules=frozen_rules(request),
    )


def _items(request: DataSubjectRequest, *statuses: str) -> list[int]:
    return list(
        ErasureItem.objects.filter(request=request, status__in=statuses)
        .order_by("kind", "object_id")
        .values_list("pk", flat=True)
    )


# ---------------------------------------------------------------------------------------------
# The run


def erasure_execute(*, request_id: int) -> str:
    """Carry out (or resume) the erasure of an approved request. Returns what happened."""
    with transaction.atomic():
        request = (
            DataSubjectRequest.objects.select_for_update(of=("self",))
            .select_related("tenant")
            .filter(pk=request_id, kind=RequestKind.ERASURE)
            .first()
        )
        if request is None:
            return "skipped"
        if request.status == S.PARTIALLY_COMPLETED:
            resume = True
        elif request.status in (S.APPROVED, S.PROCESSING):
            resume = False
            if request.status == S.APPROVED:
                transition(
                    request, "process", processing_at=timezone.now(), note="Erasure started."
                )
            run, _ = ErasureRun.objects.get_or_create(
                request=request, defaults={"tenant_id": request.tenant_id}
            )
            run.attempts += 1
            run.state = ErasureRun.State.RUNNING
            run.progress_at = timezone.now()
            run.steps = max(run.steps, 1)
            run.last_error = ""
            run.save()
            numbers = request.numbers
            discover(request, numbers)
        else:
            return "skipped"
    if resume:
        return deferred_resume(request_id=request_id)
    ctx = _context(request, numbers)
    for item_id in _items(request, Status.PENDING, Status.DEFERRED):
        item_process(item_id, ctx, step=1)
    _finish_removals(request)
    _announce(request)
    return _close(request, ctx)


def _finish_removals(request: DataSubjectRequest) -> None:
    """Remove the erased items' files now rather than wait for the after-commit task: the
    residual scan checks them next. Idempotent (a removal done is skipped)."""
    ids = [
        deletion_id
        for deletions in ErasureItem.objects.filter(request=request).values_list(
            "file_deletions", flat=True
        )
        for deletion_id in deletions or []
    ]
    pending = FileDeletion.objects.filter(pk__in=ids, completed_at__isnull=True)
    for deletion_id in pending.values_list("pk", flat=True):
        file_deletion_run(deletion_id=deletion_id)


def _announce(request: DataSubjectRequest) -> None:
    """Art. 19: tell the tenant's webhooks which calls were erased, once per call."""
    while True:
        with transaction.atomic():
            items = list(
                ErasureItem.objects.select_for_update()
                .filter(
                    request=request,
                    kind=ErasureItem.Kind.CALL,
                    status=Status.ERASED,
                    announced_at__isnull=True,
                )
                .order_by("object_id")[:ANNOUNCE_BATCH]
            )
            if not items:
                return
            fresh = DataSubjectRequest.objects.select_related("tenant").get(pk=request.pk)
            notifications.emit(fresh, "request.erased", calls=[i.object_id for i in items])
            # A plain UPDATE: the announcement is recorded by the webhook delivery itself.
            ErasureItem.objects.filter(pk__in=[i.pk for i in items]).update(
                announced_at=timezone.now()
            )


def _record_scan(request: DataSubjectRequest, result: ScanResult, *, state: str | None) -> None:
    with transaction.atomic():
        run = ErasureRun.objects.select_for_update().get(request=request)
        run.scan_at = result.at
        run.scan_clean = result.clean
        run.scan_findings = result.findings()[:500]
        run.scan_summary = result.summary()
        run.progress_at = timezone.now()
        if state:
            run.state = state
        run.save()


def _blocked(request: DataSubjectRequest, result: ScanResult) -> str:
    """Residual data blocks the close: recorded, shown to the DPO, emailed."""
    if result.only_pending_removals:
        # Storage is slow or down: the run stays "running" and is resumed after the stuck time.
        _record_scan(request, result, state=ErasureRun.State.RUNNING)
        return "waiting_for_storage"
    _record_scan(request, result, state=ErasureRun.State.RESIDUAL_DATA)
    hits = result.findings()
    with transaction.atomic():
        fresh = lock(request)
        record_event(
            fresh,
            "residual_data",
            note=f"{len(hits)} place(s) still hold the subject's numbers; the request stays "
            "open until they are dealt with (see the residual-data scan on the request page).",
        )
        notifications.notify_staff(
            fresh,
            "Erasure blocked by residual data",
            f"The residual-data scan of request #{fresh.pk} found {len(hits)} place(s) still "
            "holding the subject's numbers. Deal with them, then run the erasure again.",
            [*notifications.dpo_emails(), getattr(fresh.assignee, "email", "")],
        )
    return "residual_data"


def _outcome_text(request: DataSubjectRequest) -> str:
    items = ErasureItem.objects.filter(request=request)
    erased: Counter = Counter()
    for counts in items.filter(status=Status.ERASED).values_list("counts", flat=True):
        erased.update(counts or {})
    text = "Erased: " + certificate.describe_counts(erased) + "."
    deferred = list(items.filter(status=Status.DEFERRED).order_by("kind", "object_id"))
    if not deferred:
        return text
    text += (
        f" Not erased yet — kept under Art. 17(3) GDPR ({len(deferred)} item(s)); each is erased "
        "automatically when the reason ends, and the request then completes:"
    )
    for item in deferred:
        line = f" • {item.label}: {item.reason}"
        if item.release_expected_at:
            line += f" Expected release: {item.release_expected_at:%Y-%m-%d}."
        text += "\n" + line
    authority = request.tenant.supervisory_authority or "the supervisory authority"
    text += (
        f"\nThe subject may lodge a complaint with {authority} and seek a judicial remedy "
        "(Art. 12(4))."
    )
    return text


def _close(request: DataSubjectRequest, ctx: Context) -> str:
    """Scan, then close the request: scrub its own copy of the subject (tombstones stay),
    verify that scrub, and complete — or partially complete, with the deferred items."""
    result = request_scan(request, ctx.numbers, own_rows=True)
    if not result.clean:
        return _blocked(request, result)
    try:
        with transaction.atomic():
            request = lock(request)
            if request.status != S.PROCESSING:
                return "skipped"
            request_scrub(request, ctx)
            check = request_scan(
                request, ctx.numbers, own_rows=False, models=request_models(), storage=False
            )
            if not check.clean:
                raise ResidualAfterScrub(check)
            deferred = ErasureItem.objects.filter(request=request, status=Status.DEFERRED)
            outcome = _outcome_text(request)
            action = "partially_complete" if deferred.exists() else "complete"
            transition(request, action, note=outcome, outcome=outcome, completed_at=timezone.now())
            run = ErasureRun.objects.select_for_update().get(request=request)
            run.state = ErasureRun.State.WAITING if deferred.exists() else ErasureRun.State.DONE
            run.scan_at, run.scan_clean = result.at, True
            run.scan_findings, run.scan_summary = [], result.summary()
            run.save()
            certificate.certificate_issue(request)
    except ResidualAfterScrub as exc:
        return _blocked(request, exc.result)
    return request.status


# ---------------------------------------------------------------------------------------------
# Deferred items


def deferred_resume(*, request_id: int, numbers: Iterable[str] = ()) -> str:
    """Erase what is deferred and may go now; complete the request once nothing is left.

    ``numbers``: the subject's numbers where the DPO gives them (the closed request keeps only
    tombstones) for the final scan."""
    request = (
        DataSubjectRequest.objects.select_related("tenant")
        .filter(pk=request_id, kind=RequestKind.ERASURE)
        .first()
    )
    if request is None or not hasattr(request, "erasure_run"):
        return "skipped"
    if request.status == S.PROCESSING:
        return erasure_execute(request_id=request_id)
    # A completed request can have deferred items again: held data found after a restore.
    if request.status not in (S.PARTIALLY_COMPLETED, S.COMPLETED):
        return "skipped"
    run = request.erasure_run
    ctx = _context(request, [])
    step = run.steps + 1
    erased = False
    numbers = set(numbers)
    for item_id in _items(request, Status.DEFERRED):
        item, outcome = item_process(item_id, ctx, step=step)
        numbers |= outcome.numbers_found
        erased |= bool(item and item.status == Status.ERASED and item.step == step)
    if erased:
        ErasureRun.objects.filter(pk=run.pk).update(steps=step, progress_at=timezone.now())
        _finish_removals(request)
        _announce(request)
    if ErasureItem.objects.filter(request=request, status=Status.DEFERRED).exists():
        if erased:
            with transaction.atomic():
                request = lock(request)
                request.outcome = _outcome_text(request)
                save_request(request, reason=f"erasure step {step}: deferred items erased")
                record_event(request, "erased_deferred", note=f"Step {step}.")
                certificate.certificate_issue(request)
        return request.status
    if request.status == S.COMPLETED:
        if erased:
            with transaction.atomic():
                request = lock(request)
                record_event(request, "erased_deferred", note=f"Step {step}.")
                certificate.certificate_issue(request)
        return request.status
    # Everything is gone: the scan looks for the numbers the last items held (the request
    # itself keeps only their tombstones), and checks the number columns by fingerprint.
    result = request_scan(request, sorted(numbers), own_rows=False, fingerprints=True)
    if not result.clean:
        return _blocked(request, result)
    with transaction.atomic():
        request = lock(request)
        if request.status != S.PARTIALLY_COMPLETED:
            return "skipped"
        outcome = _outcome_text(request)
        transition(
            request, "complete_deferred", note=outcome, outcome=outcome, completed_at=timezone.now()
        )
        run = ErasureRun.objects.select_for_update().get(pk=run.pk)
        run.state = ErasureRun.State.DONE
        run.scan_at, run.scan_clean = result.at, True
        run.scan_findings, run.scan_summary = [], result.summary()
        run.save()
        certificate.certificate_issue(request)
    return request.status


def _due_requests(*, tenant_id: int | None = None) -> list[int]:
    """Requests with a deferred item whose reason may have ended."""
    from calls.services.retention.holds import active_holds

    now = timezone.now()
    deferred = ErasureItem.objects.filter(status=Status.DEFERRED)
    if tenant_id is not None:
        deferred = deferred.filter(tenant_id=tenant_id)
    active = set(active_holds(at=now).values_list("pk", flat=True))
    due: set[int] = set()
    rows = deferred.values_list("request_id", "blocker", "release_expected_at", "holds")
    for request_id, blocker, until, holds in rows.iterator():
        ended = until is not None and until <= now
        released = blocker == "legal_hold" and not set(holds or []) <= active
        # Another request closed, another party's restriction lifted: checked each time.
        undated = blocker not in ("legal_hold", "min_retention")
        if ended or released or undated:
            due.add(request_id)
    return sorted(due)


def deferred_sweep(*, tenant_id: int | None = None) -> dict:
    """Beat (and after a hold's release): erase deferred items whose reason ended."""
    results: Counter = Counter()
    for request_id in _due_requests(tenant_id=tenant_id):
        try:
            results[deferred_resume(request_id=request_id)] += 1
        except Exception:  # one request's failure must not stop the others
            logger.exception("Resuming the deferred erasure of request %s failed", request_id)
            results["failed"] += 1
    return dict(results)


def erasures_resume_stuck() -> list[int]:
    """Beat: requests whose erasure work died (no progress for the stuck time) start again —
    approved ones whose task never started, processing ones whose worker stopped."""
    from dsr.tasks import erasure_run

    cutoff = timezone.now() - stuck_after()
    erasures = DataSubjectRequest.objects.filter(kind=RequestKind.ERASURE)
    never_started = erasures.filter(
        status=S.APPROVED, approved_at__lt=cutoff, erasure_run__isnull=True
    )
    stalled = erasures.filter(
        status=S.PROCESSING,
        erasure_run__state=ErasureRun.State.RUNNING,
        erasure_run__progress_at__lt=cutoff,
    )
    ids = sorted(
        set(never_started.values_list("pk", flat=True)) | set(stalled.values_list("pk", flat=True))
    )
    for request_id in ids:
        ErasureRun.objects.filter(request_id=request_id).update(progress_at=timezone.now())
        erasure_run.delay(request_id)
    return ids


def erasure_numbers(request: DataSubjectRequest) -> list[str]:
    """The subject's numbers as far as they are still known: the request's own while it is
    open; once closed, those its deferred items still hold (matched by the tombstones)."""
    numbers = set(request.numbers)
    fingerprints = set(request.tombstones.values_list("fingerprint", flat=True))
    if not fingerprints:
        return sorted(numbers)
    from calls.models import Call, LegalHoldNumber
    from dsr.models import RequestSubjectNumber

    deferred = ErasureItem.objects.filter(request=request, status=Status.DEFERRED)
    by_kind: dict[str, list[int]] = {}
    for kind, object_id in deferred.values_list("kind", "object_id"):
        by_kind.setdefault(kind, []).append(object_id)
    candidates: set[str] = set()
    for caller, callee in Call.objects.filter(pk__in=by_kind.get("call", [])).values_list(
        "caller", "callee"
    ):
        candidates |= {caller, callee}
    candidates |= set(
        LegalHoldNumber.objects.filter(pk__in=by_kind.get("hold_number", [])).values_list(
            "number", flat=True
        )
    )
    candidates |= set(
        RequestSubjectNumber.objects.filter(request_id__in=by_kind.get("request", [])).values_list(
            "number", flat=True
        )
    )
    numbers |= {n for n in candidates if number_fingerprint(n) in fingerprints}
    return sorted(numbers)


def erasure_failed(*, request_id: int, error: BaseException) -> None:
    """Record why a run stopped (shown on the request page); the run is resumed later."""
    ErasureRun.objects.filter(request_id=request_id).update(
        last_error=f"{type(error).__name__}: {error}"[:2000]
    )


@transaction.atomic
def erasure_restart(*, request: DataSubjectRequest, by, note: str = "") -> DataSubjectRequest:
    """Run an erasure's work again now (e.g. after the DPO dealt with residual data)."""
    from dsr.services.base import require_perm
    from dsr.tasks import erasure_run

    require_perm(by, "decide_request", "run an erasure again")
    request = lock(request)
    restartable = (S.APPROVED, S.PROCESSING, S.PARTIALLY_COMPLETED)
    if request.kind != RequestKind.ERASURE or request.status not in restartable:
        raise BusinessRuleError(
            "Only an approved erasure request that is not completed can be run again.",
            code="illegal_transition",
        )
    ErasureRun.objects.filter(request=request).update(
        state=ErasureRun.State.RUNNING if request.status == S.PROCESSING else F("state"),
        progress_at=timezone.now(),
    )
    record_event(request, "erasure_restarted", by=by, note=(note or "").strip())
    erasure_run.delay_on_commit(request.pk)
    return request
