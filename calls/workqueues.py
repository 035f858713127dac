"""The calls app's work queues on the DPO's admin home."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from calls.models import FileDeletion
from calls.tasks import FILE_DELETION_GRACE
from portal.access import visible_tenant_ids
from portal.workqueues import QueueItem, WorkQueue


def file_deletions_failing(request) -> list[WorkQueue]:
    """Files that should have left storage but have not: deleted data still stored."""
    pending = FileDeletion.objects.filter(
        tenant_id__in=visible_tenant_ids(request.user),
        completed_at__isnull=True,
        requested_at__lt=timezone.now() - FILE_DELETION_GRACE,
    ).select_related("tenant")
    url = reverse("admin:calls_filedeletion_changelist") + "?completed_at__isempty=1"
    items = [
        QueueItem(
            label=f"{deletion.tenant}: {deletion.storage_key}",
            url=reverse("admin:calls_filedeletion_change", args=[deletion.pk]),
            detail=f"{deletion.attempts} attempt(s)",
            severity="danger",
        )
        for deletion in pending.order_by("requested_at")[:5]
    ]
    return [
        WorkQueue(
            title="Deleted files still in storage",
            count=pending.count(),
            url=url,
            severity="danger",
            items=items,
            order=40,
        )
    ]
