"""Deadline reminders: to the assignee 7 and 2 days before the deadline, to the DPOs when a
request is overdue. Each is sent once per deadline (an extension starts a new series)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from dsr import selectors
from dsr.models import DataSubjectRequest, RequestEvent
from dsr.services import notifications
from portal.jobs import JobFailures

BEFORE_DEADLINE = (("2d", timedelta(days=2)), ("7d", timedelta(days=7)))
SUBJECTS = {"2d": "Due within 2 days", "7d": "Due within 7 days", "overdue": "Overdue"}


def _reminder_key(request: DataSubjectRequest, at: datetime) -> str | None:
    due = request.effective_due_at
    stamp = timezone.localtime(due, request.tenant.tzinfo).date().isoformat()
    if due < at:
        return f"overdue:{stamp}"
    for key, window in BEFORE_DEADLINE:
        if due - at <= window:
            return f"{key}:{stamp}"
    return None


def _recipients(request: DataSubjectRequest, key: str) -> list[str]:
    if key.startswith("overdue") or request.assignee is None or not request.assignee.email:
        # Unassigned requests near their deadline go to the DPOs rather than to nobody.
        return notifications.dpo_emails()
    return [request.assignee.email]


def _send(request_id: int, at: datetime) -> bool:
    with transaction.atomic():
        request = (
            DataSubjectRequest.objects.select_for_update(of=("self",))
            .select_related("tenant", "assignee")
            .get(pk=request_id)
        )
        key = _reminder_key(request, at)
        if key is None or key in request.reminders_sent or request.clock_paused_at:
            return False
        kind, stamp = key.split(":", 1)
        if kind == "overdue":
            body = f"The deadline of {stamp} has passed."
        else:
            body = f"The request must be answered by {stamp}."
        notifications.notify_staff(
            request,
            SUBJECTS[kind],
            f"{body}\nRequest #{request.pk} ({request.get_kind_display()}) for "
            f"{request.tenant.name}, status {request.get_status_display()}.",
            _recipients(request, key),
        )
        request.reminders_sent = [*request.reminders_sent, key]
        request._change_reason = f"reminder {key}"
        request.save(update_fields=["reminders_sent"])
        RequestEvent.objects.create(
            tenant_id=request.tenant_id,
            request=request,
            action="reminder_sent",
            actor="system",
            note=key,
        )
    return True


def reminders_send(*, at: datetime | None = None) -> int:
    """Send the reminders that are due now; safe to run as often as wanted."""
    at = at or timezone.now()
    horizon = at + BEFORE_DEADLINE[-1][1]
    candidates = selectors.open_requests().filter(
        clock_paused_at__isnull=True, effective_due_at__lt=horizon
    )
    failures = JobFailures("reminders")
    return sum(
        bool(failures.run(f"request {pk}", _send, pk, at))
        for pk in candidates.values_list("pk", flat=True)
    )
