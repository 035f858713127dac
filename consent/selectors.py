"""Reads of consent: the call-time check, the lawful basis at a time, the purpose gate, rates.

``consent_check`` is the hot path behind ``GET /api/v1/consent/check/``: one statement that
looks the answer up in the current-state table (``ConsentState``, written in the same
transaction as every ledger event) by its unique index, whatever the size of the ledger, with
the number's restrictions and objections and its suppression records (by its tombstone) in the
same statement.

``purpose_gate_violations`` is what the calls app asks when a call is stored for purposes.

How a question is answered (the same rules in both, ``_decide``):

* a restricted number (Art. 18) is never allowed — also after its erasure (suppression);
* a deactivated purpose is not processed for anyone any more;
* the latest ledger event decides: a withdrawal means "not allowed" (Art. 7(3)), and so does a
  withdrawal kept by the suppression list after the number's erasure, until a newer consent;
  a giving means "allowed on the event's basis", except:

  - a "consent" recorded from an IVR announcement only (before such events were refused) is
    no consent: silence is no affirmative act (Art. 4(11), Recital 32);
  - a special-category purpose (Art. 9) needs explicit consent (Art. 9(2)(a));

* with no event for the number, the purpose's default lawful basis decides: ``consent`` needs
  a recorded consent, so "not allowed"; any other basis is "allowed on that basis";
* an objection (Art. 21), also one kept after erasure, then stops the processing:

  - of a direct-marketing purpose always, whatever its basis (Art. 21(2)-(3));
  - on public task (6(1)(e)) or legitimate interests (6(1)(f)), unless the tenant recorded
    compelling legitimate grounds for the purpose (Art. 21(1)), which the answer shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.db.models import (
    Count,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
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
    Suppression,
)
from portal.errors import BusinessRuleError
from portal.models import Tenant
from portal.numbers import normalize_number
from portal.redaction import number_fingerprint

REASON_RESTRICTED = "Processing of this number is restricted (Art. 18): data is only stored."
REASON_RESTRICTED_KEPT = (
    "Processing of this number was restricted (Art. 18) when its data was erased; the "
    "restriction is kept in the suppression list (Art. 17(3)(b))."
)
REASON_OBJECTED = (
    "The subject objected (Art. 21(1)): processing on public task or legitimate interests "
    "stops, and the tenant records no compelling legitimate grounds for this purpose."
)
REASON_OBJECTED_MARKETING = (
    "The subject objected, and this purpose is direct marketing: the objection is absolute, "
    "whatever the basis (Art. 21(2)-(3))."
)
REASON_OBJECTION_OVERRIDDEN = (
    "The subject objected (Art. 21(1)), but the tenant records compelling legitimate grounds "
    "for this purpose that override it: "
)
REASON_KEPT_SUFFIX = " The objection was kept in the suppression list when the data was erased."
REASON_WITHDRAWN = "Consent was withdrawn (Art. 7(3))."
REASON_WITHDRAWN_KEPT = (
    "Consent was withdrawn (Art. 7(3)) before this number's data was erased; the withdrawal is "
    "kept in the suppression list (Art. 17(3)(b)) until the subject consents anew."
)
REASON_NO_CONSENT = "No consent is recorded for this number and purpose."
REASON_ANNOUNCEMENT = (
    "Announcement only, not consent: the latest record is an IVR announcement, and silence or "
    "staying on the line is no affirmative act (Art. 4(11), Recital 32). Record consent by a "
    "key press, a recorded verbal yes, a web form or a signed document."
)
REASON_NOT_EXPLICIT = (
    "This purpose processes special categories of data (Art. 9): it needs explicit consent "
    "(Art. 9(2)(a)) — a key press confirming the stated purpose, a recorded verbal statement or "
    "a signed statement — and the recorded consent is not explicit."
)
REASON_INACTIVE = "The purpose has been deactivated: nothing is processed for it any more."
REASON_RECORDED = "Lawful basis recorded in the consent ledger."
REASON_DEFAULT = "The purpose's default lawful basis (nothing recorded for this number)."

# Bases an objection reaches (Art. 21(1)): public task and legitimate interests.
OBJECTABLE_BASES = frozenset({LawfulBasis.PUBLIC_TASK, LawfulBasis.LEGITIMATE_INTERESTS})
ANNOUNCEMENT = ConsentEvent.Method.IVR_ANNOUNCEMENT
EXPLICIT_METHODS = frozenset(
    {
        ConsentEvent.Method.IVR_KEYPRESS,
        ConsentEvent.Method.VERBAL,
        ConsentEvent.Method.SIGNED_DOCUMENT,
    }
)


@dataclass(frozen=True)
class BasisAnswer:
    allowed: bool
    basis: str | None
    since: datetime | None
    event_id: int | None
    reason: str
    # What the answer rests on, for machines: e.g. "withdrawn", "announcement_only",
    # "objected", "objection_overridden", "suppressed_objection", "not_explicit".
    code: str = "recorded"
    compelling_grounds: str | None = None


@dataclass(frozen=True)
class Facts:
    """What one answer is decided on (fetched by the check's one statement, or by the gate)."""

    purpose_active: bool
    default_basis: str
    special_category: bool = False
    direct_marketing: bool = False
    compelling_grounds: str = ""
    restricted_since: datetime | None = None
    objected_since: datetime | None = None
    latest_action: str | None = None
    latest_basis: str | None = None
    latest_method: str | None = None
    latest_at: datetime | None = None
    latest_id: int | None = None
    # Suppression records kept by an erasure (by the number's tombstone).
    kept_restriction_since: datetime | None = None
    kept_objection_since: datetime | None = None
    kept_withdrawal_since: datetime | None = None


def _objection(facts: Facts, basis: str, since, event_id) -> BasisAnswer | None:
    """An objection's effect on processing allowed on ``basis`` (Art. 21), or None."""
    objected = facts.objected_since is not None
    kept = not objected and facts.kept_objection_since is not None
    if not (objected or kept):
        return None
    suffix = REASON_KEPT_SUFFIX if kept else ""
    prefix = "suppressed_" if kept else ""
    if facts.direct_marketing:
        reason = REASON_OBJECTED_MARKETING + suffix
        return BasisAnswer(False, None, None, event_id, reason, f"{prefix}objected_marketing")
    if basis not in OBJECTABLE_BASES:
        return None  # Art. 21(1) reaches public task and legitimate interests only
    grounds = (facts.compelling_grounds or "").strip()
    if grounds:
        reason = REASON_OBJECTION_OVERRIDDEN + grounds + suffix
        return BasisAnswer(True, basis, since, event_id, reason, "objection_overridden", grounds)
    return BasisAnswer(False, None, None, event_id, REASON_OBJECTED + suffix, f"{prefix}objected")


def _given(facts: Facts) -> BasisAnswer:
    """The answer when the latest event is a giving."""
    basis, at, event_id = facts.latest_basis, facts.latest_at, facts.latest_id
    if basis == LawfulBasis.CONSENT and facts.latest_method == ANNOUNCEMENT:
        return BasisAnswer(False, None, at, event_id, REASON_ANNOUNCEMENT, "announcement_only")
    explicit = facts.latest_method in EXPLICIT_METHODS
    if basis == LawfulBasis.CONSENT and facts.special_category and not explicit:
        return BasisAnswer(False, None, at, event_id, REASON_NOT_EXPLICIT, "not_explicit")
    return _objection(facts, basis, at, event_id) or BasisAnswer(
        True, basis, at, event_id, REASON_RECORDED, "recorded"
    )


def _decide(facts: Facts) -> BasisAnswer:
    """The rules above, on facts already fetched (the check and the gate share them)."""
    event_id = facts.latest_id
    if facts.restricted_since is not None:
        since = facts.restricted_since
        return BasisAnswer(False, None, since, event_id, REASON_RESTRICTED, "restricted")
    if facts.kept_restriction_since is not None:
        since = facts.kept_restriction_since
        reason, code = REASON_RESTRICTED_KEPT, "suppressed_restriction"
        return BasisAnswer(False, None, since, event_id, reason, code)
    if not facts.purpose_active:
        return BasisAnswer(False, None, None, event_id, REASON_INACTIVE, "inactive_purpose")
    withdrawn_kept = facts.kept_withdrawal_since
    if withdrawn_kept is not None and (facts.latest_at is None or facts.latest_at < withdrawn_kept):
        reason, code = REASON_WITHDRAWN_KEPT, "suppressed_withdrawal"
        return BasisAnswer(False, None, withdrawn_kept, None, reason, code)
    if facts.latest_action == ConsentEvent.Action.WITHDRAWN:
        return BasisAnswer(False, None, facts.latest_at, event_id, REASON_WITHDRAWN, "withdrawn")
    if facts.latest_action == ConsentEvent.Action.GIVEN:
        return _given(facts)
    if facts.default_basis == LawfulBasis.CONSENT:
        return BasisAnswer(False, None, None, None, REASON_NO_CONSENT, "no_consent")
    return _objection(facts, facts.default_basis, None, None) or BasisAnswer(
        True, facts.default_basis, None, None, REASON_DEFAULT, "default_basis"
    )


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


def _suppression_since(tenant_id: int, fingerprint: str, kind: str, *, by_purpose: bool):
    """The suppression record of ``kind`` for the tombstone (unique index on tenant,
    fingerprint, kind, purpose_code): a withdrawal of the outer purpose, or an objection or
    restriction of every purpose."""
    rows = Suppression.objects.filter(tenant_id=tenant_id, fingerprint=fingerprint, kind=kind)
    rows = rows.filter(purpose_code=OuterRef("code") if by_purpose else "")
    return Subquery(rows.order_by("since").values("since")[:1])


# The facts a check decides on, in the order ``_answer`` reads them.
CHECK_COLUMNS = (
    "is_active",
    "default_lawful_basis",
    "special_category",
    "direct_marketing",
    "compelling_grounds",
    "state__allowed",
    "state__lawful_basis",
    "state__since",
    "state__event_id",
    "state__event__method",
    "restricted_since",
    "objected_since",
    "kept_restriction_since",
    "kept_objection_since",
    "kept_withdrawal_since",
)


def _with_check_facts(
    purposes: QuerySet, *, tenant_id: int, number: str, fingerprint: str
) -> QuerySet:
    """``purposes`` with what the check needs for ``number``: the state row (LEFT JOIN on the
    state table's unique index tenant+number+purpose_code) and its event's method (by primary
    key), the number's active restriction and objection (index on tenant+number+kind), and the
    suppression records of its tombstone ``fingerprint`` (unique index)."""
    kinds = Suppression.Kind
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
        kept_restriction_since=_suppression_since(
            tenant_id, fingerprint, kinds.RESTRICTION, by_purpose=False
        ),
        kept_objection_since=_suppression_since(
            tenant_id, fingerprint, kinds.OBJECTION, by_purpose=False
        ),
        kept_withdrawal_since=_suppression_since(
            tenant_id, fingerprint, kinds.WITHDRAWAL, by_purpose=True
        ),
    ).order_by()


def consent_check_queryset(
    *, tenant_id: int, number: str, purpose_code: str, fingerprint: str | None = None
) -> QuerySet:
    """The check's single statement: the purpose (unique index on tenant+code) with its facts
    for the number (see ``_with_check_facts``)."""
    purposes = Purpose.objects.filter(tenant_id=tenant_id, code=purpose_code)
    if fingerprint is None:
        fingerprint = number_fingerprint(number)
    return _with_check_facts(
        purposes, tenant_id=tenant_id, number=number, fingerprint=fingerprint
    ).values(*CHECK_COLUMNS)


# Stand-ins for the four values of a check, swapped for the real ones in the compiled SQL.
_CHECK_PLACEHOLDERS = (
    -7_000_000_001,
    "\x00check-number\x00",
    "\x00check-purpose\x00",
    "\x00check-fingerprint\x00",
)
_CHECK_DATETIMES = (
    "state__since",
    "restricted_since",
    "objected_since",
    "kept_restriction_since",
    "kept_objection_since",
    "kept_withdrawal_since",
)
_CHECK_BOOLEANS = ("is_active", "state__allowed", "special_category", "direct_marketing")
_check_statements: dict[str, tuple[str, tuple]] = {}


def _check_statement(vendor: str) -> tuple[str, tuple]:
    """``consent_check_queryset`` compiled once per database engine: on the hot path, building
    and compiling the queryset costs several times more than running it."""
    statement = _check_statements.get(vendor)
    if statement is None:
        tenant_id, number, code, fingerprint = _CHECK_PLACEHOLDERS
        queryset = consent_check_queryset(
            tenant_id=tenant_id, number=number, purpose_code=code, fingerprint=fingerprint
        )
        statement = _check_statements[vendor] = queryset.query.sql_with_params()
    return statement


def _check_row(*, tenant_id: int, number: str, purpose_code: str) -> dict | None:
    """Run the check's one statement; the row as ``consent_check_queryset`` would give it."""
    sql, template = _check_statement(connection.vendor)
    real = (tenant_id, number, purpose_code, number_fingerprint(number))
    values = dict(zip(_CHECK_PLACEHOLDERS, real, strict=True))
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
    for name in _CHECK_BOOLEANS:
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
        Facts(
            purpose_active=bool(row["is_active"]),
            default_basis=row["default_lawful_basis"],
            special_category=bool(row["special_category"]),
            direct_marketing=bool(row["direct_marketing"]),
            compelling_grounds=row["compelling_grounds"] or "",
            restricted_since=row["restricted_since"],
            objected_since=row["objected_since"],
            latest_action=action,
            latest_basis=row["state__lawful_basis"],
            latest_method=row["state__event__method"],
            latest_at=row["state__since"],
            latest_id=row["state__event_id"],
            kept_restriction_since=row["kept_restriction_since"],
            kept_objection_since=row["kept_objection_since"],
            kept_withdrawal_since=row["kept_withdrawal_since"],
        )
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
            Purpose.objects.filter(tenant_id=tenant.pk),
            tenant_id=tenant.pk,
            number=e164,
            fingerprint=number_fingerprint(e164),
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
    ``at`` with the suppression records of the number's tombstone from before ``at``, and the
    number's ledger up to ``at`` (index on tenant, number, occurred_at). The ledger itself is
    read, not the current state, so that a call stored late is judged by the basis at its own
    time."""
    if not purposes:
        return []
    # Restrictions and objections in force at ``at``, and the suppression records of the
    # number's tombstone from before ``at``: one statement (UNION ALL).
    live = _active_restrictions(tenant_id, number, at).values_list(
        Value("live"), "kind", Value(""), "started_at"
    )
    kept_rows = Suppression.objects.filter(
        tenant_id=tenant_id, fingerprint=number_fingerprint(number), since__lte=at
    ).values_list(Value("kept"), "kind", "purpose_code", "since")
    since_by_kind: dict[str, datetime] = {}
    kept: dict[tuple[str, str], datetime] = {}
    for source, kind, code, since in live.order_by().union(kept_rows.order_by(), all=True):
        if isinstance(since, str):  # SQLite returns a union's timestamps as text
            since = parse_datetime(since)
        if since is not None and timezone.is_naive(since):
            since = since.replace(tzinfo=UTC)
        if source == "live":
            since_by_kind[kind] = min(since, since_by_kind.get(kind, since))
        else:
            kept[(kind, code)] = min(since, kept.get((kind, code), since))
    latest: dict[int, tuple] = {}
    events = (
        ConsentEvent.objects.filter(
            tenant_id=tenant_id,
            number=number,
            purpose__in=[p.pk for p in purposes],
            occurred_at__lte=at,
        )
        .order_by("-occurred_at", "-id")
        .values_list("purpose_id", "action", "lawful_basis", "method", "occurred_at", "id")
    )
    for purpose_id, *event in events:
        latest.setdefault(purpose_id, tuple(event))
    kinds = Suppression.Kind
    answers = []
    for purpose in purposes:
        action, basis, method, occurred_at, event_id = latest.get(purpose.pk, (None,) * 5)
        facts = Facts(
            purpose_active=purpose.is_active,
            default_basis=purpose.default_lawful_basis,
            special_category=purpose.special_category,
            direct_marketing=purpose.direct_marketing,
            compelling_grounds=purpose.compelling_grounds,
            restricted_since=since_by_kind.get(ProcessingRestriction.Kind.RESTRICTION),
            objected_since=since_by_kind.get(ProcessingRestriction.Kind.OBJECTION),
            latest_action=action,
            latest_basis=basis,
            latest_method=method,
            latest_at=occurred_at,
            latest_id=event_id,
            kept_restriction_since=kept.get((kinds.RESTRICTION, "")),
            kept_objection_since=kept.get((kinds.OBJECTION, "")),
            kept_withdrawal_since=kept.get((kinds.WITHDRAWAL, purpose.code)),
        )
        answers.append(_decide(facts))
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
