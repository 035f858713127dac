"""Building blocks of the request services: locking, transitions, timeline, deadlines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.utils import timezone

from calls.models import RetentionRule
from dsr.models import (
    CLOSED_STATUSES,
    PACKAGE_KINDS,
    DataSubjectRequest,
    RequestChannel,
    RequestClockPause,
    RequestEvent,
    RequestKind,
    RequestStatus,
    SubjectNotice,
)
from dsr.services import deadlines, notifications
from portal.audit import current_actor
from portal.errors import BusinessRuleError, NotPermitted
from portal.models import ApiKey, Tenant
from portal.numbers import normalize_number

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
    # An erasure whose deferred items (legal hold, minimum retention) were erased later.
    "complete_deferred": ((S.PARTIALLY_COMPLETED,), S.COMPLETED),
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


def actor_label(by, api_key: ApiKey | None = None) -> str:
    actor = current_actor()
    if actor is not None:
        return actor.label
    if api_key is not None:
        return f"api_key:{api_key.prefix}"
    if by is not None:
        return f"user:{by.get_username()}"
    return "system"


def require_perm(by, perm: str, what: str, *, system_may: bool = True) -> None:
    """``by`` must hold ``dsr.<perm>``; ``by=None`` (the system) only where ``system_may``."""
    if by is None:
        if system_may:
            return  # a task carrying out what a person or a policy decided
        raise NotPermitted(f"Only a person can {what}.")
    if not by.has_perm(f"dsr.{perm}"):
        raise NotPermitted(f"You may not {what}: it needs the {perm} permission.")


def lock(request: DataSubjectRequest) -> DataSubjectRequest:
    return (
        DataSubjectRequest.objects.select_for_update(of=("self",))
        .select_related("tenant", "assignee")
        .get(pk=request.pk)
    )


def refuse_closed(request: DataSubjectRequest, what: str) -> None:
    if request.status in CLOSED_STATUSES:
        raise BusinessRuleError(
            f"Request #{request.pk} is {request.get_status_display().lower()}: "
            f"it cannot {what} any more.",
            code="request_closed",
        )


def check_transition(request: DataSubjectRequest, action: str) -> str:
    sources, target = TRANSITIONS[action]
    if request.status not in sources:
        refuse_closed(request, action.replace("_", " ").replace("verify", "be verified"))
        allowed = ", ".join(sources)
        raise BusinessRuleError(
            f"Request #{request.pk} is {request.status}: '{action}' is only possible from "
            f"{allowed}.",
            code="illegal_transition",
        )
    return target


def record_event(
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
        actor=actor_label(by, api_key),
        note=note,
    )


def save_request(request: DataSubjectRequest, *, by=None, reason: str = "") -> None:
    if getattr(by, "pk", None):
        request._history_user = by
    if reason:
        request._change_reason = reason
    request.save()


def transition(
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
    target = check_transition(request, action)
    previous = request.status
    now = timezone.now()
    request.status = target
    request.status_changed_at = now
    for name, value in fields.items():
        setattr(request, name, value)
    save_request(request, by=by, reason=reason or f"{action}: {previous} → {target}")
    record_event(request, action, by=by, api_key=api_key, note=note, from_status=previous)
    notifications.emit(request, "request.status_changed", previous_status=previous)
    notifications.notify_assignee(
        request, f"Status changed to {request.get_status_display()}", actor=by
    )
    return request


def check_received_at(received_at: datetime | None) -> datetime:
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


def normalise_numbers(numbers: Iterable[str], tenant: Tenant) -> list[str]:
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
    return deadline_for(request, months=deadlines.FIRST_PERIOD_MONTHS, at=at)


def deadline_for(request: DataSubjectRequest, *, months: int, at: datetime | None) -> datetime:
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


def recompute_deadlines(request: DataSubjectRequest) -> None:
    request.due_at = deadline_for(request, months=deadlines.FIRST_PERIOD_MONTHS, at=None)
    if request.extension_months:
        request.extended_due_at = deadline_for(request, months=request.extension_months, at=None)
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
                "legal_ground": rule.legal_ground,
                "legal_reference": rule.legal_reference,
            }
            for rule in rules
        ],
        "default_max_age_days": tenant.default_max_age_days,
        "country": tenant.country,
        "timezone": tenant.timezone,
        "supervisory_authority": tenant.supervisory_authority,
    }


def policy_allows(request: DataSubjectRequest) -> str | None:
    """The tenant setting that lets this request be verified and approved by policy."""
    if request.opened_by_api_key_id is None:
        return None
    if request.kind in PACKAGE_KINDS and request.tenant.auto_approve_access:
        return "auto_approve_access"
    if request.kind == RequestKind.ERASURE and request.tenant.auto_approve_erasure:
        return "auto_approve_erasure"
    return None


def require_policy(request: DataSubjectRequest) -> str:
    setting = policy_allows(request)
    if setting is None:
        raise NotPermitted(
            "Only requests opened by the tenant's own API key, with the tenant's automation "
            "policy switched on, can be decided by policy.",
            code="no_policy",
        )
    return setting


def end_open_pause(request: DataSubjectRequest, *, by=None) -> RequestClockPause | None:
    pause = request.pauses.filter(ended_at__isnull=True).first()
    if pause is None:
        return None
    pause.ended_at = timezone.now()
    pause.ended_by = by if getattr(by, "pk", None) else None
    pause.save(update_fields=["ended_at", "ended_by"])
    request.clock_paused_at = None
    recompute_deadlines(request)
    return pause


def notice_record(request: DataSubjectRequest, kind: str, text: str, *, by=None) -> SubjectNotice:
    notice = SubjectNotice.objects.create(
        tenant_id=request.tenant_id,
        request=request,
        kind=kind,
        text=text,
        created_by=by if getattr(by, "pk", None) else None,
    )
    notifications.send_subject_notice(notice)
    return notice


def letter_context(request: DataSubjectRequest, **extra) -> dict:
    tenant = request.tenant
    return {
        "req": request,
        "tenant": tenant,
        "controller": tenant.legal_name or tenant.name,
        "received": timezone.localtime(request.received_at, tenant.tzinfo),
        **extra,
    }


def require_confirmed(request: DataSubjectRequest) -> None:
    if request.confirmed_at is None:
        raise BusinessRuleError(
            f"Request #{request.pk} was sent to the platform directly and the tenant has not "
            "confirmed it yet: nothing can be decided before the controller does.",
            code="not_confirmed",
        )
