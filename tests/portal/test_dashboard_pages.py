"""The core's dashboard pages: API keys, webhooks, settings and policy, members."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.dashboard_views import WebhookListView
from portal.models import ApiKey, Tenant, Webhook, WebhookDelivery
from portal.webhooks import SIGNATURE_HEADER, verify_signature
from tests.conftest import api_client_for, make_member
from tests.factories import ApiKeyFactory, WebhookDeliveryFactory, WebhookFactory

pytestmark = pytest.mark.django_db

ADMIN_ONLY_PAGES = [
    "/dashboard/api-keys/",
    "/dashboard/api-keys/new/",
    "/dashboard/webhooks/",
    "/dashboard/webhooks/new/",
]


def table(page: str) -> str:
    """The rows of the page's table (messages and menus left out)."""
    return page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""


def once_token(page: str) -> str:
    return re.search(r'name="once" value="([^"]+)"', page).group(1)


@pytest.fixture
def agent_a(member_factory, tenant_a):
    return member_factory(tenant_a, "agent", "agent-a")


@pytest.fixture
def owner_a(member_factory, tenant_a):
    return member_factory(tenant_a, "owner", "owner-a")


# --- API keys ------------------------------------------------------------------------------


def test_create_api_key_shows_it_once_and_it_works(client, admin_a, tenant_a):
    client.force_login(admin_a)
    form = client.get("/dashboard/api-keys/new/").content.decode()
    assert '<label for="id_name">Name</label>' in form
    response = client.post(
        "/dashboard/api-keys/new/", {"name": "Asterisk", "once": once_token(form)}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = re.search(r'value="(cpp_[^"]+)"', response.content.decode()).group(1)
    api_key = ApiKey.objects.get()
    assert api_key.name == "Asterisk" and api_key.created_by == admin_a
    assert api_key.tenant == tenant_a

    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api.get("/api/v1/tenant/").json()["slug"] == "tenant-a"

    listing = client.get("/dashboard/api-keys/").content.decode()
    assert api_key.prefix in listing and key not in listing
    assert key not in client.get("/dashboard/").content.decode()


def test_a_replayed_create_form_creates_nothing(client, admin_a):
    client.force_login(admin_a)
    token = once_token(client.get("/dashboard/api-keys/new/").content.decode())
    client.post("/dashboard/api-keys/new/", {"name": "first", "once": token})
    response = client.post("/dashboard/api-keys/new/", {"name": "first", "once": token})
    assert response.status_code == 302 and response["Location"] == "/dashboard/api-keys/"
    assert ApiKey.objects.count() == 1
    assert client.post("/dashboard/api-keys/new/", {"name": "no token"}).status_code == 302
    assert ApiKey.objects.count() == 1


def test_revoke_asks_first_then_revokes(client, admin_a, key_a):
    client.force_login(admin_a)
    page = client.get(f"/dashboard/api-keys/{key_a.pk}/revoke/").content.decode()
    assert "Revoke this API key?" in page and str(key_a) in page
    assert ApiKey.objects.get(pk=key_a.pk).is_active  # a GET changes nothing

    response = client.post(f"/dashboard/api-keys/{key_a.pk}/revoke/", follow=True)
    assert "Requests with it are refused from now on." in response.content.decode()
    key_a.refresh_from_db()
    assert key_a.revoked_at is not None and key_a.revoked_by == admin_a
    assert api_client_for(key_a).get("/api/v1/tenant/").status_code == 401
    listing = client.get("/dashboard/api-keys/").content.decode()
    assert f"/dashboard/api-keys/{key_a.pk}/revoke/" not in listing  # no button on a revoked key


def test_api_key_list_filters_and_shows_last_use(client, admin_a, tenant_a, key_a):
    api_client_for(key_a).get("/api/v1/tenant/")
    old = ApiKeyFactory(tenant=tenant_a, name="old integration")
    client.force_login(admin_a)
    client.post(f"/dashboard/api-keys/{old.pk}/revoke/")
    rows = table(client.get("/dashboard/api-keys/?state=active").content.decode())
    assert key_a.name in rows and "old integration" not in rows
    assert "never" not in rows  # key_a was used
    rows = table(client.get("/dashboard/api-keys/?state=revoked").content.decode())
    assert "old integration" in rows and key_a.name not in rows
    page = client.get("/dashboard/api-keys/?name=nothing-matches").content.decode()
    assert "Nothing matches these filters" in page and "Clear filters" in page


def test_api_key_pages_are_for_admins_and_owners(client, agent_a, viewer_a, owner_a, key_a):
    for user in (agent_a, viewer_a):
        client.force_login(user)
        for url in [*ADMIN_ONLY_PAGES, f"/dashboard/api-keys/{key_a.pk}/revoke/"]:
            assert client.get(url).status_code == 403, (user, url)
        assert client.post(f"/dashboard/api-keys/{key_a.pk}/revoke/").status_code == 403
        assert client.post("/dashboard/api-keys/new/", {"name": "x"}).status_code == 403
    assert ApiKey.objects.get(pk=key_a.pk).is_active and ApiKey.objects.count() == 1
    client.force_login(owner_a)
    for url in ADMIN_ONLY_PAGES:
        assert client.get(url).status_code == 200, url


def test_another_tenants_key_is_404(client, admin_a, key_b):
    client.force_login(admin_a)
    assert client.get(f"/dashboard/api-keys/{key_b.pk}/revoke/").status_code == 404
    assert client.post(f"/dashboard/api-keys/{key_b.pk}/revoke/").status_code == 404
    assert ApiKey.objects.get(pk=key_b.pk).is_active
    assert key_b.name not in client.get("/dashboard/api-keys/").content.decode()


def test_empty_api_key_list_says_what_to_do(client, admin_a):
    client.force_login(admin_a)
    page = client.get("/dashboard/api-keys/").content.decode()
    assert "No API keys yet" in page and "Create one for each system" in page


# --- webhooks ------------------------------------------------------------------------------


def test_create_webhook_shows_the_secret_once(client, admin_a, tenant_a):
    client.force_login(admin_a)
    form = client.get("/dashboard/webhooks/new/").content.decode()
    assert "<legend>Events</legend>" in form
    response = client.post(
        "/dashboard/webhooks/new/",
        {
            "url": "https://hooks.example.com/in",
            "events": ["webhook.test"],
            "once": once_token(form),
        },
    )
    webhook = Webhook.objects.get()
    assert webhook.tenant == tenant_a and webhook.events == ["webhook.test"]
    assert webhook.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert webhook.secret not in client.get(f"/dashboard/webhooks/{webhook.pk}/").content.decode()


def test_webhook_form_errors_name_the_field(client, admin_a, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    client.force_login(admin_a)
    form = client.get("/dashboard/webhooks/new/").content.decode()
    response = client.post(
        "/dashboard/webhooks/new/", {"url": "http://hooks.example.com/in", "once": once_token(form)}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "The webhook URL must use https." in page
    assert re.search(r'<input[^>]*name="url"[^>]*aria-invalid="true"', page)
    assert not Webhook.objects.exists()
    # The form can be sent again after fixing it: the one-time token was not used up.
    response = client.post(
        "/dashboard/webhooks/new/",
        {"url": "https://hooks.example.com/in", "once": once_token(form)},
    )
    assert response.status_code == 200 and Webhook.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # the delivery runs at commit, as in production
def test_send_test_delivery_shows_the_result(client, admin_a, tenant_a, webhook_receiver):
    webhook = WebhookFactory(tenant=tenant_a, url=webhook_receiver.url)
    client.force_login(admin_a)
    response = client.post(f"/dashboard/webhooks/{webhook.pk}/test/", follow=True)
    page = response.content.decode()
    assert "Test delivery sent: the endpoint answered HTTP 200." in page
    assert "Delivered" in page and "HTTP 200" in page
    received = webhook_receiver.requests[-1]
    assert verify_signature(webhook.secret, received["body"], received["headers"][SIGNATURE_HEADER])


@pytest.mark.django_db(transaction=True)  # the delivery runs at commit, as in production
def test_failed_test_delivery_says_why(client, admin_a, tenant_a, webhook_receiver):
    webhook_receiver.statuses = [500]
    webhook = WebhookFactory(tenant=tenant_a, url=webhook_receiver.url)
    client.force_login(admin_a)
    response = client.post(f"/dashboard/webhooks/{webhook.pk}/test/", follow=True)
    page = response.content.decode()
    assert "Test delivery failed: HTTP 500." in page and "Retrying" in page


def test_test_delivery_is_post_only(client, admin_a, tenant_a):
    webhook = WebhookFactory(tenant=tenant_a)
    client.force_login(admin_a)
    assert client.get(f"/dashboard/webhooks/{webhook.pk}/test/").status_code == 405
    assert not WebhookDelivery.objects.exists()


def test_edit_webhook(client, admin_a, tenant_a):
    webhook = WebhookFactory(tenant=tenant_a, events=["webhook.test"])
    client.force_login(admin_a)
    page = client.get(f"/dashboard/webhooks/{webhook.pk}/edit/").content.decode()
    assert 'value="https://hooks.example.com/portal"' in page
    response = client.post(
        f"/dashboard/webhooks/{webhook.pk}/edit/",
        {"url": "https://hooks.example.com/v2", "events": [], "is_active": ""},
    )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert webhook.url == "https://hooks.example.com/v2"
    assert webhook.events == [] and webhook.is_active is False


def test_delete_webhook_asks_first(client, admin_a, tenant_a):
    webhook = WebhookFactory(tenant=tenant_a)
    WebhookDeliveryFactory(tenant=tenant_a, webhook=webhook)
    client.force_login(admin_a)
    page = client.get(f"/dashboard/webhooks/{webhook.pk}/delete/").content.decode()
    assert "Delete this webhook?" in page and "delivery log is deleted" in page
    assert Webhook.objects.exists()
    response = client.post(f"/dashboard/webhooks/{webhook.pk}/delete/")
    assert response["Location"] == "/dashboard/webhooks/"
    assert not Webhook.objects.exists() and not WebhookDelivery.objects.exists()


def test_webhook_pages_are_for_admins(client, agent_a, tenant_a):
    webhook = WebhookFactory(tenant=tenant_a)
    client.force_login(agent_a)
    for suffix in ("", "edit/", "delete/"):
        assert client.get(f"/dashboard/webhooks/{webhook.pk}/{suffix}").status_code == 403
    for suffix in ("edit/", "delete/", "test/"):
        assert client.post(f"/dashboard/webhooks/{webhook.pk}/{suffix}").status_code == 403
    assert Webhook.objects.filter(pk=webhook.pk, is_active=True).exists()
    assert not WebhookDelivery.objects.exists()


def test_webhook_list_and_detail_show_delivery_state(client, admin_a, tenant_a, tenant_b):
    webhook = WebhookFactory(tenant=tenant_a)
    WebhookDeliveryFactory(tenant=tenant_a, webhook=webhook, status="failed", last_error="boom")
    foreign = WebhookFactory(tenant=tenant_b, url="https://tenant-b.example.com/hook")
    client.force_login(admin_a)
    page = client.get("/dashboard/webhooks/").content.decode()
    assert '<span class="badge badge-danger">failed</span>' in page
    assert foreign.url not in page
    page = client.get(f"/dashboard/webhooks/{webhook.pk}/").content.decode()
    assert "boom" in page and "Send test delivery" in page


# --- settings ------------------------------------------------------------------------------


def test_admin_changes_policy_and_controller_details(client, admin_a, tenant_a):
    client.force_login(admin_a)
    page = client.get("/dashboard/settings/").content.decode()
    assert "<legend>Calls for a purpose without a lawful basis</legend>" in page
    data = {
        "name": "Tenant A",
        "country": "de",
        "timezone": "Europe/Berlin",
        "legal_name": "Tenant A GmbH",
        "address": "Street 1\n10115 Berlin",
        "privacy_contact_email": "dpo@tenant-a.example",
        "supervisory_authority": "BlnBDI",
        "purpose_gate": "flag",
        "auto_approve_access": "on",
        "sms_notice_template": tenant_a.sms_notice_template,
        "default_max_age_days": "730",
    }
    assert "Default maximum age of calls (days)" in page
    response = client.post("/dashboard/settings/", data, follow=True)
    assert "Settings saved" in response.content.decode()
    assert Tenant.objects.get(pk=tenant_a.pk).default_max_age_days == 730
    tenant = Tenant.objects.get(pk=tenant_a.pk)
    assert tenant.purpose_gate == "flag" and tenant.auto_approve_access is True
    assert tenant.auto_approve_erasure is False and tenant.legal_name == "Tenant A GmbH"
    assert tenant.country == "DE"
    assert tenant.history.first().history_user == admin_a  # audited like any other change

    response = client.post("/dashboard/settings/", data, follow=True)
    assert "Nothing changed." in response.content.decode()


def test_bad_settings_are_refused_with_the_field_named(client, admin_a, tenant_a):
    client.force_login(admin_a)
    response = client.post(
        "/dashboard/settings/",
        {"name": "Tenant A", "country": "Germany", "timezone": "Mars/Base", "purpose_gate": "x"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    for field in ("country", "timezone"):
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', page), field
    assert Tenant.objects.get(pk=tenant_a.pk).country == "DE"


def test_others_read_the_settings_but_cannot_change_them(client, viewer_a, agent_a, tenant_a):
    for user in (viewer_a, agent_a):
        client.force_login(user)
        page = client.get("/dashboard/settings/").content.decode()
        assert "Only admins and owners" in page and "Test Supervisory Authority" in page
        assert '<form method="post" novalidate>' not in page
        response = client.post("/dashboard/settings/", {"name": "Taken", "purpose_gate": "flag"})
        assert response.status_code == 403
    assert Tenant.objects.get(pk=tenant_a.pk).name == "Tenant A"


# --- members -------------------------------------------------------------------------------


def test_members_lists_this_tenants_members(client, viewer_a, admin_a, admin_b):
    client.force_login(viewer_a)
    page = client.get("/dashboard/members/").content.decode()
    assert "viewer-a" in page and "admin-a" in page and "admin-b" not in page
    rows = table(client.get("/dashboard/members/?role=admin").content.decode())
    assert "admin-a" in rows and "viewer-a" not in rows


# --- lists stay cheap ----------------------------------------------------------------------


def _queries(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize(
    "url, make",
    [
        ("/dashboard/api-keys/", lambda t, u: ApiKeyFactory(tenant=t, created_by=u)),
        ("/dashboard/webhooks/", lambda t, u: WebhookDeliveryFactory(tenant=t)),
        ("/dashboard/members/", lambda t, u: make_member(t)),
        ("/dashboard/", lambda t, u: WebhookDeliveryFactory(tenant=t)),
    ],
)
def test_list_pages_cost_the_same_queries_for_3_or_30_rows(client, admin_a, tenant_a, url, make):
    client.force_login(admin_a)
    for _ in range(3):
        make(tenant_a, admin_a)
    few = len(_queries(client, url))
    for _ in range(27):
        make(tenant_a, admin_a)
    assert len(_queries(client, url)) == few


def test_webhook_detail_costs_the_same_queries_for_few_or_many_deliveries(
    client, admin_a, tenant_a
):
    webhook = WebhookFactory(tenant=tenant_a)
    client.force_login(admin_a)
    WebhookDeliveryFactory(tenant=tenant_a, webhook=webhook)
    few = len(_queries(client, f"/dashboard/webhooks/{webhook.pk}/"))
    for _ in range(30):
        WebhookDeliveryFactory(tenant=tenant_a, webhook=webhook)
    assert len(_queries(client, f"/dashboard/webhooks/{webhook.pk}/")) == few


def test_lists_page_without_counting_the_table(client, admin_a, tenant_a, monkeypatch):
    WebhookFactory.create_batch(60, tenant=tenant_a)
    client.force_login(admin_a)
    queries = _queries(client, "/dashboard/webhooks/")
    counts = [q for q in queries if "COUNT(" in q.upper()]
    assert counts and all("LIMIT" in q.upper() for q in counts), counts
    page = client.get("/dashboard/webhooks/").content.decode()
    assert "1–50 of 60" in page and 'rel="next" href="?page=2"' in page
    page = client.get("/dashboard/webhooks/?page=2").content.decode()
    assert "51–60 of 60" in page and 'rel="prev"' in page and 'rel="next"' not in page
    assert client.get("/dashboard/webhooks/?page=3").status_code == 404
    assert client.get("/dashboard/webhooks/?page=x").status_code == 404

    monkeypatch.setattr(WebhookListView, "count_cap", 20)
    assert "1–50 of more than 20" in client.get("/dashboard/webhooks/").content.decode()
