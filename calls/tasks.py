"""Background work for calls: the retention sweep and removing files from storage.

Tasks take ids, re-check state and are idempotent: running one twice, or again after a worker
died half-way, finishes the work without deleting anything that must be kept.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from calls import services
from calls.models import FileDeletion
from portal.jobs import JobFailures

# A scheduled removal still pending after this long failed or was lost with its worker.
FILE_DELETION_GRACE = timedelta(minutes=5)


@shared_task(acks_late=True)
def retention_sweep() -> dict:
    """Beat, daily: delete calls past their category's maximum age (never under its minimum)."""
    return services.retention_sweep().as_dict()


@shared_task(acks_late=True)
def file_deletions_run(deletion_ids: list[int]) -> int:
    """Remove scheduled files from storage (every version); returns how many are done."""
    done = 0
    failures = JobFailures("file deletions")
    for deletion_id in deletion_ids:
        deletion = failures.run(
            f"deletion {deletion_id}", services.file_deletion_run, deletion_id=deletion_id
        )
        done += bool(deletion and deletion.completed_at)
    return done


@shared_task(acks_late=True)
def file_deletions_retry() -> int:
    """Beat: finish removals that failed (storage down) or whose worker died."""
    due = list(
        FileDeletion.objects.filter(
            completed_at__isnull=True, requested_at__lt=timezone.now() - FILE_DELETION_GRACE
        )
        .order_by("requested_at")
        .values_list("pk", flat=True)[:1000]
    )
    return file_deletions_run(due)
