"""Deleting calls: the one guard, the one deletion service, and files leaving storage."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import models, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from calls import selectors
from calls.models import (
    Call,
    ErasureGround,
    FileDeletion,
    Recording,
    RecordingAccess,
    Transcript,
)
from calls.services.retention.holds import HoldsIndex, holds_for_call, holds_index
from calls.services.storage import stored_file_remove
from portal.audit import history_author
from portal.errors import BusinessRuleError
from portal.models import Webhook
from portal.redaction import (
    REDACTED,
    redact_history_of,
    redact_mentions_in,
    redaction_value,
    text_columns,
)
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
                        + (f" — {rule.get_legal_ground_display()}" if rule.legal_ground else "")
                        + "."
                    ),
                    until=until,
                    # (b) a legal obligation to keep, or (e) a limitation period: as the rule says.
                    ground=rule.legal_ground or ErasureGround.LEGAL_OBLIGATION,
                )
            )
    return blockers


def deletion_blocked_error(blockers: list[DeletionBlocker]) -> BusinessRuleError:
    return BusinessRuleError(
        "This call cannot be deleted now: " + " ".join(b.reason for b in blockers),
        code="deletion_blocked",
        status_code=409,
    )


# --- the one deletion ------------------------------------------------------------------------

# The personal data a call and its dependants copy into their history rows: redacted on every
# deletion, whatever path deletes (Art. 5(1)(e), 17). Other apps register their dependants of a
# call in ``AppConfig.ready`` (``call_personal_fields_register``); a dependant nobody registered
# has all its free-text columns redacted.
CALL_PERSONAL_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    Call: ("caller", "callee", "external_id"),
    Recording: ("file", "sha256"),
    Transcript: ("text",),
    RecordingAccess: ("purpose",),
}


def call_personal_fields_register(model: type[models.Model], fields: Iterable[str]) -> None:
    """Name the personal data in ``model`` (a dependant of a call) that deletion redacts."""
    CALL_PERSONAL_FIELDS[model] = tuple(fields)


def _dependants(on_delete=models.CASCADE) -> list[tuple[type[models.Model], str]]:
    """Every model whose rows reference a call with ``on_delete``: CASCADE rows are deleted with
    it; SET_NULL rows (the access log, accountable after the call) outlive it without it, their
    mentions of the call's numbers redacted. A DO_NOTHING reference (a hold's list of calls)
    keeps the call's id."""
    return [
        (rel.related_model, rel.field.attname)
        for rel in Call._meta.related_objects
        if not rel.many_to_many and rel.on_delete is on_delete
    ]


def _links() -> list[tuple[type[models.Model], str]]:
    """The many-to-many link tables that name calls (purposes, breaches): their rows go."""
    links = [
        (field.remote_field.through, f"{field.m2m_field_name()}_id")
        for field in Call._meta.many_to_many
    ]
    links += [
        (rel.through, f"{rel.field.m2m_reverse_field_name()}_id")
        for rel in Call._meta.related_objects
        if rel.many_to_many
    ]
    return links


def _history_targets() -> list[tuple[type[models.Model], str, tuple[str, ...]]]:
    """(model, column naming the call, personal fields) for the call and each dependant."""
    targets = [(Call, "id", CALL_PERSONAL_FIELDS[Call])]
    for model, key in _dependants() + _dependants(models.SET_NULL):
        if not hasattr(model, "history"):
            continue
        fields = CALL_PERSONAL_FIELDS.get(model)
        if fields is None:
            fields = tuple(f.name for f in text_columns(model))
        targets.append((model, key, fields))
    return targets


def calls_history_redact(call_ids: Iterable[int], *, note: str | None = None) -> Counter:
    """Redact the personal data (numbers, texts, file names) in every historical row of these
    calls and of their dependants, set-based. The rows stay: that the call existed, who changed
    or deleted it, when and why (``history_change_reason``, ``history_actor``). ``note``
    replaces the rows' change reasons (an erasure says so); None keeps them."""
    call_ids = list(call_ids)
    counts: Counter = Counter()
    for model, key, fields in _history_targets():
        counts["history_rows"] += redact_history_of(model, key, call_ids, fields=fields, note=note)
    return counts


def _deletion_history(model, queryset, *, reason: str, by) -> int:
    """Write the deletion's historical rows (``-``) in bulk, personal data already blanked:
    who deleted (user, actor), when, and why — the path is the reason's prefix."""
    history = model.history.model
    kept = {f.name for f in history._meta.concrete_fields}
    names = [f.attname for f in model._meta.concrete_fields if f.name in kept]
    personal = {
        history._meta.get_field(name).attname: redaction_value(history._meta.get_field(name))
        for name in CALL_PERSONAL_FIELDS.get(model, ())
    }
    user_id, label = history_author(by)
    when = timezone.now()
    rows = [
        history(
            **{**row, **personal},
            history_type="-",
            history_date=when,
            history_user_id=user_id,
            history_change_reason=reason,
            history_actor=label,
        )
        for row in queryset.values(*names).iterator()
    ]
    history.objects.bulk_create(rows, batch_size=500)
    return len(rows)


@dataclass
class DeletionResult:
    deleted: list[int] = field(default_factory=list)
    kept: dict[int, list[DeletionBlocker]] = field(default_factory=dict)
    gone: list[int] = field(default_factory=list)  # deleted before (not an error)
    counts: Counter = field(default_factory=Counter)


def _stored_names(call_ids: list[int]) -> set[str]:
    """The storage keys of the calls' recordings, now and in their history (a replaced file)."""
    live = Recording.objects.filter(call_id__in=call_ids).values_list("file", flat=True)
    past = Recording.history.model.objects.filter(call_id__in=call_ids).values_list(
        "file", flat=True
    )
    return {name for name in (*live, *past) if name and name != REDACTED}


def _delete_now(calls: list[Call], *, reason: str, source: str, by) -> Counter:
    """Delete guarded, locked calls set-based: files scheduled for removal, webhooks queued,
    the deletion written to history, dependants and calls deleted, history redacted."""
    counts: Counter = Counter()
    if not calls:
        return counts
    ids = [call.pk for call in calls]
    note = f"{source}: {reason}"
    for tenant_id in sorted({call.tenant_id for call in calls}):
        mine = [call.pk for call in calls if call.tenant_id == tenant_id]
        names = _stored_names(mine)
        names -= set(
            FileDeletion.objects.filter(tenant_id=tenant_id, storage_key__in=names).values_list(
                "storage_key", flat=True
            )
        )
        if names:
            file_deletion_schedule(
                tenant_id=tenant_id, names=sorted(names), reason=f"Calls deleted ({source})"
            )
            counts["files"] += len(names)
        if Webhook.objects.for_tenant(tenant_id).filter(is_active=True).exists():
            for call in calls:
                if call.tenant_id == tenant_id:
                    webhook_emit(
                        tenant=tenant_id,
                        event=CALL_DELETED_EVENT,
                        payload={
                            "call_id": call.pk,
                            "external_id": call.external_id,
                            "source": source,
                        },
                    )
    numbers = sorted({n for call in calls for n in (call.caller, call.callee) if n})
    for model, key in _dependants(models.SET_NULL):
        rows = model._base_manager.filter(**{f"{key}__in": ids})
        fields = CALL_PERSONAL_FIELDS.get(model) or [f.name for f in text_columns(model)]
        redact_mentions_in(rows, fields=fields, numbers=numbers)
        rows.update(**{key: None})
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for through, key in _links():
            through.objects.filter(**{f"{key}__in": chunk})._raw_delete(through.objects.db)
        for model, key in [*_dependants(), (Call, "id")]:
            rows = model._base_manager.filter(**{f"{key}__in": chunk})
            if hasattr(model, "history"):
                written = _deletion_history(model, rows, reason=note, by=by)
                counts[model._meta.model_name] += written
            rows._raw_delete(rows.db)
    counts.update(calls_history_redact(ids))
    return counts


@transaction.atomic
def calls_delete(
    calls: Iterable,
    *,
    reason: str,
    source: str,
    at: datetime | None = None,
    rules: selectors.RulesIndex | None = None,
    by=None,
) -> DeletionResult:
    """The one deletion of calls, for every path: the API, the admin (page and bulk action),
    the dashboard, the retention sweep, an erasure request, a tenant's offboarding.

    Each call is locked and judged by ``call_deletion_blockers`` (holds in force now, the
    minimum at ``at``); those it blocks are kept and returned with their blockers. The others
    are deleted with their recording (every stored version leaves storage after commit, through
    ``FileDeletion``), transcript, access-log entries and every other dependant; the history
    rows of all of them keep who, when and why (``"<source>: <reason>"``), but their numbers,
    texts and file names are redacted (Art. 5(1)(e), 17). Set-based: a batch of calls costs a
    fixed number of statements, not a number per call.
    """
    reason = (reason or "").strip()
    if not reason:
        raise BusinessRuleError("Say why the call is deleted.", field="reason")
    ids = sorted({getattr(call, "pk", call) for call in calls})
    locked = list(Call.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    result = DeletionResult(gone=sorted(set(ids) - {call.pk for call in locked}))
    # Holds as they are now, under the lock: one placed while a long sweep runs still counts.
    holds = holds_index(tenant_ids={call.tenant_id for call in locked})
    deletable = []
    for call in locked:
        blockers = call_deletion_blockers(call, at=at, rules=rules, holds=holds)
        if blockers:
            result.kept[call.pk] = blockers
        else:
            deletable.append(call)
    result.counts = _delete_now(deletable, reason=reason, source=source, by=by)
    result.deleted = [call.pk for call in deletable]
    return result


def call_delete(
    *,
    call: Call,
    reason: str,
    source: str,
    at: datetime | None = None,
    rules: selectors.RulesIndex | None = None,
    by=None,
) -> bool:
    """Delete one call through ``calls_delete``; refused (409) when something keeps it.

    ``source`` says which path deleted it (``api``, ``admin``, ``dashboard``, ``retention``,
    ``erasure``, ``offboarding``); with ``reason`` it is the change reason of the deletion's
    history rows. Returns False when the call was gone already (deleting twice is not an error).
    """
    result = calls_delete([call], reason=reason, source=source, at=at, rules=rules, by=by)
    if result.kept:
        raise deletion_blocked_error(result.kept[call.pk])
    return bool(result.deleted)


# --- files leaving storage -----------------------------------------------------------------


def file_deletion_schedule(*, tenant_id: int, names: list[str], reason: str) -> list[FileDeletion]:
    """Remove these files from storage once the current transaction commits.

    The request is written in the transaction itself: if the removal fails after commit
    (storage down, worker killed), ``file_deletions_retry`` finishes it later.
    """
    deletions = bulk_create_with_history(
        [
            FileDeletion(tenant_id=tenant_id, storage_key=name, reason=reason[:255])
            for name in names
        ],
        FileDeletion,
        batch_size=500,
    )
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
