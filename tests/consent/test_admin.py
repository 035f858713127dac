import pytest
from django.utils import timezone

from consent import services
from consent.models import ConsentEvent, Purpose
from portal.access import DPO_GROUP
from portal.services import staff_user_create
from tests.factories import (
    ConsentEventFactory,
    PrivacyNoticeFactory,
    ProcessingRestrictionFactory,
    PurposeFactory,
)

pytestmark = pytest.mark.django_db

LEDGER = "/admin/consent/consentevent/"


@pytest.fixture
def dpo_client(client, db):
    client.force_login(staff_user_create(username="dpo", group=DPO_GROUP))
    return client


@pytest.fixture
def events(give_kwargs):
    given = services.consent_give(**give_kwargs)
    withdrawn = services.consent_withdraw(**{**give_kwargs, "occurred_at": None})
    return given, withdrawn


@pytest.mark.parametrize(
    "term", ["+49301234567", "030 1234567", "0049 30 1234567", "+49 30 123 4567"]
)
def test_ledger_search_by_number_in_any_form(dpo_client, events, tenant_b, term):
    ConsentEventFactory(tenant=tenant_b, number="+353861234567")
    page = dpo_client.get(LEDGER, {"q": term}).content.decode()
    for event in events:
        assert f"{LEDGER}{event.pk}/change/" in page
    assert "+353861234567" not in page


def test_ledger_filters(dpo_client, events):
    given, withdrawn = events
    for params, shown, hidden in [
        ({"action__exact": "withdrawn"}, withdrawn, given),
        ({"method__exact": "ivr_keypress", "action__exact": "given"}, given, withdrawn),
        ({"lawful_basis__exact": "consent", "action__exact": "given"}, given, withdrawn),
        ({"purpose__id__exact": given.purpose_id, "action__exact": "withdrawn"}, withdrawn, given),
        ({"tenant__id__exact": given.tenant_id, "action__exact": "given"}, given, withdrawn),
    ]:
        page = dpo_client.get(LEDGER, params).content.decode()
        assert f"{LEDGER}{shown.pk}/change/" in page, params
        assert f"{LEDGER}{hidden.pk}/change/" not in page, params


def test_ledger_is_read_only_in_the_admin(dpo_client, events):
    given, _ = events
    listing = dpo_client.get(LEDGER)
    assert "delete_selected" not in listing.content.decode()
    assert f"{LEDGER}add/" not in listing.content.decode()
    assert dpo_client.get(f"{LEDGER}add/").status_code == 403
    page = dpo_client.get(f"{LEDGER}{given.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    response = dpo_client.post(f"{LEDGER}{given.pk}/change/", {"method": "verbal"})
    assert response.status_code == 403
    assert dpo_client.post(f"{LEDGER}{given.pk}/delete/", {"post": "yes"}).status_code == 403
    response = dpo_client.post(
        LEDGER, {"action": "delete_selected", "_selected_action": [given.pk], "post": "yes"}
    )
    assert ConsentEvent.objects.filter(pk=given.pk).exists()
    assert dpo_client.get(f"{LEDGER}{given.pk}/history/").status_code == 200


def test_filters_offer_only_the_tenants_the_user_serves(client, support_user, tenant_a, tenant_b):
    PurposeFactory(tenant=tenant_a, code="marketing")
    PurposeFactory(tenant=tenant_a, code="training")
    PurposeFactory(tenant=tenant_b, code="secret_project")
    client.force_login(support_user)
    page = client.get(LEDGER).content.decode()
    assert "marketing (tenant-a)" in page
    assert "secret_project" not in page and "Tenant B" not in page


def test_tenant_page_shows_the_consent_rate_per_purpose(dpo_client, give_kwargs, tenant_a):
    services.consent_give(**give_kwargs)
    services.consent_give(**{**give_kwargs, "number": "030 7654321"})
    services.consent_withdraw(**{**give_kwargs, "number": "030 7654321", "occurred_at": None})
    services.consent_give(**{**give_kwargs, "number": "030 5555555"})
    services.processing_restriction_place(tenant=tenant_a, number="030 5555555", kind="restriction")
    page = dpo_client.get(f"/admin/portal/tenant/{tenant_a.pk}/change/").content.decode()
    assert "Consent rate per purpose" in page
    row = page.split("<code>marketing</code>")[1].split("</tr>")[0]
    # 3 numbers with a record; 1 allowed (one withdrew, one is restricted).
    assert [cell.split("</td>")[0] for cell in row.split("<td>")[2:]] == ["1", "3", "33.3%"]
    training = page.split("<code>training</code>")[1].split("</tr>")[0]
    assert "—" in training
    assert dpo_client.get("/admin/portal/tenant/add/").status_code == 200


def test_purpose_admin_refuses_a_catch_all_and_creates_through_the_service(dpo_client, tenant_a):
    response = dpo_client.post(
        "/admin/consent/purpose/add/",
        {
            "tenant": tenant_a.pk,
            "code": "everything",
            "description": "All we do",
            "default_lawful_basis": "consent",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "catch-all" in response.content.decode()
    assert not Purpose.objects.exists()
    response = dpo_client.post(
        "/admin/consent/purpose/add/",
        {
            "tenant": tenant_a.pk,
            "code": "Surveys",
            "description": "Post-call surveys",
            "default_lawful_basis": "consent",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    purpose = Purpose.objects.get()
    assert purpose.code == "surveys"
    assert purpose.history.latest().history_user.username == "dpo"


def test_a_purpose_in_use_cannot_be_deleted_from_the_admin(dpo_client, events, purposes_a):
    marketing = purposes_a["marketing"]
    url = f"/admin/consent/purpose/{marketing.pk}/delete/"
    assert dpo_client.post(url, {"post": "yes"}).status_code == 403
    assert Purpose.objects.filter(pk=marketing.pk).exists()
    unused = purposes_a["training"]
    assert (
        dpo_client.post(f"/admin/consent/purpose/{unused.pk}/delete/", {"post": "yes"}).status_code
        == 302
    )
    assert not Purpose.objects.filter(pk=unused.pk).exists()


def test_a_notice_shown_to_subjects_is_read_only(dpo_client, events, notice_a, tenant_a):
    page = dpo_client.get(f"/admin/consent/privacynotice/{notice_a.pk}/change/")
    assert 'name="_save"' not in page.content.decode()
    unused = PrivacyNoticeFactory(tenant=tenant_a, version="9.0", effective_from=timezone.now())
    page = dpo_client.get(f"/admin/consent/privacynotice/{unused.pk}/change/")
    assert 'name="_save"' in page.content.decode()


def test_restrictions_are_listed_read_only(dpo_client, tenant_a):
    restriction = ProcessingRestrictionFactory(tenant=tenant_a, number="+49301234567")
    page = dpo_client.get("/admin/consent/processingrestriction/", {"q": "030 1234567"})
    assert f"/admin/consent/processingrestriction/{restriction.pk}/change/" in page.content.decode()
    assert "in force" in page.content.decode()
    assert dpo_client.get("/admin/consent/processingrestriction/add/").status_code == 403
