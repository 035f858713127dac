"""The consent app's work queues on the DPO's admin home."""

from __future__ import annotations

from django.db.models import Count
from django.urls import reverse

from consent.models import ConsentEvent, LawfulBasis
from portal.access import visible_tenant_ids
from portal.workqueues import QueueItem, WorkQueue


def announcement_only_consent(request) -> list[WorkQueue]:
    """Tenants whose ledger holds "consent" recorded from an IVR announcement, from before such
    events were refused: silence is no consent (Art. 4(11), Recital 32), so the check answers
    "not allowed" for them, and the tenant should ask those callers for a real consent."""
    rows = (
        ConsentEvent.objects.filter(
            tenant_id__in=visible_tenant_ids(request.user),
            method=ConsentEvent.Method.IVR_ANNOUNCEMENT,
            lawful_basis=LawfulBasis.CONSENT,
        )
        .order_by()
        .values("tenant_id", "tenant__name")
        .annotate(events=Count("id"))
        .order_by("tenant__name")
    )
    rows = list(rows)
    url = reverse("admin:consent_consentevent_changelist") + "?method__exact=ivr_announcement"
    items = [
        QueueItem(
            label=row["tenant__name"],
            url=f"{url}&tenant__id__exact={row['tenant_id']}",
            detail=f"{row['events']} announcement-only event(s)",
            severity="warning",
        )
        for row in rows[:5]
    ]
    return [
        WorkQueue(
            title="Announcement-only consent (not consent)",
            count=len(rows),
            url=url,
            severity="warning",
            items=items,
            order=60,
        )
    ]
