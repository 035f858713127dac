"""What an erasure finds, and how each item is erased or deferred.

An erasure request's items (``ErasureItem``) are found by the subject's numbers:

* ``call`` — each call with one of the numbers as caller or callee: erased through
  ``calls.services.call_delete`` (the one deletion path, behind the one guard), so the recording
  leaves storage with every version by the ``FileDeletion`` path; with it go the transcript, the
  recording-access entries and the supplementary statements (Art. 16) of the call;
* ``number`` — each of the request's numbers: its consent ledger and current state
  (``ConsentEvent.objects.erase_for_request``), restrictions and objections, SMS notices sent
  and received — after its withdrawals, objections and restrictions in force are kept by its
  tombstone in consent's suppression list (``consent.services.suppression_record``);
* ``hold_number`` — a legal hold's copy of the number (deferred while the hold is in force);
* ``request`` — another request of the subject: its copy of the numbers, name, email and
  details, and its access package (deferred while that request is open).

Then history: every historical row of every erased object keeps that it existed, but its
personal data (numbers, free text, file names) is redacted and its change reason says
"erased under request #N".

An item that must be kept is *deferred* with the reason the tenant can pass on, the Art. 17(3)
ground, and the expected release where known: a call under a legal hold, inside its category's
minimum retention (frozen with the request's decision), or restricted at the other party's
request. A subject's own restriction does not keep their data from their own erasure: the
erasure request supersedes it (the restriction is lifted with that reason, recorded).

Every eraser is idempotent: an object already gone is success, and history redaction can run
again. The erasers take the object's id and a ``Context`` and return an ``Outcome``; they are
also what ``reapply_erasures`` runs after a backup restore.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calls import selectors as call_selectors
from calls.models import (
    Call,
    FileDeletion,
    LegalHoldNumber,
    Recording,
    RecordingAccess,
    RetentionRule,
    Transcript,
)
from calls.services import (
    DeletionBlocker,
    call_delete,
    call_deletion_blockers,
    calls_history_redact,
    file_deletion_schedule,
)
from consent.models import (
    ConsentEvent,
    ConsentState,
    InboundSms,
    ProcessingRestriction,
    SmsNotice,
    ledger_erasure,
)
from consent.services import processing_restriction_lift, suppression_record
from dsr.models import (
    OPEN_STATUSES,
    AccessPackage,
    CallRectification,
    DataSubjectRequest,
    ErasureItem,
    RequestClockPause,
    RequestEvent,
    RequestSubjectNumber,
    SubjectNotice,
    Tombstone,
)
from portal.errors import BusinessRuleError
from portal.redaction import REDACTED, number_fingerprint, redact_history, redact_mentions_in

Kind = ErasureItem.Kind

NUMBER_HISTORY = (
    (ConsentEvent, ("number", "evidence_message_id", "evidence_document")),
    (ConsentState, ("number",)),
    (ProcessingRestriction, ("number", "reason")),
    (SmsNotice, ("number", "message_id", "text")),
    (InboundSms, ("number", "message_id", "text")),
)
# A request's own record of the subject, blanked when it is erased.
REQUEST_PERSONAL_FIELDS = ("name", "email", "details", "verification_note")
# A request's free texts written by people: the subject's numbers, name and email are cut out.
REQUEST_TEXTS = (
    (DataSubjectRequest, "id", ("decision_reasons", "outcome", "extension_reason")),
    (RequestEvent, "request_id", ("note",)),
    (SubjectNotice, "request_id", ("text",)),
    (RequestClockPause, "request_id", ("reason",)),
)


@dataclass
class Context:
    """What an erasure run knows: the request, the subject's numbers, the rules to apply."""

    tenant_id: int
    request_ref: int
    request: DataSubjectRequest | None
    numbers: list[str]
    fingerprints: set[str] = field(default_factory=set)
    rules: call_selectors.RulesIndex | None = None
    # Re-applying after a restore: only data recorded before the erasure is the erased data;
    # anything newer is new data (a subject may call again) and stays.
    before: datetime | None = None

    def older(self, field_name: str) -> Q:
        return Q(**{f"{field_name}__lt": self.before}) if self.before else Q()

    @property
    def note(self) -> str:
        return f"erased under request #{self.request_ref}"

    def is_subject(self, number: str) -> bool:
        """One of the subject's numbers: given to this run, or tombstoned under the request."""
        return bool(number) and (
            number in self.numbers or number_fingerprint(number) in self.fingerprints
        )


@dataclass
class Outcome:
    erased: bool
    counts: Counter = field(default_factory=Counter)
    key_hashes: list[str] = field(default_factory=list)
    file_deletions: list[int] = field(default_factory=list)
    blocker: str = ""
    reason: str = ""
    ground: str = ""
    until: datetime | None = None
    holds: list[int] = field(default_factory=list)
    numbers_found: set[str] = field(default_factory=set)


def frozen_rules(request: DataSubjectRequest) -> call_selectors.RulesIndex | None:
    """The retention rules the request was decided under (its policy snapshot): a later change
    of the tenant's rules does not change a decided request."""
    snapshot = (request.policy_snapshot or {}).get("retention_rules")
    if snapshot is None:
        return None
    return {
        (request.tenant_id, rule["category"]): RetentionRule(
            tenant_id=request.tenant_id,
            category=rule["category"],
            min_age_days=rule.get("min_age_days"),
            max_age_days=rule.get("max_age_days"),
            legal_reference=rule.get("legal_reference") or "",
            legal_ground=rule.get("legal_ground") or "",
        )
        for rule in snapshot
    }


def _deferred(blockers: list[DeletionBlocker], **extra) -> Outcome:
    until = [b.until for b in blockers]
    return Outcome(
        erased=False,
        blocker=blockers[0].code,
        reason=" ".join(b.reason for b in blockers),
        ground=next((b.ground for b in blockers if b.ground), ""),
        # Known only when every reason has an end date; then the latest of them.
        until=max(until) if until and all(until) else None,
        **extra,
    )


def _key_hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Calls


def _own_restriction(call: Call, ctx: Context) -> bool:
    """The call is restricted only at the subject's own request (not the other party's)."""
    others = [n for n in (call.caller, call.callee) if not ctx.is_subject(n)]
    return not ProcessingRestriction.objects.filter(
        tenant_id=call.tenant_id,
        kind=ProcessingRestriction.Kind.RESTRICTION,
        lifted_at__isnull=True,
        number__in=others,
    ).exists()


def supersede_reason(ctx: Context) -> str:
    return (
        f"Superseded by erasure request #{ctx.request_ref}: the subject asked for erasure "
        "(Art. 17), which ends their own restriction of processing (Art. 18)."
    )


def _supersede_restriction(call: Call, ctx: Context) -> None:
    """The subject's erasure request supersedes their own earlier restriction (recorded)."""
    mine = ProcessingRestriction.objects.filter(
        tenant_id=call.tenant_id,
        kind=ProcessingRestriction.Kind.RESTRICTION,
        lifted_at__isnull=True,
        number__in=[n for n in (call.caller, call.callee) if ctx.is_subject(n)],
    )
    for restriction in mine:
        processing_restriction_lift(restriction=restriction, reason=supersede_reason(ctx))
    call.is_restricted = False
    call._change_reason = f"restriction superseded by erasure request #{ctx.request_ref}"
    call.save(update_fields=["is_restricted"])


def _file_deletions(tenant_id: int, names: set[str], reason: str) -> list[int]:
    """Every removal of these keys, scheduling one where a key never had any."""
    names = {n for n in names if n and n != REDACTED}  # a name redacted by an earlier run
    if not names:
        return []
    known = set(
        FileDeletion.objects.filter(tenant_id=tenant_id, storage_key__in=names).values_list(
            "storage_key", flat=True
        )
    )
    missing = sorted(names - known)
    if missing:
        file_deletion_schedule(tenant_id=tenant_id, names=missing, reason=reason)
    return list(
        FileDeletion.objects.filter(tenant_id=tenant_id, storage_key__in=names)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def call_history_scrub(call_id: int, ctx: Context) -> Counter:
    """Redact the call's personal data in every historical row of it and of its dependants
    (``calls.services.calls_history_redact``, the deletion service's own), saying it was erased
    under the request; drop access-log entries an older deletion left without their call."""
    counts: Counter = Counter()
    pks = RecordingAccess.history.model.objects.filter(call_id=call_id).values("id")
    orphans = RecordingAccess.objects.filter(pk__in=pks, call__isnull=True)
    counts["recording_access"] += orphans.count()
    orphans.delete()
    counts.update(calls_history_redact([call_id], note=ctx.note))
    return counts


def erase_call(ctx: Context, call_id: int) -> Outcome:
    call = Call.objects.select_for_update().filter(pk=call_id, tenant_id=ctx.tenant_id).first()
    if call is None:  # gone already (another path, or a run that died after its commit)
        # The file names its history still holds (before the scrub redacts them): each must
        # have a removal, every version gone.
        names = set(
            Recording.history.model.objects.filter(call_id=call_id).values_list("file", flat=True)
        )
        counts = call_history_scrub(call_id, ctx)
        deletions = _file_deletions(ctx.tenant_id, names, f"Call {call_id} erased")
        return Outcome(erased=True, counts=counts, file_deletions=deletions)
    found = {n for n in (call.caller, call.callee) if ctx.is_subject(n)}
    blockers = call_deletion_blockers(call, rules=ctx.rules)
    if blockers and {b.code for b in blockers} == {"restricted"} and _own_restriction(call, ctx):
        _supersede_restriction(call, ctx)
        blockers = call_deletion_blockers(call, rules=ctx.rules)
    if blockers:
        holds = _hold_ids(call, ctx)
        return _deferred(blockers, holds=holds, numbers_found=found)
    names = {
        name
        for name in Recording.history.model.objects.filter(call_id=call.pk).values_list(
            "file", flat=True
        )
        if name
    }
    names |= {n for n in Recording.objects.filter(call=call).values_list("file", flat=True) if n}
    counts: Counter = Counter(call=1)
    counts["recording"] = Recording.objects.filter(call=call).count()
    counts["transcript"] = Transcript.objects.filter(call=call).count()
    counts["rectification"] = CallRectification.objects.filter(call=call).count()
    try:
        # The access log outlives a deleted call; an erasure then drops it (the scrub counts it).
        call_delete(call=call, reason=ctx.note, source="erasure", rules=ctx.rules)
    except BusinessRuleError as exc:
        if exc.code != "deletion_blocked":
            raise
        # Blocked since it was read (a hold placed this instant): keep it.
        blockers = call_deletion_blockers(call, rules=ctx.rules)
        return _deferred(blockers or [DeletionBlocker("blocked", exc.message)], numbers_found=found)
    counts.update(call_history_scrub(call.pk, ctx))
    deletions = _file_deletions(ctx.tenant_id, names, f"Call {call.pk} erased ({ctx.note})")
    return Outcome(
        erased=True,
        counts=counts,
        key_hashes=sorted(_key_hash(n) for n in names),
        file_deletions=deletions,
        numbers_found=found,
    )


def _hold_ids(call: Call, ctx: Context) -> list[int]:
    from calls.services.retention.holds import holds_for_call

    return [hold.pk for hold in holds_for_call(call)]


# ---------------------------------------------------------------------------------------------
# A number's data outside calls


def erase_number_data(ctx: Context, number: str) -> Outcome:
    """The consent ledger and current state, restrictions and objections, and SMS notices of
    one number — and the number in their history.

    First, what the subject asked to stop outlives the erasure: the withdrawals, objections and
    restrictions in force are kept by the number's tombstone (``suppression_record``, Art.
    17(3)(b) with Art. 21 and 7(3)), so that the erased caller stays objected."""
    tenant_id = ctx.tenant_id
    counts: Counter = Counter()
    counts["suppression_kept"] = len(
        suppression_record(tenant_id=tenant_id, number=number, request_ref=ctx.request_ref)
    )
    if ctx.before is None:
        counts["consent_event"] = ConsentEvent.objects.erase_for_request(
            tenant_id=tenant_id, numbers=[number], request_id=ctx.request_ref
        )
    else:
        with ledger_erasure(request_id=ctx.request_ref):
            events = ConsentEvent.objects.filter(
                ctx.older("recorded_at"), tenant_id=tenant_id, number=number
            )
            counts["consent_event"] = events.count()
            events.delete()
    states = ConsentState.objects.filter(
        ctx.older("updated_at"), tenant_id=tenant_id, number=number
    )
    counts["consent_state"] = states.count()  # left only if an event was missed
    states.delete()
    restrictions = ProcessingRestriction.objects.filter(
        ctx.older("started_at"), tenant_id=tenant_id, number=number
    )
    for restriction in restrictions.filter(lifted_at__isnull=True):
        # Lifted first, with the reason, then erased like every other row of the number.
        processing_restriction_lift(restriction=restriction, reason=supersede_reason(ctx))
    counts["restriction"] = restrictions.count()
    restrictions.delete()
    notices = SmsNotice.objects.filter(ctx.older("sent_at"), tenant_id=tenant_id, number=number)
    counts["sms_notice"] = notices.count()
    notices.delete()
    received = InboundSms.objects.filter(
        ctx.older("received_at"), tenant_id=tenant_id, number=number
    )
    counts["inbound_sms"] = received.count()
    received.delete()
    for model, fields in NUMBER_HISTORY:
        history = model.history.model.objects.filter(
            ctx.older("history_date"), tenant_id=tenant_id, number=number
        )
        pks = set(history.values_list("id", flat=True))
        counts["history_rows"] += redact_history(model, pks, fields=fields, note=ctx.note)
    return Outcome(erased=True, counts=+counts, numbers_found={number})


def erase_hold_number(ctx: Context, row_id: int) -> Outcome:
    row = (
        LegalHoldNumber.objects.select_related("hold")
        .filter(pk=row_id, tenant_id=ctx.tenant_id)
        .first()
    )
    counts: Counter = Counter()
    found: set[str] = set()
    if row is not None:
        found = {row.number} if ctx.is_subject(row.number) else set()
        if row.hold.is_active():
            hold = row.hold
            return Outcome(
                erased=False,
                blocker="legal_hold",
                reason=f"The hold names the subject's number. {hold.explanation}",
                ground=hold.legal_ground,
                until=hold.expires_at,
                holds=[hold.pk],
                numbers_found=found,
            )
        row._change_reason = ctx.note
        row.delete()
        counts["hold_number"] = 1
    counts["history_rows"] = redact_history(
        LegalHoldNumber, [row_id], fields=["number"], note=ctx.note
    )
    return Outcome(erased=True, counts=counts, numbers_found=found)


# ---------------------------------------------------------------------------------------------
# Requests: another request's copy of the subject's data, and the request's own at its close


def tombstone_write(ctx: Context, numbers) -> int:
    written = 0
    for number in numbers:
        _, created = Tombstone.objects.get_or_create(
            tenant_id=ctx.tenant_id,
            fingerprint=number_fingerprint(number),
            request_ref=ctx.request_ref,
            defaults={"request": ctx.request, "erased_at": timezone.now()},
        )
        written += created
    return written


def request_scrub(request: DataSubjectRequest, ctx: Context) -> Outcome:
    """Drop a (closed) request's copy of the subject: their numbers (a tombstone stays), name,
    email, details and identity note — in the row and in its history — the subject's numbers,
    name and email from the free texts of its timeline and letters, and its access packages
    (every stored version). What the request was and what was done with it stays."""
    counts: Counter = Counter()
    rows = RequestSubjectNumber.objects.filter(request=request)
    numbers = [n for n in rows.values_list("number", flat=True) if ctx.is_subject(n)]
    tombstone_write(ctx, numbers)
    also = [request.name, request.email]
    removed = rows.filter(number__in=numbers)
    counts["request_number"] = removed.count()
    removed.delete()  # per object: history records that they existed
    history = RequestSubjectNumber.history.model.objects.filter(request_id=request.pk)
    pks = set(history.values_list("id", flat=True))
    counts["history_rows"] += redact_history(
        RequestSubjectNumber, pks, fields=["number"], note=ctx.note
    )
    words = [*ctx.numbers, *numbers]
    for model, key, fields in REQUEST_TEXTS:
        live = model._base_manager.filter(**{key: request.pk})
        counts["text_redacted"] += redact_mentions_in(live, fields=fields, numbers=words, also=also)
        past = model.history.model.objects.filter(**{key: request.pk})
        counts["text_redacted"] += redact_mentions_in(past, fields=fields, numbers=words, also=also)
    if any(getattr(request, name) for name in REQUEST_PERSONAL_FIELDS):
        for name in REQUEST_PERSONAL_FIELDS:
            setattr(request, name, "")
        request._change_reason = f"subject's data {ctx.note}"
        request.save(update_fields=list(REQUEST_PERSONAL_FIELDS))
    # The request's own history keeps its change reasons: they record what was decided.
    counts["history_rows"] += redact_history(
        DataSubjectRequest, [request.pk], fields=REQUEST_PERSONAL_FIELDS, note=None
    )
    outcome = Outcome(erased=True, numbers_found=set(numbers))
    _packages_erase(request, ctx, counts, outcome)
    outcome.counts = +counts
    return outcome


def _packages_erase(request, ctx: Context, counts: Counter, outcome: Outcome) -> None:
    packages = AccessPackage.objects.filter(request=request)
    pks = list(packages.values_list("pk", flat=True))
    if not pks:
        return
    names = set(
        AccessPackage.history.model.objects.filter(id__in=pks)
        .exclude(file="")
        .values_list("file", flat=True)
    )
    for package in packages.exclude(file=""):
        package.status = AccessPackage.Status.EXPIRED
        package.deleted_at = package.deleted_at or timezone.now()
        package.file = ""
        package._change_reason = ctx.note
        package.save(update_fields=["status", "deleted_at", "file"])
        counts["package"] += 1
    counts["history_rows"] += redact_history(AccessPackage, pks, fields=["file"], note=None)
    outcome.file_deletions = _file_deletions(
        request.tenant_id, names, f"Package of request #{request.pk} ({ctx.note})"
    )
    outcome.key_hashes = sorted(_key_hash(n) for n in names)


def erase_request_copy(ctx: Context, request_id: int) -> Outcome:
    other = (
        DataSubjectRequest.objects.select_for_update(of=("self",))
        .filter(pk=request_id, tenant_id=ctx.tenant_id)
        .first()
    )
    if other is None:
        return Outcome(erased=True)
    if other.status in OPEN_STATUSES:
        return Outcome(
            erased=False,
            blocker="open_request",
            reason=f"Request #{other.pk} ({other.get_kind_display()}) of the subject is still "
            "open: its copy of the numbers is erased as soon as it is closed.",
            numbers_found={n for n in other.numbers if ctx.is_subject(n)},
        )
    if other.kind == "restriction" and other.restriction_lifted_at is None:
        from dsr.services.base import record_event

        other.restriction_lifted_at = timezone.now()
        other._change_reason = f"restriction superseded by erasure request #{ctx.request_ref}"
        other.save(update_fields=["restriction_lifted_at"])
        record_event(other, "restriction_lifted", note=supersede_reason(ctx))
    return request_scrub(other, ctx)


# ---------------------------------------------------------------------------------------------
# Discovery, and one item at a time


def discover(request: DataSubjectRequest, numbers: list[str]) -> int:
    """Record an item for everything of the subject's not yet listed; returns how many new.
    Call it with the request locked (two runs never discover at once)."""
    tenant_id = request.tenant_id
    known = set(ErasureItem.objects.filter(request=request).values_list("kind", "object_id"))
    found: list[tuple[str, int, str]] = []
    matches = Q(caller__in=numbers) | Q(callee__in=numbers)
    calls = (
        Call.objects.filter(matches, tenant_id=tenant_id)
        .order_by("pk")
        .values_list("pk", "started_at", "category")
    )
    live = set()
    for pk, started_at, category in calls.iterator():
        live.add(pk)
        found.append((Kind.CALL, pk, f"Call {pk} of {started_at:%Y-%m-%d} ({category or '—'})"))
    # Calls deleted earlier (an API delete, the sweep) live on in history: erased there too.
    gone = (
        Call.history.model.objects.filter(matches, tenant_id=tenant_id)
        .order_by("id")
        .values_list("id", "started_at")
        .distinct()
    )
    for pk, started_at in gone.iterator():
        if pk not in live:
            live.add(pk)
            found.append(
                (Kind.CALL, pk, f"Call {pk} of {started_at:%Y-%m-%d} (deleted before; history)")
            )
    rows = RequestSubjectNumber.objects.filter(request=request).order_by("pk")
    for position, row in enumerate(rows, start=1):
        fingerprint = number_fingerprint(row.number)[:12]
        found.append((Kind.NUMBER, row.pk, f"Subject number {position} ({fingerprint}…)"))
    holds = LegalHoldNumber.objects.filter(tenant_id=tenant_id, number__in=numbers)
    for pk, hold_id in holds.values_list("pk", "hold_id"):
        found.append((Kind.HOLD_NUMBER, pk, f"Number named by legal hold #{hold_id}"))
    others = (
        DataSubjectRequest.objects.filter(
            tenant_id=tenant_id,
            pk__in=RequestSubjectNumber.objects.filter(
                tenant_id=tenant_id, number__in=numbers
            ).values("request_id"),
        )
        .exclude(pk=request.pk)
        .values_list("pk", "kind")
    )
    for pk, kind in others:
        found.append((Kind.REQUEST, pk, f"Request #{pk} ({kind})"))
    new = [
        ErasureItem(
            tenant_id=tenant_id, request=request, kind=kind, object_id=pk, label=label[:200]
        )
        for kind, pk, label in found
        if (kind, pk) not in known
    ]
    if new:
        from simple_history.utils import bulk_create_with_history

        bulk_create_with_history(new, ErasureItem, batch_size=500)
    return len(new)


def _erase(ctx: Context, item: ErasureItem) -> Outcome:
    if item.kind == Kind.CALL:
        return erase_call(ctx, item.object_id)
    if item.kind == Kind.NUMBER:
        row = RequestSubjectNumber.objects.filter(pk=item.object_id).first()
        if row is None:  # the request closed and dropped it: nothing left here
            return Outcome(erased=True)
        return erase_number_data(ctx, row.number)
    if item.kind == Kind.HOLD_NUMBER:
        return erase_hold_number(ctx, item.object_id)
    return erase_request_copy(ctx, item.object_id)


def item_process(item_id: int, ctx: Context, *, step: int) -> tuple[ErasureItem | None, Outcome]:
    """Erase or defer one item, in one transaction; the run's progress is marked with it."""
    from dsr.models import ErasureRun

    with transaction.atomic():
        item = ErasureItem.objects.select_for_update().filter(pk=item_id).first()
        if item is None or item.status == ErasureItem.Status.ERASED:
            return item, Outcome(erased=True)
        outcome = _erase(ctx, item)
        now = timezone.now()
        if outcome.erased:
            item.status = ErasureItem.Status.ERASED
            item.erased_at = now
            item.step = step
            item.counts = {k: v for k, v in outcome.counts.items() if v}
            item.storage_key_hashes = outcome.key_hashes
            item.file_deletions = outcome.file_deletions
            item._change_reason = ctx.note
        else:
            item.status = ErasureItem.Status.DEFERRED
            item.deferred_at = item.deferred_at or now
            item.blocker = outcome.blocker
            item.reason = outcome.reason
            item.legal_ground = outcome.ground
            item.release_expected_at = outcome.until
            item.holds = outcome.holds
            item._change_reason = f"deferred: {outcome.blocker}"
        item.save()
        # Sign of life for the stuck-work check (a plain UPDATE: progress is not history).
        ErasureRun.objects.filter(request_id=item.request_id).update(progress_at=now)
    return item, outcome
