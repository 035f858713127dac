"""Reads of consent: the call-time check, the lawful basis at a time, the purpose gate, rates.

``consent_check`` is the hot path behind ``GET /api/v1/consent/check/``: one statement that
looks the answer up in the current-state table (``ConsentState``, written in the same
transaction as every ledger event) by its unique index, whatever the size of the ledger.

``purpose_gate_violations`` is what the calls app asks when a call is stored for purposes.

How a question is answered (the same rules in both):

* a restricted number (Art. 18) is never allowed;
* a deactivated purpose is not processed for anyone any more;
* otherwise the latest ledger event decides: a withdrawal means "not allowed"; a giving means
  "allowed on the event's basis", except that an objection (Art. 21) stops a
  legitimate-interests basis;
* with no event for the number, the purpose's default lawful basis decides: ``consent`` needs
  a recorded consent, so "not allowed"; any other basis (contract, legal obligation, legitimate
  interests…) is "allowed on that basis" — unless it is legitimate interests and the subject
  objected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Count, F, FilteredRelation, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from consent.models import (
    ConsentEvent,
    ConsentState,
    LawfulBasis,
    PrivacyNotice,
    ProcessingRestriction,
    Purpose,
    SmsNotice,
)
from portal.errors import BusinessRuleError
from portal.models import Tenant
from portal.numbers import normalize_number

REASON_RESTRICTED = "Processing of this number is restricted (Art. 18): data is only stored."
REASON_OBJECTED = "The subject objected to processing on legitimate interests (Art. 21)."
REASON_WITHDRAWN = "Consent was withdrawn (Art. 7(3))."
REASON_NO_CONSENT = "No consent is recorded for this number and purpose."
REASON_INACTIVE = "The purpose has been deactivated: nothing is processed for it any more."
REASON_RECORDED = "Lawful basis recorded in the consent ledger."
REASON_DEFAULT = "The purpose's default lawful basis (nothing recorded for this number)."


@dataclass(frozen=True)
class BasisAnswer:
    allowed: bool
    basis: str | None
    since: datetime | None
    event_id: int | None
    reason: str


def _decide(
    *,
    purpose_active: bool,
    default_basis: str,
    restricted_since: datetime | None,
    objected: bool,
    latest_action: str | None,
    latest_basis: str | None,
    latest_at: datetime | None,
    latest_id: int | None,
) -> BasisAnswer:
    """The rules above, on facts already fetched (the check and the gate share them)."""
    if restricted_since is not None:
        return BasisAnswer(False, None, restricted_since, latest_id, REASON_RESTRICTED)
    if not purpose_active:
        return BasisAnswer(False, None, None, latest_id, REASON_INACTIVE)
    if latest_action == ConsentEvent.Action.WITHDRAWN:
        return BasisAnswer(False, None, latest_at, latest_id, REASON_WITHDRAWN)
    if latest_action == ConsentEvent.Action.GIVEN:
        if latest_basis == LawfulBasis.LEGITIMATE_INTERESTS and objected:
            return BasisAnswer(False, None, None, latest_id, REASON_OBJECTED)
        return BasisAnswer(True, latest_basis, latest_at, latest_id, REASON_RECORDED)
    if default_basis == LawfulBasis.CONSENT:
        return BasisAnswer(False, None, None, None, REASON_NO_CONSENT)
    if default_basis == LawfulBasis.LEGITIMATE_INTERESTS and objected:
        return BasisAnswer(False, None, None, None, REASON_OBJECTED)
    return BasisAnswer(True, default_basis, None, None, REASON_DEFAULT)


def _active_restrictions(tenant_id: int, number: str, at: datetime | None) -> QuerySet:
    queryset = ProcessingRestriction.objects.filter(tenant_id=tenant_id, number=number)
    if at is None:
        return queryset.filter(lifted_at__isnull=True)
    return queryset.filter(started_at__lte=at).filter(
        Q(lifted_at__isnull=True) | Q(lifted_at__gt=at)
    )


def _restriction_since(tenant_id: int, number: str, kind: str) -> Subquery:
    return Subquery(
        _active_restrictions(tenant_id, number, None)
        .filter(kind=kind)
        .order_by("started_at")
        .values("started_at")[:1]
    )


# The facts a check decides on, in the order ``_answer`` reads them.
CHECK_COLUMNS = (
    "is_active",
    "default_lawful_basis",
    "state__allowed",
    "state__lawful_basis",
    "state__since",
    "state__event_id",
    "restricted_since",
    "objected_since",
)


def _with_check_facts(purposes: QuerySet, *, tenant_id: int, number: str) -> QuerySet:
    """``purposes`` with what the check needs for ``number``: the state row (LEFT JOIN on the
    state table's unique index tenant+number+purpose_code) and the number's active restriction
    and objection (index on tenant+number+kind)."""
    return purposes.annotate(
        state=FilteredRelation(
            "states",
            condition=Q(
                states__tenant_id=F("tenant_id"),
                states__number=number,
                states__purpose_code=F("code"),
            ),
        ),
        restricted_since=_restriction_since(
            tenant_id, number, ProcessingRestriction.Kind.RESTRICTION
        ),
        objected_since=_restriction_since(tenant_id, number, ProcessingRestriction.Kind.OBJECTION),
    ).order_by()


def consent_check_queryset(*, tenant_id: int, number: str, purpose_code: str) -> QuerySet:
    """The check's single statement: the purpose (unique index on tenant+code) with its facts
    for the number (see ``_with_check_facts``)."""
    purposes = Purpose.objects.filter(tenant_id=tenant_id, code=purpose_code)
    return _with_check_facts(purposes, tenant_id=tenant_id, number=number).values(*CHECK_COLUMNS)


# Stand-ins for the three values of a check, swapped for the real ones in the compiled SQL.
_CHECK_PLACEHOLDERS = (-7_000_000_001, "\x00check-number\x00", "\x00check-purpose\x00")
_CHECK_DATETIMES = ("state__since", "restricted_since", "objected_since")
_check_statements: dict[str, tuple[str, tuple]] = {}


def _check_statement(vendor: str) -> tuple[str, tuple]:
    """``consent_check_queryset`` compiled once per database engine: on the hot path, building
    and compiling the queryset costs several times more than running it."""
    statement = _check_statements.get(vendor)
    if statement is None:
        tenant_id, number, code = _CHECK_PLACEHOLDERS
        queryset = consent_check_queryset(tenant_id=tenant_id, number=number, purpose_code=code)
        statement = _check_statements[vendor] = queryset.query.sql_with_params()
    return statement


def _check_row(*, tenant_id: int, number: str, purpose_code: str) -> dict | None:
    """Run the check's one statement; the row as ``consent_check_queryset`` would give it."""
    sql, template = _check_statement(connection.vendor)
    values = dict(zip(_CHECK_PLACEHOLDERS, (tenant_id, number, purpose_code), strict=True))
    params = [values.get(p, p) if isinstance(p, (int, str)) else p for p in template]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        names = [column[0] for column in cursor.description]
    if row is None:
        return None
    data = dict(zip(names, row, strict=True))
    # PostgreSQL returns Python types; SQLite returns 0/1 and naive UTC timestamps (as text
    # from a subquery).
    for name in ("is_active", "state__allowed"):
        if data[name] is not None:
            data[name] = bool(data[name])
    for name in _CHECK_DATETIMES:
        value = data[name]
        if isinstance(value, str):
            value = parse_datetime(value)
        if value is not None and timezone.is_naive(value):
            value = value.replace(tzinfo=UTC)
        data[name] = value
    return data


def consent_check(tenant: Tenant, number: str, purpose_code: str) -> BasisAnswer:
    """May ``number`` be processed for the purpose ``purpose_code`` now, on which basis?

    One database query. Raises ``BusinessRuleError`` naming ``number`` (unreadable number) or
    ``purpose`` (no such purpose in this tenant).
    """
    e164 = normalize_number(number, country=tenant.country, field="number")
    code = (purpose_code or "").strip().lower()
    if not code:
        raise BusinessRuleError("Name the purpose to check.", code="required", field="purpose")
    row = _check_row(tenant_id=tenant.pk, number=e164, purpose_code=code)
    if row is None:
        raise BusinessRuleError(
            f"The tenant has not defined a purpose {code!r}.",
            code="unknown_purpose",
            field="purpose",
        )
    return _answer(row)


def _answer(row: dict) -> BasisAnswer:
    """The answer from a row of ``CHECK_COLUMNS`` (the check and the subject page share it)."""
    # A state row holds the latest event: ``allowed`` means a giving, else a withdrawal.
    if row["state__event_id"] is not None:
        action = (
            ConsentEvent.Action.GIVEN if row["state__allowed"] else ConsentEvent.Action.WITHDRAWN
        )
    else:
        action = None
    return _decide(
        purpose_active=row["is_active"],
        default_basis=row["default_lawful_basis"],
        restricted_since=row["restricted_since"],
        objected=row["objected_since"] is not None,
        latest_action=action,
        latest_basis=row["state__lawful_basis"],
        latest_at=row["state__since"],
        latest_id=row["state__event_id"],
    )


@dataclass(frozen=True)
class PurposeAnswer:
    """One purpose and the consent check's answer for it (``consent_check_all``)."""

    purpose_id: int
    code: str
    description: str
    is_active: bool
    answer: BasisAnswer
    # The latest event is a consent given: a withdrawal would end it (it may be in force while
    # the answer is "not allowed", e.g. during a restriction or for a deactivated purpose).
    consent_given: bool


def consent_check_all(tenant: Tenant, number: str) -> list[PurposeAnswer]:
    """``consent_check`` for every purpose of the tenant, by code, in one query: the same
    facts (``_with_check_facts``) and the same decision (``_answer``) for each purpose.

    Raises ``BusinessRuleError`` naming ``number`` for an unreadable number.
    """
    e164 = normalize_number(number, country=tenant.country, field="number")
    rows = (
        _with_check_facts(
            Purpose.objects.filter(tenant_id=tenant.pk), tenant_id=tenant.pk, number=e164
        )
        .order_by("code")
        .values("pk", "code", "description", *CHECK_COLUMNS)
    )
    return [
        PurposeAnswer(
            purpose_id=row["pk"],
            code=row["code"],
            description=row["description"],
            is_active=row["is_active"],
            answer=_answer(row),
            consent_given=bool(row["state__allowed"])
            and row["state__lawful_basis"] == LawfulBasis.CONSENT,
        )
        for row in rows
    ]


def consent_given_state(
    *, tenant: Tenant, number: str, purpose_code: str, for_update: bool = False
) -> ConsentState | None:
    """The current state of (``number`` in E.164, purpose) if its latest event is a consent
    given — the consent a withdrawal would end — else None. ``for_update`` locks the row until
    the end of the transaction (the ledger's services lock the same row)."""
    states = ConsentState.objects.for_tenant(tenant)
    if for_update:
        states = states.select_for_update()
    return states.filter(
        number=number, purpose_code=purpose_code, allowed=True, lawful_basis=LawfulBasis.CONSENT
    ).first()


def lawful_basis_at(*, tenant_id: int, number: str, purpose: Purpose, at: datetime) -> BasisAnswer:
    """Whether ``number`` may be processed for ``purpose`` at ``at``, and on which basis.

    The latest ledger event at or before ``at`` decides (or, with none, the purpose's default
    basis); restrictions and objections in force at ``at`` are honoured.
    """
    return _bases_at(tenant_id=tenant_id, number=number, purposes=[purpose], at=at)[0]


def _bases_at(
    *, tenant_id: int, number: str, purposes: list[Purpose], at: datetime
) -> list[BasisAnswer]:
    """``lawful_basis_at`` for several purposes in two queries: the restrictions in force at
    ``at``, and the number's ledger up to ``at`` (index on tenant, number, occurred_at). The
    ledger itself is read, not the current state, so that a call stored late is judged by the
    basis at its own time."""
    if not purposes:
        return []
    since_by_kind: dict[str, datetime] = {}
    for kind, started_at in _active_restrictions(tenant_id, number, at).values_list(
        "kind", "started_at"
    ):
        since_by_kind[kind] = min(started_at, since_by_kind.get(kind, started_at))
    latest: dict[int, tuple] = {}
    events = (
        ConsentEvent.objects.filter(
            tenant_id=tenant_id,
            number=number,
            purpose__in=[p.pk for p in purposes],
            occurred_at__lte=at,
        )
        .order_by("-occurred_at", "-id")
        .values_list("purpose_id", "action", "lawful_basis", "occurred_at", "id")
    )
    for purpose_id, *event in events:
        latest.setdefault(purpose_id, tuple(event))
    answers = []
    for purpose in purposes:
        action, basis, occurred_at, event_id = latest.get(purpose.pk, (None, None, None, None))
        answers.append(
            _decide(
                purpose_active=purpose.is_active,
                default_basis=purpose.default_lawful_basis,
                restricted_since=since_by_kind.get(ProcessingRestriction.Kind.RESTRICTION),
                objected=ProcessingRestriction.Kind.OBJECTION in since_by_kind,
                latest_action=action,
                latest_basis=basis,
                latest_at=occurred_at,
                latest_id=event_id,
            )
        )
    return answers


def purpose_gate_violations(
    *, tenant_id: int, number: str, purposes: list[Purpose], at: datetime
) -> list[Purpose]:
    """The purposes among ``purposes`` for which ``number`` has no valid basis at ``at``."""
    purposes = list(purposes)
    answers = _bases_at(tenant_id=tenant_id, number=number, purposes=purposes, at=at)
    return [
        purpose for purpose, answer in zip(purposes, answers, strict=True) if not answer.allowed
    ]


def consent_history(*, tenant: Tenant, number: str | None = None) -> QuerySet:
    """The tenant's ledger, newest first; for one number (any written form) when given."""
    queryset = ConsentEvent.objects.for_tenant(tenant).select_related(
        "purpose", "notice", "recorded_by", "recorded_by_api_key"
    )
    if number is not None:
        queryset = queryset.filter(number=normalize_number(number, country=tenant.country))
    return queryset


def purpose_in_use(purpose: Purpose) -> bool:
    """A purpose named by any ledger event or call cannot be deleted, only deactivated."""
    return ConsentEvent.objects.filter(purpose=purpose).exists() or purpose.calls.exists()


def notice_in_use(notice: PrivacyNotice) -> bool:
    """A notice named by a ledger event or a sent SMS was shown to subjects: it is evidence."""
    return (
        ConsentEvent.objects.filter(notice=notice).exists()
        or SmsNotice.objects.filter(notice=notice).exists()
    )


def notice_in_effect(tenant: Tenant, at: datetime | None = None) -> PrivacyNotice | None:
    """The privacy-notice version in effect at ``at`` (now by default)."""
    return (
        PrivacyNotice.objects.for_tenant(tenant)
        .filter(effective_from__lte=at or timezone.now())
        .order_by("-effective_from", "-id")
        .first()
    )


@dataclass(frozen=True)
class PurposeRate:
    purpose: Purpose
    allowed: int  # numbers whose latest event allows processing (restricted numbers excluded)
    total: int  # numbers with any event for the purpose

    @property
    def percent(self) -> float | None:
        return round(100 * self.allowed / self.total, 1) if self.total else None


def consent_rates(
    *, tenant: Tenant, purposes: Iterable[Purpose] | None = None
) -> list[PurposeRate]:
    """Per purpose: numbers currently allowed vs. numbers with a recorded state.

    Two grouped queries that stay cheap on a big state table: the counts per purpose and
    answer (an index-only scan of ``consent_state_rate``), then the allowed states of the
    numbers under a restriction — few — which are taken off the allowed count (a restricted
    number is never allowed, Art. 18)."""
    counts: dict[str, dict[str, int]] = {}
    for row in (
        ConsentState.objects.filter(tenant_id=tenant.pk)
        .order_by()
        .values("purpose_code", "allowed")
        .annotate(n=Count("*"))
    ):
        figures = counts.setdefault(row["purpose_code"], {"total": 0, "allowed": 0})
        figures["total"] += row["n"]
        figures["allowed"] += row["n"] if row["allowed"] else 0
    restricted = ProcessingRestriction.objects.filter(
        tenant_id=tenant.pk, kind=ProcessingRestriction.Kind.RESTRICTION, lifted_at__isnull=True
    ).values("number")
    for row in (
        ConsentState.objects.filter(tenant_id=tenant.pk, allowed=True, number__in=restricted)
        .order_by()
        .values("purpose_code")
        .annotate(n=Count("*"))
    ):
        counts[row["purpose_code"]]["allowed"] -= row["n"]
    if purposes is None:
        purposes = Purpose.objects.for_tenant(tenant).order_by("code")
    return [
        PurposeRate(
            purpose=purpose,
            allowed=counts.get(purpose.code, {}).get("allowed", 0),
            total=counts.get(purpose.code, {}).get("total", 0),
        )
        for purpose in purposes
    ]
