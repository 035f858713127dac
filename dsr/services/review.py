"""Identity verification, the clock (pauses, extension) and assignment."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from dsr.models import (
    DataSubjectRequest,
    RequestClockPause,
    SubjectNotice,
    VerificationMethod,
)
from dsr.services import deadlines, notifications
from dsr.services.base import (
    PAUSABLE_STATUSES,
    check_transition,
    end_open_pause,
    first_due_at,
    letter_context,
    lock,
    notice_record,
    recompute_deadlines,
    record_event,
    refuse_closed,
    require_confirmed,
    require_perm,
    require_policy,
    save_request,
    transition,
)
from portal.access import is_platform_staff, visible_tenants
from portal.errors import BusinessRuleError


@transaction.atomic
def request_start_verification(
    *, request: DataSubjectRequest, by, note: str = "", pause_reason: str = ""
) -> DataSubjectRequest:
    """Ask the subject for what is needed to confirm identity (no more than needed).

    With ``pause_reason`` the clock stops until the answer arrives.
    """
    require_perm(by, "verify_request", "verify a request")
    request = lock(request)
    transition(
        request,
        "start_verification",
        by=by,
        note=note,
        verification_started_at=timezone.now(),
    )
    if pause_reason:
        return request_pause_clock(request=request, by=by, reason=pause_reason)
    return request


@transaction.atomic
def request_pause_clock(*, request: DataSubjectRequest, by, reason: str) -> DataSubjectRequest:
    """Stop the clock while waiting for the subject's answer (identity information)."""
    require_perm(by, "verify_request", "pause a request's clock")
    request = lock(request)
    if not (reason or "").strip():
        raise BusinessRuleError("Say what the subject was asked for.", field="reason")
    if request.status not in PAUSABLE_STATUSES:
        raise BusinessRuleError(
            "The clock can only be paused while identity is being checked "
            f"(received or verifying); request #{request.pk} is {request.status}.",
            code="illegal_transition",
        )
    if request.clock_paused_at is not None:
        raise BusinessRuleError("The clock is paused already.", code="already_paused")
    pause = RequestClockPause.objects.create(
        tenant_id=request.tenant_id,
        request=request,
        reason=reason.strip(),
        started_by=by if getattr(by, "pk", None) else None,
    )
    request.clock_paused_at = pause.started_at
    save_request(request, by=by, reason="clock paused")
    record_event(request, "clock_paused", by=by, note=reason.strip())
    notifications.emit(request, "request.deadline_changed")
    return request


@transaction.atomic
def request_resume_clock(*, request: DataSubjectRequest, by, note: str = "") -> DataSubjectRequest:
    """Restart the clock; the deadline moves by the days it stood still
    (dsr/services/deadlines.py)."""
    require_perm(by, "verify_request", "resume a request's clock")
    request = lock(request)
    pause = end_open_pause(request, by=by)
    if pause is None:
        raise BusinessRuleError("The clock is not paused.", code="not_paused")
    save_request(request, by=by, reason="clock resumed")
    due = timezone.localtime(request.effective_due_at, request.tenant.tzinfo)
    record_event(request, "clock_resumed", by=by, note=f"{note} Now due {due:%Y-%m-%d}.".strip())
    notifications.emit(request, "request.deadline_changed")
    return request


@transaction.atomic
def request_verify(
    *,
    request: DataSubjectRequest,
    by,
    method: str,
    note: str = "",
    by_policy: bool = False,
) -> DataSubjectRequest:
    """Record how identity was confirmed (method, who, when) — never a copy of a document."""
    request = lock(request)
    if by_policy:
        require_policy(request)
    else:
        require_perm(by, "verify_request", "verify a request")
    if method not in VerificationMethod.values:
        raise BusinessRuleError(f"Unknown verification method {method!r}.", field="method")
    if method == VerificationMethod.OTHER and not (note or "").strip():
        raise BusinessRuleError("Describe how identity was checked.", field="note")
    require_confirmed(request)
    check_transition(request, "verify")
    now = timezone.now()
    end_open_pause(request, by=by)  # the answer arrived
    return transition(
        request,
        "verify",
        by=by,
        note=(note or "").strip(),
        reason="verified by policy" if by_policy else "",
        verification_method=method,
        verification_note=(note or "").strip(),
        verified_by=by if getattr(by, "pk", None) else None,
        verified_at=now,
        verification_started_at=request.verification_started_at or now,
    )


@transaction.atomic
def request_assign(*, request: DataSubjectRequest, assignee, by) -> DataSubjectRequest:
    """Give the request to a staff member who serves its tenant; they get an email."""
    require_perm(by, "assign_request", "assign a request")
    request = lock(request)
    refuse_closed(request, "be assigned")
    if assignee is not None:
        serves = visible_tenants(assignee).filter(pk=request.tenant_id).exists()
        if not (is_platform_staff(assignee) and serves):
            raise BusinessRuleError(
                f"{assignee.get_username()} is not platform staff serving this tenant.",
                field="assignee",
            )
    request.assignee = assignee
    request.assigned_at = timezone.now() if assignee else None
    save_request(request, by=by, reason="assigned")
    label = assignee.get_username() if assignee else "nobody"
    record_event(request, "assigned", by=by, note=f"Assigned to {label}.")
    if assignee is not None:
        notifications.notify_assignee(request, "You were assigned this request", actor=by)
    return request


@transaction.atomic
def request_extend(
    *, request: DataSubjectRequest, by, reason: str, months: int = deadlines.MAX_PERIOD_MONTHS
) -> DataSubjectRequest:
    """Extend the deadline to ``months`` from receipt (at most three), while the first month
    runs, with the reasons; the subject is told (Art. 12(3))."""
    require_perm(by, "decide_request", "extend a deadline", system_may=False)
    request = lock(request)
    refuse_closed(request, "be extended")
    if not (reason or "").strip():
        raise BusinessRuleError("Give the reasons for the extension.", field="reason")
    refusal = deadlines.extension_refusal(
        months=months, now=timezone.now(), first_due_at=first_due_at(request)
    )
    if refusal:
        raise BusinessRuleError(refusal, code="extension_refused", field="months")
    if request.extension_months and months <= request.extension_months:
        raise BusinessRuleError(
            f"The deadline is already extended to {request.extension_months} months.",
            code="extension_refused",
            field="months",
        )
    request.extension_months = months
    request.extension_reason = reason.strip()
    request.extended_at = timezone.now()
    request.extended_by = by if getattr(by, "pk", None) else None
    recompute_deadlines(request)
    save_request(request, by=by, reason=f"deadline extended to {months} months")
    due = timezone.localtime(request.extended_due_at, request.tenant.tzinfo)
    text = notifications.render_for_tenant(
        "dsr/notice_extension.txt",
        letter_context(request, new_due=due, reason=reason.strip()),
        request.tenant,
    )
    notice_record(request, SubjectNotice.Kind.EXTENSION, text, by=by)
    record_event(request, "extended", by=by, note=f"Due {due:%Y-%m-%d}. {reason.strip()}")
    notifications.emit(request, "request.deadline_changed")
    notifications.notify_assignee(request, f"Deadline extended to {due:%Y-%m-%d}", actor=by)
    return request
