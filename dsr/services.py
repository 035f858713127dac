"""Every transition of a data-subject request, one service each.

Lifecycle: ``received`` → ``verifying`` → ``in_review`` → ``approved`` | ``rejected`` →
``processing`` → ``completed`` | ``partially_completed``. Each service takes keyword-only
arguments, locks the request, refuses an illegal transition with a ``BusinessRuleError`` that
says why, records the acting user in history and in the request's timeline, and tells the
tenant (webhook) and the assigned staff (email). Admin, API, tasks and the seed all call these.

``by`` is the acting user (staff, or the creator of the API key acting); ``by=None`` is the
system (a task) or the tenant's automation policy, which is only accepted where the tenant's
settings allow it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from calls.models import Call, RetentionRule
from consent.models import ProcessingRestriction
from consent.services import processing_restriction_lift, processing_restriction_place
from dsr import deadlines, erasure, notifications
from dsr.models import (
    CLOSED_STATUSES,
    PACKAGE_KINDS,
    CallRectification,
    DataSubjectRequest,
    RejectionGround,
    RequestChannel,
    RequestClockPause,
    RequestEvent,
    RequestKind,
    RequestStatus,
    RequestSubjectNumber,
    SubjectNotice,
    VerificationMethod,
)
from dsr.selectors import subject_calls
from portal.access import is_platform_staff, visible_tenant_ids
from portal.audit import current_actor
from portal.errors import BusinessRuleError, NotPermitted
from portal.models import ApiKey, Tenant
from portal.numbers import normalize_number
from portal.services import full_clean_or_raise

S = RequestStatus

# Which statuses each transition may start from, and where it leads.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "start_verification": ((S.RECEIVED,), S.VERIFYING),
    "verify": ((S.RECEIVED, S.VERIFYING), S.IN_REVIEW),
    "approve": ((S.IN_REVIEW,), S.APPROVED),
    "reject": ((S.RECEIVED, S.VERIFYING, S.IN_REVIEW), S.REJECTED),
    "process": ((S.APPROVED,), S.PROCESSING),
    "complete": ((S.PROCESSING,), S.COMPLETED),
    "partially_complete": ((S.PROCESSING,), S.PARTIALLY_COMPLETED),
}
# The clock may be stopped while the subject is asked for (identity) information.
PAUSABLE_STATUSES = (S.RECEIVED, S.VERIFYING)
# A request sent to the platform directly must be confirmed by the tenant (the controller)
# before anything is decided on it (Art. 28(3)(e): the processor assists, the controller
# decides).
CONFIRMED_CHANNELS = (RequestChannel.API, RequestChannel.DASHBOARD, RequestChannel.ADMIN)
# received_at may come from an integrator's clock: a little skew is tolerated (and clamped to
# now), anything later is in the future and refused.
CLOCK_SKEW = timedelta(seconds=60)


# ---------------------------------------------------------------------------------------------
# Building blocks


def _actor_label(by, api_key: ApiKey | None = None) -> str:
    actor = current_actor()
    if actor is not None:
        return actor.label
    if api_key is not None:
        return f"api_key:{api_key.prefix}"
    if by is not None:
        return f"user:{by.get_username()}"
    return "system"


def _require_perm(by, perm: str, what: str) -> None:
    if by is None:
        return  # the system acting (a task); policy decisions are checked separately
    if not by.has_perm(f"dsr.{perm}"):
        raise NotPermitted(f"You may not {what}: it needs the {perm} permission.")


def _lock(request: DataSubjectRequest) -> DataSubjectRequest:
    return (
        DataSubjectRequest.objects.select_for_update(of=("self",))
        .select_related("tenant", "assignee")
        .get(pk=request.pk)
    )


def _refuse_closed(request: DataSubjectRequest, what: str) -> None:
    if request.status in CLOSED_STATUSES:
        raise BusinessRuleError(
            f"Request #{request.pk} is {request.get_status_display().lower()}: "
            f"it cannot {what} any more.",
            code="request_closed",
        )


def _check_transition(request: DataSubjectRequest, action: str) -> str:
    sources, target = TRANSITIONS[action]
    _refuse_closed(request, action.replace("_", " ").replace("verify", "be verified"))
    if request.status not in sources:
        allowed = ", ".join(sources)
        raise BusinessRuleError(
            f"Request #{request.pk} is {request.status}: '{action}' is only possible from "
            f"{allowed}.",
            code="illegal_transition",
        )
    return target


def _record(
    request: DataSubjectRequest,
    action: str,
    *,
    by=None,
    api_key: ApiKey | None = None,
    note: str = "",
    from_status: str = "",
) -> RequestEvent:
    return RequestEvent.objects.create(
        tenant_id=request.tenant_id,
        request=request,
        action=action,
        from_status=from_status,
        to_status=request.status if from_status else "",
        user=by if getattr(by, "pk", None) else None,
        actor=_actor_label(by, api_key),
        note=note,
    )


def _save(request: DataSubjectRequest, *, by=None, reason: str = "") -> None:
    if getattr(by, "pk", None):
        request._history_user = by
    if reason:
        request._change_reason = reason
    request.save()


def _transition(
    request: DataSubjectRequest,
    action: str,
    *,
    by=None,
    api_key: ApiKey | None = None,
    note: str = "",
    reason: str = "",
    **fields,
) -> DataSubjectRequest:
    """Move ``request`` (locked) along ``action``: save, timeline, webhook, email."""
    target = _check_transition(request, action)
    previous = request.status
    now = timezone.now()
    request.status = target
    request.status_changed_at = now
    for name, value in fields.items():
        setattr(request, name, value)
    _save(request, by=by, reason=reason or f"{action}: {previous} → {target}")
    _record(request, action, by=by, api_key=api_key, note=note, from_status=previous)
    notifications.emit(request, "request.status_changed", previous_status=previous)
    notifications.notify_assignee(
        request, f"Status changed to {request.get_status_display()}", actor=by
    )
    return request


def _check_received_at(received_at: datetime | None) -> datetime:
    now = timezone.now()
    if received_at is None:
        return now
    if timezone.is_naive(received_at):
        raise BusinessRuleError(
            "received_at needs a time zone (e.g. 2025-03-05T10:00:00+01:00).", field="received_at"
        )
    if received_at > now + CLOCK_SKEW:
        raise BusinessRuleError(
            "received_at is in the future: give the time the request actually reached you.",
            code="received_in_future",
            field="received_at",
        )
    return min(received_at, now)


def _normalise_numbers(numbers: Iterable[str], tenant: Tenant) -> list[str]:
    if isinstance(numbers, str):
        numbers = [numbers]
    normalised: list[str] = []
    for index, raw in enumerate(numbers or []):
        e164 = normalize_number(raw, country=tenant.country, field=f"numbers.{index}")
        if e164 not in normalised:
            normalised.append(e164)
    if not normalised:
        raise BusinessRuleError(
            "Give at least one phone number of the subject.", field="numbers", code="required"
        )
    return normalised


def first_due_at(request: DataSubjectRequest, *, at: datetime | None = None) -> datetime:
    """The end of the first (one-month) period, counting an open pause up to ``at``."""
    return _deadline_for(request, months=deadlines.FIRST_PERIOD_MONTHS, at=at)


def _deadline_for(request: DataSubjectRequest, *, months: int, at: datetime | None) -> datetime:
    tenant = request.tenant
    pauses = [deadlines.Pause(p.started_at, p.ended_at) for p in request.pauses.all()]
    days = deadlines.paused_days(pauses, tenant.timezone, until=at or timezone.now())
    return deadlines.deadline(
        request.received_at,
        tz=tenant.timezone,
        country=tenant.country,
        months=months,
        pause_days=days,
    )


def _recompute_deadlines(request: DataSubjectRequest) -> None:
    request.due_at = _deadline_for(request, months=deadlines.FIRST_PERIOD_MONTHS, at=None)
    if request.extension_months:
        request.extended_due_at = _deadline_for(request, months=request.extension_months, at=None)
    request.effective_due_at = request.extended_due_at or request.due_at


def policy_snapshot(tenant: Tenant) -> dict:
    """The rules a decision is taken under, frozen on the request (retention, automation)."""
    rules = RetentionRule.objects.for_tenant(tenant).order_by("category")
    return {
        "taken_at": timezone.now().isoformat(),
        "automation": {
            "auto_approve_access": tenant.auto_approve_access,
            "auto_approve_erasure": tenant.auto_approve_erasure,
        },
        "retention_rules": [
            {
                "category": rule.category,
                "min_age_days": rule.min_age_days,
                "max_age_days": rule.max_age_days,
                "legal_reference": rule.legal_reference,
            }
            for rule in rules
        ],
        "country": tenant.country,
        "timezone": tenant.timezone,
        "supervisory_authority": tenant.supervisory_authority,
    }


def _policy_allows(request: DataSubjectRequest) -> str | None:
    """The tenant setting that lets this request be verified and approved by policy."""
    if request.opened_by_api_key_id is None:
        return None
    if request.kind in PACKAGE_KINDS and request.tenant.auto_approve_access:
        return "auto_approve_access"
    if request.kind == RequestKind.ERASURE and request.tenant.auto_approve_erasure:
        return "auto_approve_erasure"
    return None


def _require_policy(request: DataSubjectRequest) -> str:
    setting = _policy_allows(request)
    if setting is None:
        raise NotPermitted(
            "Only requests opened by the tenant's own API key, with the tenant's automation "
            "policy switched on, can be decided by policy.",
            code="no_policy",
        )
    return setting


def _end_open_pause(request: DataSubjectRequest, *, by=None) -> RequestClockPause | None:
    pause = request.pauses.filter(ended_at__isnull=True).first()
    if pause is None:
        return None
    pause.ended_at = timezone.now()
    pause.ended_by = by if getattr(by, "pk", None) else None
    pause.save(update_fields=["ended_at", "ended_by"])
    request.clock_paused_at = None
    _recompute_deadlines(request)
    return pause


def _notice(request: DataSubjectRequest, kind: str, text: str, *, by=None) -> SubjectNotice:
    notice = SubjectNotice.objects.create(
        tenant_id=request.tenant_id,
        request=request,
        kind=kind,
        text=text,
        created_by=by if getattr(by, "pk", None) else None,
    )
    notifications.send_subject_notice(notice)
    return notice


def _letter_context(request: DataSubjectRequest, **extra) -> dict:
    tenant = request.tenant
    return {
        "req": request,
        "tenant": tenant,
        "controller": tenant.legal_name or tenant.name,
        "received": timezone.localtime(request.received_at, tenant.tzinfo),
        **extra,
    }


# ---------------------------------------------------------------------------------------------
# Intake


@transaction.atomic
def request_open(
    *,
    tenant: Tenant,
    kind: str,
    numbers: Iterable[str],
    channel: str,
    name: str = "",
    email: str = "",
    details: str = "",
    received_at: datetime | None = None,
    by=None,
    api_key: ApiKey | None = None,
) -> DataSubjectRequest:
    """Open a request. The clock runs from ``received_at`` (first receipt), never later.

    Opened by the tenant (API, dashboard, or staff on its instruction) the request is confirmed
    by that act; sent to the platform directly it is forwarded to the tenant at once and waits
    for its confirmation. A request opened by the tenant's API key may be verified and approved
    by the tenant's automation policy.
    """
    if kind not in RequestKind.values:
        raise BusinessRuleError(f"Unknown request kind {kind!r}.", field="kind")
    if channel not in RequestChannel.values:
        raise BusinessRuleError(f"Unknown channel {channel!r}.", field="channel")
    if by is not None and not getattr(by, "pk", None):
        by = None  # an API key without a creator acts as itself
    received_at = _check_received_at(received_at)
    subject_numbers = _normalise_numbers(numbers, tenant)
    request = DataSubjectRequest(
        tenant=tenant,
        kind=kind,
        channel=channel,
        name=(name or "").strip(),
        email=(email or "").strip(),
        details=(details or "").strip(),
        received_at=received_at,
        opened_by=by,
        opened_by_api_key=api_key,
        status_changed_at=timezone.now(),
    )
    first = deadlines.deadline(received_at, tz=tenant.timezone, country=tenant.country)
    request.due_at = request.effective_due_at = first
    if channel in CONFIRMED_CHANNELS:
        request.confirmed_at = timezone.now()
        request.confirmed_by = by
    full_clean_or_raise(request)
    _save(request, by=by, reason=f"opened ({channel})")
    for number in subject_numbers:
        RequestSubjectNumber.objects.create(tenant=tenant, request=request, number=number)
    _record(request, "opened", by=by, api_key=api_key, note=f"Channel: {channel}")
    notifications.emit(request, "request.received", channel=channel)
    if channel == RequestChannel.DIRECT_TO_PROCESSOR:
        request_forward_to_tenant(request=request, by=by)
    else:
        _record(request, "confirmed", by=by, api_key=api_key, note="Opened by the tenant.")
    if _policy_allows(request):
        _decide_by_policy(request)
    request.refresh_from_db()
    return request


def _decide_by_policy(request: DataSubjectRequest) -> None:
    setting = _require_policy(request)
    request_verify(
        request=request,
        by=None,
        method=VerificationMethod.TENANT_VOUCHED,
        note=f"Verified by policy: the tenant vouches for the subject's identity ({setting}).",
        by_policy=True,
    )
    request_approve(request=request, by=None, by_policy=True)


@transaction.atomic
def request_forward_to_tenant(*, request: DataSubjectRequest, by=None) -> DataSubjectRequest:
    """A request sent to the platform directly goes to the tenant at once (Art. 28(3)(e))."""
    request = _lock(request)
    if request.channel != RequestChannel.DIRECT_TO_PROCESSOR:
        raise BusinessRuleError(
            "Only requests sent to the platform directly are forwarded to the tenant.",
            code="not_direct",
        )
    if request.forwarded_at is not None:
        return request
    request.forwarded_at = timezone.now()
    _save(request, by=by, reason="forwarded to the tenant")
    _record(request, "forwarded", by=by, note="Forwarded to the tenant; awaiting confirmation.")
    notifications.emit(request, "request.forwarded")
    notifications.notify_tenant_of_forwarded_request(request)
    return request


@transaction.atomic
def request_confirm(
    *, request: DataSubjectRequest, by=None, api_key: ApiKey | None = None, note: str = ""
) -> DataSubjectRequest:
    """The tenant takes a forwarded request on as controller; the deadline is unchanged."""
    request = _lock(request)
    _refuse_closed(request, "be confirmed")
    if request.confirmed_at is not None:
        raise BusinessRuleError(
            f"Request #{request.pk} is confirmed already.", code="already_confirmed"
        )
    by = by if getattr(by, "pk", None) else None
    request.confirmed_at = timezone.now()
    request.confirmed_by = by
    _save(request, by=by, reason="confirmed by the tenant")
    note = (note or "").strip() or "Confirmed by the tenant."
    _record(request, "confirmed", by=by, api_key=api_key, note=note)
    notifications.emit(request, "request.confirmed")
    notifications.notify_assignee(request, "The tenant confirmed the request", actor=by)
    return request


# ---------------------------------------------------------------------------------------------
# Identity and the clock


@transaction.atomic
def request_start_verification(
    *, request: DataSubjectRequest, by, note: str = "", pause_reason: str = ""
) -> DataSubjectRequest:
    """Ask the subject for what is needed to confirm identity (no more than needed).

    With ``pause_reason`` the clock stops until the answer arrives.
    """
    _require_perm(by, "verify_request", "verify a request")
    request = _lock(request)
    _transition(
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
    _require_perm(by, "verify_request", "pause a request's clock")
    request = _lock(request)
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
    _save(request, by=by, reason="clock paused")
    _record(request, "clock_paused", by=by, note=reason.strip())
    notifications.emit(request, "request.deadline_changed")
    return request


@transaction.atomic
def request_resume_clock(*, request: DataSubjectRequest, by, note: str = "") -> DataSubjectRequest:
    """Restart the clock; the deadline moves by the days it stood still (dsr/deadlines.py)."""
    _require_perm(by, "verify_request", "resume a request's clock")
    request = _lock(request)
    pause = _end_open_pause(request, by=by)
    if pause is None:
        raise BusinessRuleError("The clock is not paused.", code="not_paused")
    _save(request, by=by, reason="clock resumed")
    due = timezone.localtime(request.effective_due_at, request.tenant.tzinfo)
    _record(request, "clock_resumed", by=by, note=f"{note} Now due {due:%Y-%m-%d}.".strip())
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
    request = _lock(request)
    if by_policy:
        _require_policy(request)
    else:
        _require_perm(by, "verify_request", "verify a request")
    if method not in VerificationMethod.values:
        raise BusinessRuleError(f"Unknown verification method {method!r}.", field="method")
    if method == VerificationMethod.OTHER and not (note or "").strip():
        raise BusinessRuleError("Describe how identity was checked.", field="note")
    _require_confirmed(request)
    _check_transition(request, "verify")
    now = timezone.now()
    _end_open_pause(request, by=by)  # the answer arrived
    return _transition(
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


def _require_confirmed(request: DataSubjectRequest) -> None:
    if request.confirmed_at is None:
        raise BusinessRuleError(
            f"Request #{request.pk} was sent to the platform directly and the tenant has not "
            "confirmed it yet: nothing can be decided before the controller does.",
            code="not_confirmed",
        )


@transaction.atomic
def request_assign(*, request: DataSubjectRequest, assignee, by) -> DataSubjectRequest:
    """Give the request to a staff member who serves its tenant; they get an email."""
    _require_perm(by, "assign_request", "assign a request")
    request = _lock(request)
    _refuse_closed(request, "be assigned")
    if assignee is not None:
        serves = request.tenant_id in set(visible_tenant_ids(assignee).values_list("id", flat=True))
        if not (is_platform_staff(assignee) and serves):
            raise BusinessRuleError(
                f"{assignee.get_username()} is not platform staff serving this tenant.",
                field="assignee",
            )
    request.assignee = assignee
    request.assigned_at = timezone.now() if assignee else None
    _save(request, by=by, reason="assigned")
    label = assignee.get_username() if assignee else "nobody"
    _record(request, "assigned", by=by, note=f"Assigned to {label}.")
    if assignee is not None:
        notifications.notify_assignee(request, "You were assigned this request", actor=by)
    return request


@transaction.atomic
def request_extend(
    *, request: DataSubjectRequest, by, reason: str, months: int = deadlines.MAX_PERIOD_MONTHS
) -> DataSubjectRequest:
    """Extend the deadline to ``months`` from receipt (at most three), while the first month
    runs, with the reasons; the subject is told (Art. 12(3))."""
    _require_perm(by, "decide_request", "extend a deadline")
    request = _lock(request)
    _refuse_closed(request, "be extended")
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
    _recompute_deadlines(request)
    _save(request, by=by, reason=f"deadline extended to {months} months")
    due = timezone.localtime(request.extended_due_at, request.tenant.tzinfo)
    text = notifications.render_for_tenant(
        "dsr/notice_extension.txt",
        _letter_context(request, new_due=due, reason=reason.strip()),
        request.tenant,
    )
    _notice(request, SubjectNotice.Kind.EXTENSION, text, by=by)
    _record(request, "extended", by=by, note=f"Due {due:%Y-%m-%d}. {reason.strip()}")
    notifications.emit(request, "request.deadline_changed")
    notifications.notify_assignee(request, f"Deadline extended to {due:%Y-%m-%d}", actor=by)
    return request


# ---------------------------------------------------------------------------------------------
# The decision


@transaction.atomic
def request_approve(
    *,
    request: DataSubjectRequest,
    by,
    reasons: str = "",
    by_policy: bool = False,
) -> DataSubjectRequest:
    """Approve a verified, confirmed request; fulfilment starts at once (see ``_fulfil``)."""
    request = _lock(request)
    if by_policy:
        setting = _require_policy(request)
    else:
        if by is None:
            raise NotPermitted("A request is approved by a person or by the tenant's policy.")
        _require_perm(by, "decide_request", "approve a request")
        if request.kind == RequestKind.ERASURE:
            erasure.erasure_approval_check(request=request, by=by)
        setting = ""
    _refuse_closed(request, "be approved")
    _require_confirmed(request)
    if not request.is_verified:
        raise BusinessRuleError(
            f"Request #{request.pk} is not verified: record how the subject's identity was "
            "confirmed before approving it (an unverified request cannot be fulfilled).",
            code="not_verified",
        )
    _check_transition(request, "approve")
    now = timezone.now()
    reasons = (reasons or "").strip()
    if by_policy:
        reasons = reasons or f"Approved by policy (tenant setting {setting})."
    _transition(
        request,
        "approve",
        by=by,
        note=reasons,
        reason=f"approved by policy ({setting})" if by_policy else "approved",
        decided_by=None if by_policy else by,
        decided_at=now,
        approved_at=now,
        approved_by_policy=by_policy,
        decision_reasons=reasons,
        policy_snapshot=policy_snapshot(request.tenant),
    )
    _fulfil(request, by=by)
    return request


def _fulfil(request: DataSubjectRequest, *, by) -> None:
    """What follows approval, by kind."""
    if request.kind in PACKAGE_KINDS:
        from dsr.tasks import package_build

        package_build.delay_on_commit(request.pk)
    elif request.kind == RequestKind.ERASURE:
        erasure.erasure_approved(request=request)
    elif request.kind == RequestKind.RESTRICTION:
        _restriction_apply(request, by=by)
    elif request.kind == RequestKind.OBJECTION:
        _objection_apply(request, by=by)
    elif request.kind == RequestKind.RECTIFICATION:
        # The supplementary statement is written by staff (request_rectify).
        request_process(request=request, by=by)


@transaction.atomic
def request_reject(
    *, request: DataSubjectRequest, by, ground: str, reasons: str
) -> DataSubjectRequest:
    """Refuse a request with the reasons; the refusal tells the subject of the right to
    complain to the supervisory authority and to a judicial remedy (Art. 12(4))."""
    _require_perm(by, "decide_request", "reject a request")
    request = _lock(request)
    if ground not in RejectionGround.values:
        raise BusinessRuleError(f"Unknown ground {ground!r}.", field="ground")
    if not (reasons or "").strip():
        raise BusinessRuleError("Give the reasons for the refusal.", field="reasons")
    _check_transition(request, "reject")
    _require_confirmed(request)
    now = timezone.now()
    _end_open_pause(request, by=by)
    _transition(
        request,
        "reject",
        by=by,
        note=reasons.strip(),
        decided_by=by,
        decided_at=now,
        rejected_at=now,
        completed_at=now,
        rejection_ground=ground,
        decision_reasons=reasons.strip(),
        policy_snapshot=policy_snapshot(request.tenant),
    )
    text = notifications.render_for_tenant(
        "dsr/notice_refusal.txt",
        _letter_context(
            request,
            ground=RejectionGround(ground).label,
            reasons=reasons.strip(),
            authority=request.tenant.supervisory_authority,
        ),
        request.tenant,
    )
    _notice(request, SubjectNotice.Kind.REFUSAL, text, by=by)
    return request


# ---------------------------------------------------------------------------------------------
# Fulfilment


@transaction.atomic
def request_process(*, request: DataSubjectRequest, by=None) -> DataSubjectRequest:
    _require_perm(by, "decide_request", "process a request")
    request = _lock(request)
    if request.kind == RequestKind.ERASURE:
        raise BusinessRuleError(
            "Erasure requests are executed by the erasure process, not started by hand.",
            code="erasure_not_available",
        )
    return _transition(request, "process", by=by, processing_at=timezone.now())


@transaction.atomic
def request_complete(
    *, request: DataSubjectRequest, by=None, outcome: str = ""
) -> DataSubjectRequest:
    _require_perm(by, "decide_request", "complete a request")
    request = _lock(request)
    return _transition(
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
    _require_perm(by, "decide_request", "complete a request")
    if not (outcome or "").strip():
        raise BusinessRuleError(
            "Say what could not be done, and why (the tenant passes it on).", field="outcome"
        )
    request = _lock(request)
    return _transition(
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

    _require_perm(by, "decide_request", "rebuild a package")
    request = _lock(request)
    if request.kind not in PACKAGE_KINDS or request.status != S.PROCESSING:
        raise BusinessRuleError(
            "Only an access or portability request being processed has a package to build.",
            code="illegal_transition",
        )
    for package in request.packages.filter(status=AccessPackage.Status.BUILDING):
        package.status = AccessPackage.Status.FAILED
        package.error = f"Superseded by a new build started by {_actor_label(by)}."
        package.save(update_fields=["status", "error"])
    _record(request, "package_rebuild", by=by)
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


def _restriction_apply(request: DataSubjectRequest, *, by) -> None:
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
    _record(request, "restricted", by=by, note=f"{len(call_ids)} call(s) restricted.")
    notifications.emit(request, "request.restricted", calls=call_ids)  # Art. 19
    request_complete(
        request=request,
        by=by,
        outcome=f"Processing restricted for the subject's numbers; {len(call_ids)} call(s) "
        "marked as stored only.",
    )


def _objection_apply(request: DataSubjectRequest, *, by) -> None:
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
    _require_perm(by, "decide_request", "rectify call records")
    request = _lock(request)
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
    _record(request, "rectified", by=by, note=f"Statement added to {len(call_ids)} call(s).")
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
    _require_perm(by, "decide_request", "lift a restriction")
    request = _lock(request)
    _check_restriction_active(request)
    text = (text or "").strip() or notifications.render_for_tenant(
        "dsr/notice_restriction_lift.txt", _letter_context(request), request.tenant
    )
    notice = _notice(request, SubjectNotice.Kind.RESTRICTION_LIFT, text, by=by)
    request.restriction_lift_notified_at = notice.created_at
    _save(request, by=by, reason="subject told the restriction will be lifted")
    _record(request, "restriction_lift_notified", by=by)
    return notice


def _check_restriction_active(request: DataSubjectRequest) -> None:
    if request.kind != RequestKind.RESTRICTION or request.status != S.COMPLETED:
        raise BusinessRuleError("Only a completed restriction request has a restriction to lift.")
    if request.restriction_lifted_at is not None:
        raise BusinessRuleError("The restriction was lifted already.", code="already_lifted")


@transaction.atomic
def request_restriction_lift(*, request: DataSubjectRequest, by, reason: str) -> list[int]:
    """Lift the restriction a request placed — only after the subject has been told."""
    _require_perm(by, "decide_request", "lift a restriction")
    request = _lock(request)
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
    still_restricted = set(
        ProcessingRestriction.objects.for_tenant(request.tenant_id)
        .filter(kind=ProcessingRestriction.Kind.RESTRICTION, lifted_at__isnull=True)
        .values_list("number", flat=True)
    )
    calls = [
        call
        for call in subject_calls(request)
        if call.caller not in still_restricted and call.callee not in still_restricted
    ]
    call_ids = _mark_calls_restricted(calls, False, by=by)
    request.restriction_lifted_at = timezone.now()
    _save(request, by=by, reason="restriction lifted")
    _record(request, "restriction_lifted", by=by, note=reason.strip())
    notifications.emit(request, "request.restriction_lifted", calls=call_ids)  # Art. 19
    return call_ids
