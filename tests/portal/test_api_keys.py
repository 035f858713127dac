import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from portal import services
from portal.models import ApiKey, Tenant

pytestmark = pytest.mark.django_db


def key_from_command(slug: str, capsys) -> str:
    call_command("create_api_key", slug, "--name", "telephony")
    return capsys.readouterr().out.strip().splitlines()[-1]


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_command_key_is_accepted_and_stored_hashed_only(tenant_a, capsys):
    key = key_from_command("tenant-a", capsys)
    response = client_with(key).get("/api/v1/tenant/")
    assert response.status_code == 200
    assert response.json()["slug"] == "tenant-a"
    stored = ApiKey.objects.get()
    assert stored.name == "telephony"
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    # The clear key is nowhere in the table.
    for value in ApiKey.objects.values_list(flat=False).get():
        assert key not in str(value)


def test_wrong_key_is_401_with_json_error(tenant_a, capsys):
    key = key_from_command("tenant-a", capsys)
    response = client_with(key[:-2] + "xx").get("/api/v1/tenant/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    body = response.json()
    assert body["error"]["code"] == "authentication_failed"
    assert "wrong or has been revoked" in body["error"]["message"]


def test_missing_credentials_is_401(db):
    response = APIClient().get("/api/v1/tenant/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_revoked_key_is_refused(tenant_a, capsys):
    key = key_from_command("tenant-a", capsys)
    services.api_key_revoke(api_key=ApiKey.objects.get())
    response = client_with(key).get("/api/v1/tenant/")
    assert response.status_code == 401


def test_garbage_authorization_values_are_refused(tenant_a):
    for value in ["Api-Key ", "Api-Key cpp_nope", "Api-Key cpp_a_b_c", "Api-Key abc"]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=value)
        assert client.get("/api/v1/tenant/").status_code == 401, value


def test_last_used_at_is_recorded(tenant_a, capsys):
    key = key_from_command("tenant-a", capsys)
    assert ApiKey.objects.get().last_used_at is None
    client = client_with(key)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.get("/api/v1/tenant/")
        first = ApiKey.objects.get().last_used_at
        assert first == timezone.now()
        traveller.shift(timedelta(seconds=10))
        client.get("/api/v1/tenant/")  # within a minute: not rewritten
        assert ApiKey.objects.get().last_used_at == first
        traveller.shift(timedelta(minutes=5))
        client.get("/api/v1/tenant/")
        assert ApiKey.objects.get().last_used_at == timezone.now()


def test_key_of_inactive_tenant_is_refused(tenant_a, capsys):
    key = key_from_command("tenant-a", capsys)
    Tenant.objects.filter(pk=tenant_a.pk).update(is_active=False)
    assert client_with(key).get("/api/v1/tenant/").status_code == 401


def test_command_refuses_unknown_tenant(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No tenant"):
        call_command("create_api_key", "nope")


def test_tenant_settings_patch_validates_and_names_the_field(api_a, tenant_a):
    response = api_a.patch("/api/v1/tenant/", {"purpose_gate": "maybe"}, format="json")
    assert response.status_code == 400
    assert "purpose_gate" in response.json()["error"]["fields"]
    response = api_a.patch("/api/v1/tenant/", {"country": "Germany"}, format="json")
    assert response.status_code == 400
    assert "country" in response.json()["error"]["fields"]
    response = api_a.patch("/api/v1/tenant/", {"timezone": "Mars/Olympus"}, format="json")
    assert response.status_code == 400
    assert "timezone" in response.json()["error"]["fields"]
    tenant_a.refresh_from_db()
    assert tenant_a.purpose_gate == "refuse" and tenant_a.country == "DE"
    response = api_a.patch(
        "/api/v1/tenant/", {"purpose_gate": "flag", "auto_approve_access": True}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["purpose_gate"] == "flag"
    tenant_a.refresh_from_db()
    assert tenant_a.purpose_gate == "flag" and tenant_a.auto_approve_access


def test_slug_is_read_only(api_a, tenant_a):
    response = api_a.patch("/api/v1/tenant/", {"slug": "other"}, format="json")
    assert response.status_code == 200
    tenant_a.refresh_from_db()
    assert tenant_a.slug == "tenant-a"


def test_throttling_answers_429(api_a, settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"tenant": "3/min"},
    }
    from portal.api.throttling import TenantRateThrottle

    original = TenantRateThrottle.THROTTLE_RATES
    TenantRateThrottle.THROTTLE_RATES = {"tenant": "3/min"}
    try:
        codes = [api_a.get("/api/v1/tenant/").status_code for _ in range(4)]
    finally:
        TenantRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert codes == [200, 200, 200, 429]
