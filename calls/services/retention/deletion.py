"""Deleting calls: the one guard, the one deletion service, and files leaving storage."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from calls import selectors
from calls.models import Call, FileDeletion, Recording
from calls.services.retention.holds import HoldsIndex, holds_for_call
from calls.services.storage import stored_file_remove
from portal.errors import BusinessRuleError
from portal.webhooks import webhook_emit

logger = logging.getLogger(__name__)

CALL_DELETED_EVENT = "call.deleted"


@dataclass(frozen=True)
class DeletionBlocker:
    """Why a call may not be deleted now (Art. 17(3)), and until when, if that is known."""

    code: str  # "legal_hold", "restricted", "min_retention"
    reason: str
    until: datetime | None = None
    ground: str = ""  # the Art. 17(3) exception it rests on, where there is one


def call_deletion_blockers(
    call: Call,
    *,
    at: datetime | None = None,
    rules: selectors.RulesIndex | None = None,
    holds: HoldsIndex | None = None,
) -> list[DeletionBlocker]:
    """The one guard in front of every deletion of a call — API, admin, retention sweep,
    erasure. Empty means the call may be deleted at ``at``.

    ``rules`` (from ``selectors.retention_rules_index``) and ``holds`` (from
    ``calls.services.retention.holds.holds_index``) save queries per call in bulk work.
    """
    at = at or timezone.now()
    blockers: list[DeletionBlocker] = [
        # Art. 17(3): held data is kept whatever asks for its deletion (retention.holds).
        DeletionBlocker(
            code="legal_hold",
            reason=hold.explanation,
            until=hold.expires_at,
            ground=hold.legal_ground,
        )
        for hold in holds_for_call(call, at=at, index=holds)
    ]
    if call.is_restricted:
        # Art. 18(1)(b)/(c): a subject restricts instead of erasing, e.g. to keep evidence for a
        # legal claim. Restricted data is only stored — deleting it is processing too.
        blockers.append(
            DeletionBlocker(
                code="restricted",
                reason="Processing of this call is restricted (Art. 18): it is kept until the "
                "restriction is lifted.",
            )
        )
    rule = selectors.retention_rule_for(call, rules=rules)
    if rule is not None and rule.min_age_days:
        until = call.started_at + timedelta(days=rule.min_age_days)
        if at < until:
            blockers.append(
                DeletionBlocker(
                    code="min_retention",
                    reason=(
                        f"Category {call.category!r} must be kept {rule.min_age_days} days, "
                        f"until {until:%Y-%m-%d}"
                        + (f" ({rule.legal_reference})" if rule.legal_reference else "")
                        + "."
                    ),
                    until=until,
                    ground="art_17_3_b",  # a legal obligation to keep
                )
            )
    return blockers


def deletion_blocked_error(blockers: list[DeletionBlocker]) -> BusinessRuleError:
    return BusinessRuleError(
        "This call cannot be deleted now: " + " ".join(b.reason for b in blockers),
        code="deletion_blocked",
        status_code=409,
    )


@transaction.atomic
def call_delete(
    *,
    call: Call,
    reason: str,
    source: str,
    at: datetime | None = None,
    rules: selectors.RulesIndex | None = None,
) -> bool:
    """Delete a call with its recording and transcript, if nothing blocks it.

    ``source`` says which path deleted it (``api``, ``admin``, ``retention``, ``erasure``);
    ``reason`` is kept as the change reason of the call's last history row. The recording's
    file is removed from storage (every version) after the transaction commits. Returns False
    when the call was gone already (deleting twice is not an error).
    """
    if not (reason or "").strip():
        raise BusinessRuleError("Say why the call is deleted.", field="reason")
    locked = Call.objects.select_for_update().filter(pk=call.pk).first()
    if locked is None:
        return False
    blockers = call_deletion_blockers(locked, at=at, rules=rules)
    if blockers:
        raise deletion_blocked_error(blockers)
    names = [
        name
        for name in Recording.objects.filter(call=locked).values_list("file", flat=True)
        if name
    ]
    if names:
        file_deletion_schedule(
            tenant_id=locked.tenant_id, names=names, reason=f"Call {locked.pk} deleted ({source})"
        )
    webhook_emit(
        tenant=locked.tenant,
        event=CALL_DELETED_EVENT,
        payload={"call_id": locked.pk, "external_id": locked.external_id, "source": source},
    )
    locked._change_reason = f"{source}: {reason.strip()}"[:255]
    locked.delete()
    return True


# --- files leaving storage -----------------------------------------------------------------


def file_deletion_schedule(*, tenant_id: int, names: list[str], reason: str) -> list[FileDeletion]:
    """Remove these files from storage once the current transaction commits.

    The request is written in the transaction itself: if the removal fails after commit
    (storage down, worker killed), ``file_deletions_retry`` finishes it later.
    """
    deletions = [
        FileDeletion.objects.create(tenant_id=tenant_id, storage_key=name, reason=reason[:255])
        for name in names
    ]
    ids = [deletion.pk for deletion in deletions]

    def run() -> None:
        from calls.tasks import file_deletions_run

        file_deletions_run.delay(ids)

    # robust: a storage failure after commit must not turn a done deletion into an error.
    transaction.on_commit(run, robust=True)
    return deletions


def file_deletion_run(*, deletion_id: int) -> FileDeletion | None:
    """Remove one scheduled file (all versions). Idempotent: a finished or unknown request is
    skipped, a file already gone counts as removed. Failures are recorded for the retry."""
    with transaction.atomic():
        deletion = (
            FileDeletion.objects.select_for_update()
            .filter(pk=deletion_id, completed_at__isnull=True)
            .first()
        )
        if deletion is None:
            return None
        deletion.attempts += 1
        try:
            deletion.versions_removed += stored_file_remove(deletion.storage_key)
        except Exception as exc:  # storage errors of any backend: record, retry later
            logger.warning("Removing %s from storage failed: %r", deletion.storage_key, exc)
            deletion.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        else:
            deletion.completed_at = timezone.now()
            deletion.last_error = ""
        deletion.save(update_fields=["attempts", "versions_removed", "completed_at", "last_error"])
        return deletion
