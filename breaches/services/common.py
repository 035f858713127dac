"""Checks shared by the breach services."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from breaches import clock
from breaches.models import BreachIncident, BreachNotification
from portal.errors import BusinessRuleError


def lock_incident(incident: BreachIncident, *, allow_closed: bool = False) -> BreachIncident:
    """The incident, re-read under a row lock: concurrent notices cannot both go out."""
    locked = BreachIncident.objects.select_for_update().get(pk=incident.pk)
    if locked.is_closed and not allow_closed:
        raise BusinessRuleError(
            f"{locked.reference} is closed: nothing more can be changed.", code="incident_closed"
        )
    return locked


def require_text(value: str | None, *, field: str, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise BusinessRuleError(message, code="required", field=field)
    return text


def check_sent_at(sent_at: datetime | None, incident: BreachIncident) -> datetime:
    """A recorded notice happened between awareness and now."""
    moment = sent_at or timezone.now()
    if timezone.is_naive(moment):
        raise BusinessRuleError("Give the time with its time zone.", field="sent_at")
    if moment > timezone.now() + timedelta(minutes=5):
        raise BusinessRuleError(
            "A notice cannot be recorded as sent in the future.", field="sent_at"
        )
    if moment < incident.detected_at:
        raise BusinessRuleError(
            "A notice cannot have been sent before the breach was detected.", field="sent_at"
        )
    return moment


def require_delay_reason(
    incident: BreachIncident, *, sent_at: datetime, delay_reason: str, phase: str
) -> str:
    """Art. 33(1): a notification made after 72 hours is accompanied by the reasons for the delay.

    Only the initial notice is held to the 72 hours: later phases follow "without undue further
    delay" (Art. 33(4)).
    """
    reason = (delay_reason or "").strip()
    if phase != BreachNotification.Phase.INITIAL or sent_at <= incident.deadline_at or reason:
        return reason
    raise BusinessRuleError(
        f"The 72 hours since awareness ended at {clock.format_utc(incident.deadline_at)} "
        f"({clock.describe_time_left(incident.deadline_at, sent_at)}): a notice sent after them "
        "must give the reasons for the delay (Art. 33(1)).",
        code="delay_reason_required",
        field="delay_reason",
    )


def require_notice_items(incident: BreachIncident) -> None:
    """Items a notice cannot go without; the rest may follow in phases (Art. 33(4))."""
    if not incident.data_categories:
        raise BusinessRuleError(
            "Name the categories of data concerned before notifying (Art. 33(3)(a)).",
            code="incomplete_incident",
            field="data_categories",
        )
    if not incident.dpo_contact.strip():
        raise BusinessRuleError(
            "Give the DPO's contact details before notifying (Art. 33(3)(b)).",
            code="incomplete_incident",
            field="dpo_contact",
        )
