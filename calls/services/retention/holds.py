"""Legal holds: what is held at a moment, and placing and releasing holds.

A hold keeps calls whatever else asks for their deletion — an erasure request, the retention
sweep, the API's delete, the admin — until it is released or expires. Its scope is one of:

* ``calls``: the calls it names;
* ``numbers``: every call where one of a subject's numbers is caller or callee, including calls
  that arrive while the hold lasts;
* ``period``: every call of the tenant that started in ``[period_from, period_to)``.

``calls.services.call_deletion_blockers`` — the one guard in front of every deletion — asks
``holds_for_call``. Bulk work (the sweep, an erasure) loads a ``HoldsIndex`` once instead.

Releasing a hold sends ``calls.signals.hold_released`` after commit; the requests app listens and
resumes the erasures the hold deferred (so does its beat task ``erasure_deferred_sweep`` on an
expiry): they are erased automatically and their requests completed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from calls.models import Call, ErasureGround, LegalHold, LegalHoldCall, LegalHoldNumber
from calls.signals import hold_released
from portal.access import is_platform_account, is_platform_staff
from portal.errors import BusinessRuleError, NotPermitted
from portal.models import ApiKey, Tenant
from portal.numbers import normalize_number
from portal.services import full_clean_or_raise
from portal.validators import MAX_PERIOD_DAYS, latest_timestamp

Category = LegalHold.Category
Scope = LegalHold.Scope

# The Art. 17(3) exception a category relies on unless another is named.
DEFAULT_GROUNDS: dict[str, str] = {
    Category.LITIGATION: ErasureGround.LEGAL_CLAIMS,
    Category.STATUTE_OF_LIMITATIONS: ErasureGround.LEGAL_CLAIMS,
    Category.REGULATOR: ErasureGround.LEGAL_OBLIGATION,
}
MAX_HOLD_CALLS = 10_000
MAX_HOLD_NUMBERS = 50


# ---------------------------------------------------------------------------------------------
# Reads


def _in_force(at: datetime) -> Q:
    return (
        Q(starts_at__lte=at)
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        & (Q(released_at__isnull=True) | Q(released_at__gt=at))
    )


def active_holds(*, at: datetime | None = None, queryset: QuerySet | None = None) -> QuerySet:
    """Holds in force at ``at``: started, not expired, not released."""
    queryset = LegalHold.objects.all() if queryset is None else queryset
    return queryset.filter(_in_force(at or timezone.now()))


def _covers(queryset: QuerySet, *, call_id: int, numbers: Iterable[str], started_at) -> QuerySet:
    """Holds of ``queryset`` whose scope takes in a call (by id, numbers and start)."""
    numbers = [n for n in numbers if n]
    by_call = LegalHoldCall.objects.filter(call_id=call_id).values("hold_id")
    by_number = LegalHoldNumber.objects.filter(number__in=numbers).values("hold_id")
    in_period = Q(scope=Scope.PERIOD, period_from__lte=started_at) & (
        Q(period_to__isnull=True) | Q(period_to__gt=started_at)
    )
    return queryset.filter(
        Q(scope=Scope.CALLS, pk__in=by_call) | Q(scope=Scope.NUMBERS, pk__in=by_number) | in_period
    )


@dataclass
class HoldsIndex:
    """The holds in force at one moment, to check many calls without a query each."""

    at: datetime
    holds: dict[int, LegalHold] = field(default_factory=dict)
    by_call: dict[int, set[int]] = field(default_factory=dict)  # call id -> hold ids
    by_number: dict[tuple[int, str], set[int]] = field(default_factory=dict)
    periods: dict[int, list[LegalHold]] = field(default_factory=dict)  # tenant -> holds

    def for_call(self, call: Call) -> list[LegalHold]:
        ids = set(self.by_call.get(call.pk, ()))
        for number in (call.caller, call.callee):
            ids |= self.by_number.get((call.tenant_id, number), set())
        found = [self.holds[i] for i in ids]
        for hold in self.periods.get(call.tenant_id, ()):
            if hold.period_from <= call.started_at and (
                hold.period_to is None or call.started_at < hold.period_to
            ):
                found.append(hold)
        return sorted(found, key=lambda h: h.pk)


def holds_index(
    *, at: datetime | None = None, tenant_ids: Iterable[int] | None = None
) -> HoldsIndex:
    at = at or timezone.now()
    queryset = active_holds(at=at)
    if tenant_ids is not None:
        queryset = queryset.filter(tenant_id__in=list(tenant_ids))
    index = HoldsIndex(at=at, holds={hold.pk: hold for hold in queryset})
    ids = list(index.holds)
    for hold in index.holds.values():
        if hold.scope == Scope.PERIOD:
            index.periods.setdefault(hold.tenant_id, []).append(hold)
    links = LegalHoldCall.objects.filter(hold_id__in=ids).values_list("call_id", "hold_id")
    for call_id, hold_id in links.iterator():
        index.by_call.setdefault(call_id, set()).add(hold_id)
    numbers = LegalHoldNumber.objects.filter(hold_id__in=ids).values_list(
        "tenant_id", "number", "hold_id"
    )
    for tenant_id, number, hold_id in numbers:
        index.by_number.setdefault((tenant_id, number), set()).add(hold_id)
    return index


def holds_for_call(
    call: Call, *, at: datetime | None = None, index: HoldsIndex | None = None
) -> list[LegalHold]:
    """The holds that keep ``call`` (empty: not held): those in force now, and at ``at`` when
    a deletion is judged for another moment (a sweep's start, a dry run) — a hold placed while
    a long sweep runs still counts."""
    if index is not None:
        return index.for_call(call)
    now = timezone.now()
    moments = _in_force(now) if at is None else _in_force(now) | _in_force(at)
    queryset = LegalHold.objects.filter(moments, tenant_id=call.tenant_id)
    covering = _covers(
        queryset, call_id=call.pk, numbers=(call.caller, call.callee), started_at=call.started_at
    )
    return list(covering.order_by("pk"))


def call_is_held(call: Call, *, at: datetime | None = None) -> bool:
    return bool(holds_for_call(call, at=at))


def held_calls(hold: LegalHold) -> QuerySet[Call]:
    """The calls (still stored) that a hold's scope takes in."""
    calls = Call.objects.for_tenant(hold.tenant_id)
    if hold.scope == Scope.CALLS:
        return calls.filter(pk__in=hold.call_links.values("call_id"))
    if hold.scope == Scope.NUMBERS:
        numbers = list(hold.numbers.values_list("number", flat=True))
        return calls.filter(Q(caller__in=numbers) | Q(callee__in=numbers))
    calls = calls.filter(started_at__gte=hold.period_from)
    if hold.period_to is not None:
        calls = calls.filter(started_at__lt=hold.period_to)
    return calls


def holds_expiring(queryset: QuerySet, *, within: timedelta, at: datetime | None = None):
    """Holds in force that expire within ``within``: the DPO decides whether to extend."""
    at = at or timezone.now()
    return active_holds(at=at, queryset=queryset).filter(expires_at__lte=at + within)


# ---------------------------------------------------------------------------------------------
# Writes


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise BusinessRuleError(
            "Say why the data must be kept (the case, the claim or the authority).", field="reason"
        )
    return reason


def _ground(category: str, ground: str | None) -> str:
    if category not in Category.values:
        raise BusinessRuleError(
            f"Unknown reason category {category!r}: use one of {', '.join(Category.values)}.",
            code="invalid_choice",
            field="reason_category",
        )
    ground = ground or DEFAULT_GROUNDS.get(category)
    if not ground:
        raise BusinessRuleError(
            "Name the Art. 17(3) ground the hold relies on.", field="legal_ground"
        )
    if ground not in ErasureGround.values:
        raise BusinessRuleError(
            f"Unknown ground {ground!r}: use one of {', '.join(ErasureGround.values)}.",
            code="invalid_choice",
            field="legal_ground",
        )
    return ground


def _scope(
    *,
    tenant: Tenant,
    calls: Iterable | None,
    numbers: Iterable[str] | None,
    period_from: datetime | None,
    period_to: datetime | None,
) -> tuple[str, list[int], list[str]]:
    given = [
        name
        for name, value in (("calls", calls), ("numbers", numbers))
        if value is not None and value != []
    ]
    if period_from is not None or period_to is not None:
        given.append("from")
    if len(given) != 1:
        message = (
            "Give exactly one scope: calls (a list of call ids), numbers (a subject's numbers), "
            "or from/to (the tenant's calls in a period)."
        )
        fields = {name: [message] for name in given} or {"calls": [message]}
        raise BusinessRuleError(message, code="scope", fields=fields)
    scope = {"calls": Scope.CALLS, "numbers": Scope.NUMBERS, "from": Scope.PERIOD}[given[0]]
    if scope == Scope.CALLS:
        ids = sorted({getattr(c, "pk", c) for c in calls})
        if len(ids) > MAX_HOLD_CALLS:
            raise BusinessRuleError(
                f"At most {MAX_HOLD_CALLS} calls per hold: use a period or numbers.", field="calls"
            )
        found = set(Call.objects.for_tenant(tenant).filter(pk__in=ids).values_list("pk", flat=True))
        missing = [i for i in ids if i not in found]
        if missing:  # the same answer for a missing call and another tenant's call
            raise BusinessRuleError(
                f"No call {', '.join(map(str, missing[:10]))} in this tenant.",
                code="not_found",
                field="calls",
            )
        return scope, ids, []
    if scope == Scope.NUMBERS:
        if isinstance(numbers, str):
            numbers = [numbers]
        numbers = list(numbers)
        if len(numbers) > MAX_HOLD_NUMBERS:
            raise BusinessRuleError(f"At most {MAX_HOLD_NUMBERS} numbers.", field="numbers")
        normalised: list[str] = []
        for index, raw in enumerate(numbers):
            e164 = normalize_number(raw, country=tenant.country, field=f"numbers.{index}")
            if e164 not in normalised:
                normalised.append(e164)
        return scope, [], normalised
    if period_from is None:
        raise BusinessRuleError("Give the start of the period (from).", field="from")
    if period_to is not None and period_to <= period_from:
        raise BusinessRuleError("The period must end after it starts.", field="to")
    return scope, [], []


@transaction.atomic
def hold_apply(
    *,
    tenant: Tenant,
    reason_category: str,
    reason: str,
    legal_ground: str | None = None,
    calls: Iterable | None = None,
    numbers: Iterable[str] | None = None,
    period_from: datetime | None = None,
    period_to: datetime | None = None,
    expires_at: datetime | None = None,
    by=None,
    api_key: ApiKey | None = None,
) -> LegalHold:
    """Place a hold (DPO in the admin, or the tenant by API or dashboard); in force at once."""
    ground = _ground(reason_category, legal_ground)
    reason = _reason(reason)
    scope, call_ids, e164s = _scope(
        tenant=tenant, calls=calls, numbers=numbers, period_from=period_from, period_to=period_to
    )
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise BusinessRuleError("expires_at must be in the future.", field="expires_at")
    if expires_at is not None and expires_at > latest_timestamp(now):
        raise BusinessRuleError(
            f"A hold lasts at most {MAX_PERIOD_DAYS} days (100 years); leave expires_at empty "
            "for a hold until released.",
            field="expires_at",
        )
    by = by if getattr(by, "pk", None) else None
    hold = LegalHold(
        tenant=tenant,
        reason_category=reason_category,
        legal_ground=ground,
        reason=reason,
        scope=scope,
        period_from=period_from if scope == Scope.PERIOD else None,
        period_to=period_to if scope == Scope.PERIOD else None,
        starts_at=now,
        applied_at=now,
        expires_at=expires_at,
        applied_by=by,
        applied_by_api_key=api_key,
    )
    full_clean_or_raise(hold, exclude=["tenant", "applied_by", "applied_by_api_key"])
    if by is not None:
        hold._history_user = by
    hold._change_reason = "hold applied"
    hold.save()
    for call_id in call_ids:  # per row: the history of what a hold covered is evidence
        LegalHoldCall.objects.create(tenant=tenant, hold=hold, call_id=call_id)
    for number in e164s:
        LegalHoldNumber.objects.create(tenant=tenant, hold=hold, number=number)
    return hold


def hold_placed_by_platform(hold: LegalHold) -> bool:
    """Whether the platform's staff (the DPO, support) placed the hold, not the tenant."""
    return hold.applied_by_api_key_id is None and is_platform_account(hold.applied_by)


def hold_placed_by(hold: LegalHold) -> str:
    """Who placed the hold, as the tenant reads it."""
    if hold_placed_by_platform(hold):
        return f"the platform's staff ({hold.applied_by.get_username()})"
    if hold.applied_by_api_key is not None:
        return f"API key {hold.applied_by_api_key.prefix}…"
    return hold.applied_by.get_username() if hold.applied_by else "—"


def hold_releasable_by(hold: LegalHold, *, by=None, api_key: ApiKey | None = None) -> bool:
    """A hold the platform's staff placed is released only by them; the tenant releases the
    holds it placed. (The platform keeps data on a legal ground of its own — Art. 17(3)(b),
    (e) — that the controller's instruction does not lift: Art. 28(3)(a), 29.)"""
    if not hold_placed_by_platform(hold):
        return True
    return api_key is None and is_platform_staff(by)


@transaction.atomic
def hold_release(*, hold: LegalHold, reason: str, by=None, api_key: ApiKey | None = None):
    """Release a hold, with the reason; the erasures it deferred resume after commit.

    A hold placed by the platform's staff is released only by them (``hold_releasable_by``)."""
    if not hold_releasable_by(hold, by=by, api_key=api_key):
        raise NotPermitted(
            f"{hold} was placed by the platform's staff: only they can release it.",
            code="hold_placed_by_platform",
        )
    reason = (reason or "").strip()
    if not reason:
        raise BusinessRuleError("Say why the hold is released.", field="reason")
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    now = timezone.now()
    state = hold.state(now)
    if state in ("released", "expired"):
        raise BusinessRuleError(
            f"{hold} has {state} already ({(hold.released_at or hold.expires_at):%Y-%m-%d}).",
            code=f"already_{state}",
            status_code=409,  # the hold's state, not the request, is the problem
        )
    by = by if getattr(by, "pk", None) else None
    hold.released_at = now
    hold.released_by = by
    hold.released_by_api_key = api_key
    hold.release_reason = reason
    if by is not None:
        hold._history_user = by
    hold._change_reason = "hold released"
    hold.save()

    def announce() -> None:
        hold_released.send(sender=LegalHold, hold=hold)

    transaction.on_commit(announce, robust=True)
    return hold
