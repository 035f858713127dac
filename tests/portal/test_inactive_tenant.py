"""A deactivated tenant is unreachable through every door: dashboard, API key, API session."""

import pytest
from rest_framework.test import APIClient

from portal.models import Tenant

pytestmark = pytest.mark.django_db


def deactivate(tenant):
    Tenant.objects.filter(pk=tenant.pk).update(is_active=False)


def assert_tenant_inactive(response, status):
    assert response.status_code == status, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "tenant_inactive"
    assert "deactivated" in error["message"]


def test_api_key_of_a_deactivated_tenant_is_refused_with_tenant_inactive(api_a, tenant_a):
    assert api_a.get("/api/v1/calls/").status_code == 200
    deactivate(tenant_a)
    for path in ("/api/v1/tenant/", "/api/v1/calls/", "/api/v1/holds/"):
        assert_tenant_inactive(api_a.get(path), 401)
    assert_tenant_inactive(api_a.post("/api/v1/calls/", {}, format="json"), 401)


def test_session_naming_a_deactivated_tenant_is_refused(admin_a, tenant_a):
    client = APIClient()
    client.force_login(admin_a)
    assert client.get("/api/v1/calls/", HTTP_X_TENANT="tenant-a").status_code == 200
    deactivate(tenant_a)
    assert_tenant_inactive(client.get("/api/v1/calls/", HTTP_X_TENANT="tenant-a"), 403)
    assert_tenant_inactive(client.get("/api/v1/calls/"), 403)  # its only tenant


def test_staff_session_cannot_reach_a_deactivated_tenant_through_the_api(dpo_user, tenant_a):
    client = APIClient()
    client.force_login(dpo_user)
    deactivate(tenant_a)
    assert_tenant_inactive(client.get("/api/v1/calls/", HTTP_X_TENANT="tenant-a"), 403)


def test_a_user_with_another_active_tenant_works_there_only(admin_a, tenant_a, tenant_b):
    from tests.factories import MembershipFactory

    MembershipFactory(user=admin_a, tenant=tenant_b)
    deactivate(tenant_a)
    client = APIClient()
    client.force_login(admin_a)
    assert_tenant_inactive(client.get("/api/v1/calls/", HTTP_X_TENANT="tenant-a"), 403)
    assert client.get("/api/v1/calls/", HTTP_X_TENANT="tenant-b").status_code == 200


def test_dashboard_of_a_deactivated_tenant_is_closed(client, admin_a, tenant_a):
    client.force_login(admin_a)
    assert client.get("/dashboard/calls/").status_code == 200
    deactivate(tenant_a)
    for path in ("/dashboard/", "/dashboard/calls/", "/dashboard/api-keys/"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert b"tenant_inactive" in response.content
        assert b"deactivated" in response.content
    assert client.post("/dashboard/switch/tenant-a/").status_code == 404
