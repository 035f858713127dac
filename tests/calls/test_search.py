"""Finding calls: by number written in any format, by date range, purpose, category, direction."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls import selectors
from tests.calls.conftest import media_rows
from tests.factories import CallFactory, PurposeFactory

pytestmark = pytest.mark.django_db


def _ids(response):
    assert response.status_code == 200, response.content
    return {c["id"] for c in response.json()["results"]}


@pytest.mark.parametrize(
    "written", ["+49 30 1234567", "030 1234567", "0049301234567", "+49-30-123 45 67"]
)
def test_a_number_in_any_format_finds_the_calls_as_caller_or_callee(api_a, tenant_a, written):
    as_caller = CallFactory(tenant=tenant_a, caller="+49301234567")
    as_callee = CallFactory(tenant=tenant_a, direction="outbound", callee="+49301234567")
    CallFactory(tenant=tenant_a, caller="+49301234568")
    assert _ids(api_a.get("/api/v1/calls/", {"number": written})) == {as_caller.pk, as_callee.pk}


def test_a_national_number_is_read_in_the_tenants_country(api_b, tenant_b):
    # Tenant B is in Ireland: "01 234 5678" is a Dublin number there.
    dublin = CallFactory(tenant=tenant_b, caller="+35312345678")
    assert _ids(api_b.get("/api/v1/calls/", {"number": "01 234 5678"})) == {dublin.pk}


def test_an_unreadable_number_is_a_400_naming_number(api_a):
    response = api_a.get("/api/v1/calls/", {"number": "call me maybe"})
    assert response.status_code == 400
    assert "number" in response.json()["error"]["fields"]


def test_filters_by_date_range_purpose_category_and_direction(api_a, tenant_a):
    now = timezone.now()
    marketing = PurposeFactory(tenant=tenant_a, code="marketing")
    old = CallFactory(tenant=tenant_a, started_at=now - timedelta(days=40), category="sales")
    old.purposes.add(marketing)
    new = CallFactory(tenant=tenant_a, started_at=now - timedelta(days=2), direction="outbound")
    assert _ids(api_a.get("/api/v1/calls/", {"purpose": "marketing"})) == {old.pk}
    assert _ids(api_a.get("/api/v1/calls/", {"category": "sales"})) == {old.pk}
    assert _ids(api_a.get("/api/v1/calls/", {"direction": "outbound"})) == {new.pk}
    after = (now - timedelta(days=10)).isoformat()
    assert _ids(api_a.get("/api/v1/calls/", {"started_after": after})) == {new.pk}
    assert _ids(api_a.get("/api/v1/calls/", {"started_before": after})) == {old.pk}
    day = (now - timedelta(days=40)).date().isoformat()
    assert old.pk in _ids(api_a.get("/api/v1/calls/", {"started_after": day}))
    bad = api_a.get("/api/v1/calls/", {"started_after": "soon"})
    assert bad.status_code == 400 and "started_after" in bad.json()["error"]["fields"]


def test_listing_takes_a_fixed_number_of_queries(api_a, tenant_a, django_assert_max_num_queries):
    purpose = PurposeFactory(tenant=tenant_a, code="service_delivery")
    for _ in range(30):
        call = CallFactory(tenant=tenant_a)
        call.purposes.add(purpose)
        media_rows(call)
    api_a.get("/api/v1/calls/")  # warm up (key's last-used stamp)
    with django_assert_max_num_queries(6):
        response = api_a.get("/api/v1/calls/", {"page_size": 30})
    results = response.json()["results"]
    assert len(results) == 30
    assert all(r["recording"] and r["transcript"] and r["purposes"] for r in results)


def test_calls_for_numbers_matches_caller_or_callee_of_one_tenant(tenant_a, tenant_b):
    mine = CallFactory(tenant=tenant_a, caller="+49301234567")
    other = CallFactory(tenant=tenant_a, direction="outbound", callee="+49301111111")
    CallFactory(tenant=tenant_b, caller="+49301234567")
    found = selectors.calls_for_numbers(tenant=tenant_a, numbers=["+49301234567", "+49301111111"])
    assert set(found) == {mine, other}
    assert not selectors.calls_for_numbers(tenant=tenant_a, numbers=[]).exists()
