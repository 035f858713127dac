"""The dashboard's shell: login, logout, password change, tenant switcher, role-aware menu,
overview panels, and what every page promises (CSRF, 403 for viewers' POSTs, accessibility)."""

import pytest
from django.test import Client

from portal import dashboard
from portal.dashboard import nav_for, register_nav, register_overview_panel
from tests.factories import MODEL_FACTORIES, MembershipFactory
from tests.isolation import dashboard_routes, route_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def registries(monkeypatch):
    """Registrations made by a test disappear with it."""
    monkeypatch.setattr(dashboard, "_nav", dict(dashboard._nav))
    monkeypatch.setattr(dashboard, "_panels", dict(dashboard._panels))


def test_login_logout_and_back(client, admin_a):
    response = client.post("/accounts/login/", {"username": "admin-a", "password": "pw"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    page = client.get("/dashboard/").content.decode()
    assert '<a class="skip" href="#main">Skip to content</a>' in page
    assert 'href="/dashboard/" aria-current="page">Overview' in page

    response = client.post("/accounts/logout/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/"
    assert "You are logged out." in response.content.decode()
    assert client.get("/dashboard/").status_code == 302


def test_logout_needs_post(client, admin_a):
    client.force_login(admin_a)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/dashboard/").status_code == 200


def test_password_change_uses_the_dashboard_and_works(client, admin_a):
    client.force_login(admin_a)
    page = client.get("/accounts/password/").content.decode()
    assert "Change your password" in page and 'class="sidebar"' in page
    assert '<label for="id_old_password">Old password</label>' in page

    response = client.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password1": "x", "new_password2": "x"},
    )
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()

    new = "a-much-better-passphrase-42"
    response = client.post(
        "/accounts/password/",
        {"old_password": "pw", "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert "Password changed" in response.content.decode()
    admin_a.refresh_from_db()
    assert admin_a.check_password(new)


def test_tenant_switcher_lists_memberships_and_switches(client, admin_a, tenant_b):
    MembershipFactory(user=admin_a, tenant=tenant_b, role="viewer")
    client.force_login(admin_a)
    page = client.get("/dashboard/").content.decode()
    assert 'action="/dashboard/switch/tenant-b/"' in page
    assert "<h1>Tenant A</h1>" in page

    response = client.post("/dashboard/switch/tenant-b/", follow=True)
    page = response.content.decode()
    assert "Now working in Tenant B." in page and "<h1>Tenant B</h1>" in page
    assert '<span class="role">viewer</span>' in page  # the role follows the tenant
    assert 'href="/dashboard/api-keys/"' not in page  # a viewer there: no admin menu


def test_switching_to_a_tenant_without_membership_is_404(client, admin_a, tenant_b):
    client.force_login(admin_a)
    assert client.post("/dashboard/switch/tenant-b/").status_code == 404
    assert client.get("/dashboard/switch/tenant-a/").status_code == 405


def test_a_single_membership_shows_no_switcher(client, admin_a):
    client.force_login(admin_a)
    assert "/dashboard/switch/" not in client.get("/dashboard/").content.decode()


def test_csrf_is_enforced(admin_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_a)
    assert client.post("/dashboard/api-keys/new/", {"name": "x"}).status_code == 403
    page = client.get("/dashboard/api-keys/new/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page


def test_menu_is_role_aware(client, admin_a, viewer_a, member_factory, tenant_a):
    agent = member_factory(tenant_a, "agent")
    owner = member_factory(tenant_a, "owner")
    for user, sees_admin in [(viewer_a, False), (agent, False), (admin_a, True), (owner, True)]:
        client.force_login(user)
        page = client.get("/dashboard/").content.decode()
        assert ('href="/dashboard/api-keys/"' in page) is sees_admin, user
        assert ('href="/dashboard/webhooks/"' in page) is sees_admin, user
        assert 'href="/dashboard/settings/"' in page
        assert 'href="/dashboard/members/"' in page


def test_registered_menu_entries_appear_in_order_without_template_changes(
    client, admin_a, viewer_a, registries
):
    register_nav("Requests", "Requests", "dashboard:members", order=300)  # any existing URL
    register_nav("Calls", "Calls", "dashboard:settings", order=100, min_role="agent")
    sections = nav_for("admin", current="dashboard:members")
    # Apps' own sections (e.g. "Breaches") sit between them, in their order.
    titles = [s.title for s in sections if s.title in ("", "Calls", "Requests", "Settings")]
    assert titles == ["", "Calls", "Requests", "Settings"]
    requests = next(s for s in sections if s.title == "Requests")
    # The section may hold the app's own entries too: only the one registered here is current.
    assert [link.label for link in requests.links if link.current] == ["Requests"]
    # The agent-only entry is hidden from a viewer (the calls app's own entries are not).
    viewer_links = [link.url for s in nav_for("viewer", current=None) for link in s.links]
    assert "/dashboard/settings/" not in viewer_links


def test_overview_panels_come_from_the_registry(client, admin_a, viewer_a, registries):
    register_overview_panel(
        "test-shown", "Shown panel", "dashboard/includes/empty.html", lambda r: {}, order=1
    )
    register_overview_panel(
        "test-hidden", "Hidden panel", "dashboard/includes/empty.html", lambda r: None
    )
    register_overview_panel(
        "test-admin",
        "Admin panel",
        "dashboard/includes/empty.html",
        lambda r: {"title": f"For {r.tenant.name}"},
        min_role="admin",
    )
    client.force_login(admin_a)
    page = client.get("/dashboard/").content.decode()
    assert "Shown panel" in page and "For Tenant A" in page and "Hidden panel" not in page
    assert page.index("Shown panel") < page.index("Automation policy")
    client.force_login(viewer_a)
    page = client.get("/dashboard/").content.decode()
    assert "Shown panel" in page and "For Tenant A" not in page
    assert "Webhook deliveries" not in page and "Automation policy" in page


def test_overview_asks_for_missing_controller_details(client, admin_a, viewer_a, tenant_a):
    client.force_login(viewer_a)
    page = client.get("/dashboard/").content.decode()
    assert "Letters to your callers need your legal name and address." in page
    assert "Ask an admin" in page
    tenant_a.legal_name, tenant_a.address = "Tenant A GmbH", "Street 1"
    tenant_a.save()
    assert "Letters to your callers" not in client.get("/dashboard/").content.decode()


def _routes_with_only_pk():
    routes = []
    for route in dashboard_routes():
        rest = route.path.replace("<pk>", "")
        if route.name != "switch-tenant" and "<" not in rest:
            routes.append(route)
    return routes


def _url_for(route, tenant):
    if not route.id_kwarg:
        return route.path
    return route.url(MODEL_FACTORIES[route_model(route)](tenant=tenant).pk)


@pytest.mark.parametrize("route", _routes_with_only_pk(), ids=lambda r: r.path)
def test_a_viewer_gets_403_on_every_post(route, client, viewer_a, tenant_a):
    client.force_login(viewer_a)
    url = _url_for(route, tenant_a)
    assert client.post(url, {"name": "x", "url": "https://example.com/"}).status_code == 403


def test_every_dashboard_page_answers_a_viewer_with_200_or_403(client, viewer_a, tenant_a):
    client.force_login(viewer_a)
    for route in _routes_with_only_pk():
        response = client.get(_url_for(route, tenant_a))
        assert response.status_code in (200, 403, 405), route.path


def test_users_without_membership_get_the_no_tenant_page(client, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="pw")
    client.force_login(user)
    response = client.get("/dashboard/settings/")
    assert response.status_code == 403
    assert "No tenant to work in" in response.content.decode()


def test_pages_show_times_in_the_tenants_time_zone(client, admin_a, tenant_a, key_a):
    from django.utils import timezone

    client.force_login(admin_a)
    page = client.get("/dashboard/api-keys/").content.decode()
    local = timezone.localtime(key_a.created_at, tenant_a.tzinfo)
    assert f"{local:%H:%M}" in page
    tenant_a.timezone = "America/New_York"
    tenant_a.save()
    page = client.get("/dashboard/api-keys/").content.decode()
    assert f"{timezone.localtime(key_a.created_at, tenant_a.tzinfo):%H:%M}" in page


def test_a_refused_confirmed_action_says_why_and_changes_nothing(rf, admin_a, tenant_a):
    from django.contrib.messages import get_messages
    from django.contrib.messages.middleware import MessageMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware

    from portal.dashboard import ConfirmActionView
    from portal.errors import BusinessRuleError
    from portal.models import Webhook
    from tests.factories import WebhookFactory

    class RefusingView(ConfirmActionView):
        model = Webhook

        def perform(self, obj):
            raise BusinessRuleError("Under a legal hold: it cannot be deleted.")

        def get_success_url(self):
            return "/dashboard/webhooks/"

    webhook = WebhookFactory(tenant=tenant_a)
    request = rf.post("/")
    request.user = admin_a
    SessionMiddleware(lambda r: None).process_request(request)
    MessageMiddleware(lambda r: None).process_request(request)
    response = RefusingView.as_view()(request, pk=webhook.pk)
    assert response.status_code == 302 and response["Location"] == "/dashboard/webhooks/"
    assert [str(m) for m in get_messages(request)] == ["Under a legal hold: it cannot be deleted."]
    assert Webhook.objects.filter(pk=webhook.pk).exists()


def test_rule_errors_land_on_the_field_they_name():
    from django import forms

    from portal.dashboard import add_rule_error
    from portal.errors import BusinessRuleError

    class Form(forms.Form):
        url = forms.CharField()

    form = Form({"url": "x"})
    form.is_valid()
    add_rule_error(form, BusinessRuleError("Must be https.", field="url"))
    add_rule_error(form, BusinessRuleError("Something else.", field="not_on_the_form"))
    add_rule_error(form, BusinessRuleError("General."))
    assert form.errors["url"] == ["Must be https."]
    assert form.non_field_errors() == ["Something else.", "General."]
