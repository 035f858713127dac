"""Background work for data-subject requests. Tasks take ids, re-check state, are idempotent."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from dsr import packages, reminders

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
