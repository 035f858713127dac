"""Background work for data-subject requests. Tasks take ids, re-check state, are idempotent."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from dsr.services import packages, reminders

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=5)
def package_build(self, request_id: int) -> str:
    """Build the package of an approved access/portability request, then complete it."""
    try:
        package = packages.package_build(request_id=request_id, build_token=self.request.id or "")
    except Exception as exc:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            # In-process: the failure is recorded on the package; do not break the caller.
            logger.exception("Package build for request %s failed", request_id)
            return "failed"
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries)
    return "built" if package is not None else "skipped"


@shared_task
def package_expire_due() -> int:
    """Beat: delete packages whose download period is over."""
    return packages.package_expire_due()


@shared_task
def reminders_send() -> int:
    """Beat: deadline reminders to assignees (7 and 2 days before) and the DPOs (overdue)."""
    return reminders.reminders_send()


# --- erasure (dsr.services.erasure) -------------------------------------------------------


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=8)
def erasure_run(self, request_id: int) -> str:
    """Carry out (or resume) an approved erasure. Destructive work: acknowledged only once done,
    redelivered if the worker dies; every step is idempotent, so running it again finishes it."""
    from dsr.services.erasure.execution import erasure_execute, erasure_failed

    try:
        return erasure_execute(request_id=request_id)
    except Exception as exc:
        erasure_failed(request_id=request_id, error=exc)
        if settings.CELERY_TASK_ALWAYS_EAGER:
            # In-process: recorded on the run, resumed by erasure_resume_stuck; the caller (an
            # API request that approved by policy) must not fail for it.
            logger.exception("Erasure of request %s failed", request_id)
            return "failed"
        raise self.retry(exc=exc, countdown=min(60 * 2**self.request.retries, 3600))


@shared_task(acks_late=True)
def erasure_deferred_resume(tenant_id: int | None = None) -> dict:
    """Beat (and after a hold is released): erase deferred items whose reason ended — a hold
    released or expired, a minimum retention period over — and complete their requests."""
    from dsr.services.erasure.execution import deferred_sweep

    return deferred_sweep(tenant_id=tenant_id)


@shared_task
def erasure_resume_stuck() -> list[int]:
    """Beat: start again the erasures whose work died (no progress for the stuck time)."""
    from dsr.services.erasure.execution import erasures_resume_stuck

    return erasures_resume_stuck()
