"""The call-time consent check and the purpose gate's selectors."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from consent import selectors, services
from consent.models import ConsentEvent, ConsentState, ProcessingRestriction
from portal.errors import BusinessRuleError
from tests.factories import PurposeFactory

pytestmark = pytest.mark.django_db

NUMBER = "+49301234567"


def check(tenant, purpose, number=NUMBER):
    return selectors.consent_check(tenant, number, purpose)


def test_no_record_on_a_consent_purpose_is_not_allowed(tenant_a, purposes_a):
    answer = check(tenant_a, "marketing")
    assert (answer.allowed, answer.basis, answer.event_id) == (False, None, None)
    assert "No consent" in answer.reason


@pytest.mark.parametrize(
    ("code", "basis"),
    [
        ("service_delivery", "contract"),
        ("complaint_handling", "legal_obligation"),
        ("quality_assurance", "legitimate_interests"),
    ],
)
def test_no_record_on_another_basis_is_allowed_on_the_default_basis(
    tenant_a, purposes_a, code, basis
):
    answer = check(tenant_a, code)
    assert (answer.allowed, answer.basis, answer.since, answer.event_id) == (
        True,
        basis,
        None,
        None,
    )
    assert "default lawful basis" in answer.reason


def test_given_then_withdrawn(give_kwargs, tenant_a):
    given = services.consent_give(**give_kwargs)
    answer = check(tenant_a, "marketing", "030 1234567")
    assert (answer.allowed, answer.basis, answer.since, answer.event_id) == (
        True,
        "consent",
        given.occurred_at,
        given.pk,
    )
    withdrawn = services.consent_withdraw(**{**give_kwargs, "occurred_at": None})
    answer = check(tenant_a, "marketing", "0049 30 1234567")
    assert (answer.allowed, answer.basis, answer.since, answer.event_id) == (
        False,
        None,
        withdrawn.occurred_at,
        withdrawn.pk,
    )
    assert "withdrawn" in answer.reason


def test_a_restricted_subject_is_never_allowed(give_kwargs, tenant_a):
    event = services.consent_give(**give_kwargs)
    restriction = services.processing_restriction_place(
        tenant=tenant_a, number=NUMBER, kind="restriction", request_id=7
    )
    for code in ("marketing", "service_delivery", "complaint_handling"):
        answer = check(tenant_a, code)
        assert answer.allowed is False and "restricted" in answer.reason, code
    assert check(tenant_a, "marketing").event_id == event.pk
    assert check(tenant_a, "marketing").since == restriction.started_at
    services.processing_restriction_lift(restriction=restriction, reason="Subject was told.")
    assert check(tenant_a, "marketing").allowed is True


def test_an_objection_stops_legitimate_interests_only(give_kwargs, tenant_a):
    services.consent_give(**give_kwargs)
    services.processing_restriction_place(tenant=tenant_a, number=NUMBER, kind="objection")
    assert check(tenant_a, "quality_assurance").allowed is False
    assert "objected" in check(tenant_a, "quality_assurance").reason
    assert check(tenant_a, "marketing").allowed is True
    assert check(tenant_a, "service_delivery").allowed is True


def test_a_deactivated_purpose_is_not_allowed(give_kwargs, tenant_a, purposes_a):
    services.consent_give(**give_kwargs)
    services.purpose_update(purpose=purposes_a["marketing"], is_active=False)
    answer = check(tenant_a, "marketing")
    assert answer.allowed is False and "deactivated" in answer.reason


def test_unknown_purpose_and_unreadable_number_name_their_field(tenant_a, purposes_a):
    with pytest.raises(BusinessRuleError) as exc:
        check(tenant_a, "newsletter")
    assert exc.value.field == "purpose"
    with pytest.raises(BusinessRuleError) as exc:
        check(tenant_a, "marketing", "call me maybe")
    assert exc.value.field == "number"


def test_another_tenants_consent_does_not_count(give_kwargs, tenant_a, tenant_b):
    services.consent_give(**give_kwargs)
    PurposeFactory(tenant=tenant_b, code="marketing", default_lawful_basis="consent")
    assert check(tenant_b, "marketing").allowed is False
    assert check(tenant_a, "marketing").allowed is True


def test_the_check_is_one_query_whatever_the_ledger_holds(
    give_kwargs, tenant_a, django_assert_num_queries
):
    start = timezone.now() - timedelta(days=25)
    for day in range(20):
        record = services.consent_give if day % 2 == 0 else services.consent_withdraw
        record(**{**give_kwargs, "occurred_at": start + timedelta(days=day)})
    services.processing_restriction_place(tenant=tenant_a, number=NUMBER, kind="objection")
    assert ConsentEvent.objects.count() == 20
    with django_assert_num_queries(1):
        answer = check(tenant_a, "marketing", "030 1234567")
    assert answer.allowed is False  # the last of the 20 was a withdrawal
    with django_assert_num_queries(1):
        assert check(tenant_a, "quality_assurance").allowed is False  # objection, same query
    with django_assert_num_queries(1):
        assert check(tenant_a, "service_delivery").allowed is True  # no state row at all


def bulk_ledger(tenant, purpose, notice, count):
    """``count`` other numbers with a consent for ``purpose`` (bulk: no history needed here)."""
    at = timezone.now() - timedelta(days=1)
    events = ConsentEvent.objects.bulk_create(
        ConsentEvent(
            tenant=tenant,
            number=f"+4940{n:07d}",
            purpose=purpose,
            lawful_basis="consent",
            action="given",
            method="web_form",
            notice=notice,
            occurred_at=at,
            source="api",
        )
        for n in range(count)
    )
    ConsentState.objects.bulk_create(
        ConsentState(
            tenant=tenant,
            number=e.number,
            purpose=purpose,
            purpose_code=purpose.code,
            allowed=True,
            lawful_basis="consent",
            since=at,
            event_id=e.pk,
        )
        for e in events
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN plans are PostgreSQL's")
def test_the_check_plan_uses_the_unique_indexes(give_kwargs, tenant_a, purposes_a, notice_a):
    bulk_ledger(tenant_a, purposes_a["marketing"], notice_a, 2000)
    services.consent_give(**give_kwargs)
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE consent_consentstate, consent_purpose, consent_processingrestriction"
        )
    plan = selectors.consent_check_queryset(
        tenant_id=tenant_a.pk, number=NUMBER, purpose_code="marketing"
    ).explain()
    # The state row is found by the unique index on all three of its columns; the purpose and
    # restriction tables are one page here, so the planner may read them whole.
    state_scan = plan.split("Index Scan using consent_state_unique on consent_consentstate")[1]
    index_cond = state_scan.splitlines()[1]
    assert "Index Cond" in index_cond, plan
    for column in ("tenant_id", "number", "purpose_code"):
        assert column in index_cond, plan
    assert "Seq Scan on consent_consentstate" not in plan, plan


# --- lawful basis at a time, and the purpose gate -----------------------------------------


def test_lawful_basis_at_a_past_time_reads_the_ledger(give_kwargs, tenant_a, purposes_a):
    now = timezone.now()
    given = services.consent_give(**{**give_kwargs, "occurred_at": now - timedelta(days=10)})
    services.consent_withdraw(**{**give_kwargs, "occurred_at": now - timedelta(days=2)})
    marketing = purposes_a["marketing"]
    then = selectors.lawful_basis_at(
        tenant_id=tenant_a.pk, number=NUMBER, purpose=marketing, at=now - timedelta(days=5)
    )
    assert then.allowed is True and then.event_id == given.pk
    before = selectors.lawful_basis_at(
        tenant_id=tenant_a.pk, number=NUMBER, purpose=marketing, at=now - timedelta(days=20)
    )
    assert before.allowed is False
    assert not selectors.lawful_basis_at(
        tenant_id=tenant_a.pk, number=NUMBER, purpose=marketing, at=now
    ).allowed


def test_gate_refuses_a_purpose_with_no_basis(give_kwargs, tenant_a, purposes_a):
    services.consent_give(**give_kwargs)  # marketing only
    at = timezone.now()
    wanted = [purposes_a[c] for c in ("marketing", "training", "service_delivery")]
    violations = selectors.purpose_gate_violations(
        tenant_id=tenant_a.pk, number=NUMBER, purposes=wanted, at=at
    )
    assert violations == [purposes_a["training"]]
    # A call from before the consent was given had no basis for marketing either.
    earlier = selectors.purpose_gate_violations(
        tenant_id=tenant_a.pk,
        number=NUMBER,
        purposes=wanted,
        at=give_kwargs["occurred_at"] - timedelta(hours=1),
    )
    assert earlier == [purposes_a["marketing"], purposes_a["training"]]


def test_gate_honours_restrictions_in_force_at_the_calls_time(give_kwargs, tenant_a, purposes_a):
    services.consent_give(**give_kwargs)
    restriction = ProcessingRestriction.objects.create(
        tenant=tenant_a,
        number=NUMBER,
        kind="restriction",
        started_at=timezone.now() - timedelta(minutes=2),
    )
    wanted = [purposes_a["marketing"], purposes_a["service_delivery"]]
    during = selectors.purpose_gate_violations(
        tenant_id=tenant_a.pk, number=NUMBER, purposes=wanted, at=timezone.now()
    )
    assert during == wanted
    services.processing_restriction_lift(restriction=restriction, reason="Told the subject.")
    after = selectors.purpose_gate_violations(
        tenant_id=tenant_a.pk, number=NUMBER, purposes=wanted, at=timezone.now()
    )
    assert after == []
    before = selectors.purpose_gate_violations(
        tenant_id=tenant_a.pk,
        number=NUMBER,
        purposes=wanted,
        at=timezone.now() - timedelta(minutes=3),
    )
    assert before == []


def test_gate_with_many_purposes_reads_a_fixed_number_of_rows(
    give_kwargs, tenant_a, purposes_a, django_assert_max_num_queries
):
    services.consent_give(**give_kwargs)
    with django_assert_max_num_queries(2):
        selectors.purpose_gate_violations(
            tenant_id=tenant_a.pk,
            number=NUMBER,
            purposes=list(purposes_a.values()),
            at=timezone.now(),
        )
