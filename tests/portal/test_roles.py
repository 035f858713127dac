"""DPO, support and customer users see exactly what their role allows."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from portal.access import DPO_GROUP, SUPPORT_GROUP, visible_tenants
from tests.factories import ApiKeyFactory, TenantFactory

pytestmark = pytest.mark.django_db


def test_groups_carry_their_model_permissions(db):
    dpo = set(Group.objects.get(name=DPO_GROUP).permissions.values_list("codename", flat=True))
    support = set(
        Group.objects.get(name=SUPPORT_GROUP).permissions.values_list("codename", flat=True)
    )
    assert {"change_tenant", "delete_membership", "view_apikey", "serve_tenant"} <= dpo
    assert {"view_tenant", "view_apikey"} <= support
    assert not {p for p in support if p.startswith("delete_")}
    assert "change_tenant" not in support
    # Legal holds moved to calls, where support may add calls: placing a hold stays the DPO's.
    assert {"add_legalhold", "change_legalhold", "view_legalhold"} <= dpo
    assert not {p for p in support if p.startswith("add_") and "legalhold" in p}
    assert "view_legalhold" in support


def test_visible_tenants_by_role(tenant_a, tenant_b, dpo_user, support_user, admin_a, key_b):
    assert set(visible_tenants(dpo_user)) == {tenant_a, tenant_b}
    assert list(visible_tenants(support_user)) == [tenant_a]
    assert list(visible_tenants(admin_a)) == [tenant_a]
    assert list(visible_tenants(key_b)) == [tenant_b]


def test_dpo_sees_every_tenant_in_the_admin(client, dpo_user, tenant_a, tenant_b):
    client.force_login(dpo_user)
    page = client.get("/admin/portal/tenant/").content.decode()
    assert "Tenant A" in page and "Tenant B" in page


def test_support_sees_only_assigned_tenants(client, support_user, tenant_a, tenant_b):
    client.force_login(support_user)
    page = client.get("/admin/portal/tenant/")
    assert page.status_code == 200
    assert "Tenant A" in page.content.decode()
    assert "Tenant B" not in page.content.decode()
    foreign = client.get(f"/admin/portal/tenant/{tenant_b.pk}/change/", follow=True)
    assert "Tenant B" not in foreign.content.decode().replace("doesn’t exist", "")
    assert client.get(f"/admin/portal/tenant/{tenant_b.pk}/history/").status_code == 404


def test_support_can_view_but_not_change_a_tenant(client, support_user, tenant_a):
    client.force_login(support_user)
    page = client.get(f"/admin/portal/tenant/{tenant_a.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    response = client.post(f"/admin/portal/tenant/{tenant_a.pk}/change/", {"name": "Hacked"})
    assert response.status_code == 403
    tenant_a.refresh_from_db()
    assert tenant_a.name == "Tenant A"


def test_support_sees_only_keys_of_assigned_tenants(client, support_user, tenant_a, tenant_b):
    ApiKeyFactory(tenant=tenant_a, name="key-of-a")
    foreign = ApiKeyFactory(tenant=tenant_b, name="key-of-b")
    client.force_login(support_user)
    page = client.get("/admin/portal/apikey/").content.decode()
    assert "key-of-a" in page and "key-of-b" not in page
    assert client.get(f"/admin/portal/apikey/{foreign.pk}/history/").status_code == 404


def test_customer_users_cannot_enter_the_admin(client, admin_a):
    client.force_login(admin_a)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_session_api_acts_in_the_users_tenant(client, admin_a, tenant_a, tenant_b):
    api = APIClient()
    api.force_login(admin_a)
    assert api.get("/api/v1/tenant/").json()["slug"] == "tenant-a"
    # Naming a tenant the user does not belong to gives nothing of it.
    response = api.get("/api/v1/tenant/", HTTP_X_TENANT="tenant-b")
    assert response.status_code == 403
    assert "Tenant B" not in response.content.decode()


def test_viewer_reads_but_cannot_change_settings(viewer_a):
    api = APIClient()
    api.force_login(viewer_a)
    assert api.get("/api/v1/tenant/").status_code == 200
    response = api.patch("/api/v1/tenant/", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_dpo_uses_the_api_for_any_tenant_by_header(dpo_user, tenant_b):
    api = APIClient()
    api.force_login(dpo_user)
    response = api.get("/api/v1/tenant/", HTTP_X_TENANT="tenant-b")
    assert response.json()["slug"] == "tenant-b"


def test_support_uses_the_api_only_for_assigned_tenants(support_user, tenant_a, tenant_b):
    api = APIClient()
    api.force_login(support_user)
    assert api.get("/api/v1/tenant/", HTTP_X_TENANT="tenant-a").status_code == 200
    assert api.get("/api/v1/tenant/", HTTP_X_TENANT="tenant-b").status_code == 403


def test_user_with_two_memberships_switches_tenant(client, member_factory, tenant_a, tenant_b):
    user = member_factory(tenant_a, "admin", "both")
    from portal.services import membership_set

    membership_set(user=user, tenant=tenant_b, role="viewer")
    client.force_login(user)
    assert "Tenant A" in client.get("/dashboard/").content.decode()
    response = client.post(f"/dashboard/switch/{tenant_b.slug}/")
    assert response.status_code == 302
    page = client.get("/dashboard/").content.decode()
    assert "<h1>Tenant B</h1>" in page and "viewer" in page
    other = TenantFactory(slug="not-mine")
    assert client.post(f"/dashboard/switch/{other.slug}/").status_code == 404
