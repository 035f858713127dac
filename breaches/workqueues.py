"""The breach queues on the admin home: incidents on their 72-hour clock first."""

from __future__ import annotations

from django.urls import reverse

from breaches import clock
from breaches.models import BreachIncident
from breaches.selectors import (
    incident_clock,
    incidents_on_the_clock,
    incidents_with_tenants_pending,
    tenant_notice_target_state,
)
from portal.workqueues import QueueItem, WorkQueue

MAX_ITEMS = 10


def _change_url(incident: BreachIncident) -> str:
    return reverse("admin:breaches_breachincident_change", args=[incident.pk])


def breach_queues(request) -> list[WorkQueue]:
    user = request.user
    if not user.has_perm("breaches.view_breachincident"):
        return []
    visible = BreachIncident.objects.visible_to(user)
    changelist = reverse("admin:breaches_breachincident_changelist")

    on_clock = incidents_on_the_clock(visible)
    clock_queue = WorkQueue(
        title="Breaches on the 72-hour clock",
        count=on_clock.count(),
        url=f"{changelist}?clock=running",
        severity="danger",
        order=0,
        items=[
            QueueItem(
                label=str(incident),
                url=_change_url(incident),
                detail=state.label,
                severity=state.severity,
            )
            for incident in on_clock[:MAX_ITEMS]
            for state in [incident_clock(incident)]
        ],
    )

    pending = incidents_with_tenants_pending(visible)
    items = []
    worst = "warning"
    for incident in pending[:MAX_ITEMS]:
        label, severity = tenant_notice_target_state(incident)
        worst = "danger" if severity == "danger" else worst
        items.append(
            QueueItem(
                label=f"{incident} — {incident.pending_tenant_count} tenant(s) not yet notified",
                url=_change_url(incident),
                detail=label,
                severity=severity,
            )
        )
    target_queue = WorkQueue(
        title=f"Tenants not yet notified (target {clock.tenant_notice_target_hours()} h)",
        count=pending.count(),
        url=f"{changelist}?clock=tenants_pending",
        severity=worst,
        order=1,
        items=items,
    )
    return [clock_queue, target_queue]
