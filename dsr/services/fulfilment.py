"""Fulfilment: processing and completion, restriction, objection, rectification, packages."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from calls.models import Call
from consent.models import ProcessingRestriction
from consent.services import processing_restriction_lift, processing_restriction_place
from dsr.models import (
    PACKAGE_KINDS,
    CallRectification,
    DataSubjectRequest,
    RequestKind,
    SubjectNotice,
)
from dsr.selectors import subject_calls
from dsr.services import notifications
from dsr.services.base import (
    S,
    actor_label,
    letter_context,
    lock,
    notice_record,
    record_event,
    require_perm,
    save_request,
    transition,
)
from portal.errors import BusinessRuleError


@transaction.atomic
def request_process(*, request: DataSubjectRequest, by=None) -> DataSubjectRequest:
    require_perm(by, "decide_request", "process a request")
    request = lock(request)
    if request.kind == RequestKind.ERASURE:
        raise BusinessRuleError(
            "Erasure requests are executed by the erasure process, not started by hand.",
            code="erasure_not_available",
        )
    return transition(request, "process", by=by, processing_at=timezone.now())


@transaction.atomic
def request_complete(
    *, request: DataSubjectRequest, by=None, outcome: str = ""
) -> DataSubjectRequest:
    require_perm(by, "decide_request", "complete a request")
    request = lock(request)
    return transition(
        request,
        "complete",
        by=by,
        note=outcome,
        outcome=(outcome or "").strip(),
        completed_at=timezone.now(),
    )


@transaction.atomic
def request_partially_complete(
    *, request: DataSubjectRequest, by=None, outcome: str
) -> DataSubjectRequest:
    """Close a request of which part could not be done, saying what and why."""
    require_perm(by, "decide_request", "complete a request")
    if not (outcome or "").strip():
        raise BusinessRuleError(
            "Say what could not be done, and why (the tenant passes it on).", field="outcome"
        )
    request = lock(request)
    return transition(
        request,
        "partially_complete",
        by=by,
        note=outcome.strip(),
        outcome=outcome.strip(),
        completed_at=timezone.now(),
    )


@transaction.atomic
def request_package_rebuild(*, request: DataSubjectRequest, by) -> DataSubjectRequest:
    """Start a fresh package build (e.g. after a failed or interrupted one)."""
    from dsr.models import AccessPackage
    from dsr.tasks import package_build

    require_perm(by, "decide_request", "rebuild a package")
    request = lock(request)
    if request.kind not in PACKAGE_KINDS or request.status != S.PROCESSING:
        raise BusinessRuleError(
            "Only an access or portability request being processed has a package to build.",
            code="illegal_transition",
        )
    for package in request.packages.filter(status=AccessPackage.Status.BUILDING):
        package.status = AccessPackage.Status.FAILED
        package.error = f"Superseded by a new build started by {actor_label(by)}."
        package.save(update_fields=["status", "error"])
    record_event(request, "package_rebuild", by=by)
    package_build.delay_on_commit(request.pk)
    return request


def _mark_calls_restricted(calls: Iterable[Call], restricted: bool, *, by=None) -> list[int]:
    changed = []
    for call in calls:
        if call.is_restricted != restricted:
            call.is_restricted = restricted
            if getattr(by, "pk", None):
                call._history_user = by
            call.save(update_fields=["is_restricted"])  # per object: history is evidence
        changed.append(call.pk)
    return changed


def restriction_apply(request: DataSubjectRequest, *, by) -> None:
    """Art. 18: the subject's data is only stored; the consent check answers "not allowed"."""
    request_process(request=request, by=by)
    for number in request.numbers:
        processing_restriction_place(
            tenant=request.tenant,
            number=number,
            kind=ProcessingRestriction.Kind.RESTRICTION,
            reason=f"Data-subject request #{request.pk}",
            request_id=request.pk,
        )
    call_ids = _mark_calls_restricted(subject_calls(request), True, by=by)
    record_event(request, "restricted", by=by, note=f"{len(call_ids)} call(s) restricted.")
    notifications.emit(request, "request.restricted", calls=call_ids)  # Art. 19
    request_complete(
        request=request,
        by=by,
        outcome=f"Processing restricted for the subject's numbers; {len(call_ids)} call(s) "
        "marked as stored only.",
    )


def objection_apply(request: DataSubjectRequest, *, by) -> None:
    """Art. 21: processing on legitimate interests stops for the subject's numbers."""
    request_process(request=request, by=by)
    for number in request.numbers:
        processing_restriction_place(
            tenant=request.tenant,
            number=number,
            kind=ProcessingRestriction.Kind.OBJECTION,
            reason=f"Data-subject request #{request.pk}",
            request_id=request.pk,
        )
    request_complete(
        request=request,
        by=by,
        outcome="Processing on legitimate interests stopped for the subject's numbers.",
    )


@transaction.atomic
def request_rectify(
    *,
    request: DataSubjectRequest,
    by,
    statement: str,
    calls: Iterable[Call] | None = None,
    complete: bool = True,
) -> list[CallRectification]:
    """Art. 16: add the subject's correction or supplementary statement to their calls.

    Recipients are told which calls carry a new statement (Art. 19 webhook).
    """
    require_perm(by, "decide_request", "rectify call records")
    request = lock(request)
    if request.kind != RequestKind.RECTIFICATION:
        raise BusinessRuleError("Only rectification requests add statements to calls.")
    if request.status != S.PROCESSING:
        raise BusinessRuleError(
            f"Request #{request.pk} is {request.status}: statements are added once it is "
            "approved (processing).",
            code="illegal_transition",
        )
    statement = (statement or "").strip()
    if not statement:
        raise BusinessRuleError("Write the statement to add to the calls.", field="statement")
    eligible = subject_calls(request)
    if calls is None:
        chosen = list(eligible)
    else:
        wanted = {call.pk for call in calls}
        chosen = list(eligible.filter(pk__in=wanted))
        if len(chosen) != len(wanted):
            raise BusinessRuleError(
                "Some of the chosen calls are not the subject's calls.", field="calls"
            )
    rectifications = [
        CallRectification.objects.create(
            tenant_id=request.tenant_id,
            call=call,
            request=request,
            statement=statement,
            created_by=by if getattr(by, "pk", None) else None,
        )
        for call in chosen
    ]
    call_ids = [call.pk for call in chosen]
    record_event(request, "rectified", by=by, note=f"Statement added to {len(call_ids)} call(s).")
    notifications.emit(request, "request.rectified", calls=call_ids)  # Art. 19
    if complete:
        request_complete(
            request=request,
            by=by,
            outcome=f"Supplementary statement added to {len(call_ids)} call(s).",
        )
    return rectifications


@transaction.atomic
def request_restriction_lift_notify(
    *, request: DataSubjectRequest, by, text: str = ""
) -> SubjectNotice:
    """Art. 18(3): tell the subject before a restriction is lifted."""
    require_perm(by, "decide_request", "lift a restriction")
    request = lock(request)
    _check_restriction_active(request)
    text = (text or "").strip() or notifications.render_for_tenant(
        "dsr/notice_restriction_lift.txt", letter_context(request), request.tenant
    )
    notice = notice_record(request, SubjectNotice.Kind.RESTRICTION_LIFT, text, by=by)
    request.restriction_lift_notified_at = notice.created_at
    save_request(request, by=by, reason="subject told the restriction will be lifted")
    record_event(request, "restriction_lift_notified", by=by)
    return notice


def _check_restriction_active(request: DataSubjectRequest) -> None:
    if request.kind != RequestKind.RESTRICTION or request.status != S.COMPLETED:
        raise BusinessRuleError("Only a completed restriction request has a restriction to lift.")
    if request.restriction_lifted_at is not None:
        raise BusinessRuleError("The restriction was lifted already.", code="already_lifted")


@transaction.atomic
def request_restriction_lift(*, request: DataSubjectRequest, by, reason: str) -> list[int]:
    """Lift the restriction a request placed — only after the subject has been told."""
    require_perm(by, "decide_request", "lift a restriction")
    request = lock(request)
    _check_restriction_active(request)
    if request.restriction_lift_notified_at is None:
        raise BusinessRuleError(
            "Tell the subject before the restriction is lifted (Art. 18(3)).",
            code="subject_not_told",
        )
    if not (reason or "").strip():
        raise BusinessRuleError("Say why the restriction is lifted.", field="reason")
    restrictions = ProcessingRestriction.objects.for_tenant(request.tenant_id).filter(
        request_id=request.pk,
        kind=ProcessingRestriction.Kind.RESTRICTION,
        lifted_at__isnull=True,
    )
    for restriction in restrictions:
        processing_restriction_lift(restriction=restriction, reason=reason.strip())
    calls = list(subject_calls(request).filter(is_restricted=True))
    # A call stays restricted while the other party's number is restricted too.
    numbers = {n for call in calls for n in (call.caller, call.callee)}
    still_restricted = set(
        ProcessingRestriction.objects.for_tenant(request.tenant_id)
        .filter(
            kind=ProcessingRestriction.Kind.RESTRICTION,
            lifted_at__isnull=True,
            number__in=numbers,
        )
        .values_list("number", flat=True)
    )
    calls = [c for c in calls if not {c.caller, c.callee} & still_restricted]
    call_ids = _mark_calls_restricted(calls, False, by=by)
    request.restriction_lifted_at = timezone.now()
    save_request(request, by=by, reason="restriction lifted")
    record_event(request, "restriction_lifted", by=by, note=reason.strip())
    notifications.emit(request, "request.restriction_lifted", calls=call_ids)  # Art. 19
    return call_ids
