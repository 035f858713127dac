"""History in the admin is an audit record: scoped to the staff user's tenants, never reverted.

Every registered ModelAdmin with history is walked: support serving tenant A gets 404 for the
history list and every historical row of tenant B's object, and posting to them changes
nothing; nobody — the DPO included — can post to a history view (405).
"""

import pytest
from django.contrib import admin

from calls.models import Call
from calls.services import call_delete
from portal import services
from portal.admin_scope import is_sealed
from tests.admin_walk import (
    ADMIN_FACTORIES,
    PLATFORM_MODELS,
    admin_base,
    has_history,
    history_of,
    make_object,
    registered_admins,
    snapshot,
)
from tests.conftest import api_client_for
from tests.factories import ApiKeyFactory, CallFactory

pytestmark = pytest.mark.django_db

HISTORY_MODELS = [model for model, _ in registered_admins() if has_history(model)]


def label(model) -> str:
    return model._meta.label


def test_every_registered_model_has_a_factory():
    missing = [
        label(model)
        for model, _ in registered_admins()
        if model not in ADMIN_FACTORIES and model not in PLATFORM_MODELS
    ]
    assert not missing, f"add these models to tests/admin_walk.py ADMIN_FACTORIES: {missing}"


def test_every_registered_model_admin_is_sealed():
    unsealed = [
        label(model)
        for model, model_admin in admin.site._registry.items()
        if not is_sealed(model_admin)
    ]
    assert not unsealed


def test_the_walk_covers_the_projects_models():
    names = {model.__name__ for model in HISTORY_MODELS}
    assert {"ApiKey", "Call", "LegalHold", "BreachIncident", "Tenant"} <= names


@pytest.mark.parametrize("model", HISTORY_MODELS, ids=label)
def test_support_cannot_read_or_revert_another_tenants_history(
    model, client, support_user, tenant_b
):
    obj = make_object(model, tenant_b)
    rows = list(history_of(obj).values_list("history_id", flat=True))
    assert rows, "the object has no history to walk"
    before = snapshot(obj)
    client.force_login(support_user)
    base = f"{admin_base(model)}{obj.pk}/history/"
    assert client.get(base).status_code == 404, base
    assert client.post(base, {}).status_code in (403, 404, 405), base
    for history_id in rows:
        url = f"{base}{history_id}/"
        response = client.get(url)
        assert response.status_code == 404, url
        assert client.post(url, {}).status_code in (403, 404, 405), url
    assert snapshot(obj) == before, "a historical row was written back"


@pytest.mark.parametrize("model", HISTORY_MODELS, ids=label)
def test_nobody_posts_to_a_history_view(model, client, dpo_user, tenant_a):
    obj = make_object(model, tenant_a)
    before = snapshot(obj)
    client.force_login(dpo_user)
    base = f"{admin_base(model)}{obj.pk}/history/"
    assert client.get(base).status_code == 200, base
    for history_id in history_of(obj).values_list("history_id", flat=True):
        url = f"{base}{history_id}/"
        assert client.get(url).status_code == 200, url
        assert client.post(url, {}).status_code == 405, url
    assert client.post(base, {}).status_code == 405
    assert snapshot(obj) == before


def test_support_reads_the_history_of_its_own_tenant(client, support_user, tenant_a):
    key = ApiKeyFactory(tenant=tenant_a)
    client.force_login(support_user)
    response = client.get(f"/admin/portal/apikey/{key.pk}/history/")
    assert response.status_code == 200
    history_id = history_of(key).first().history_id
    page = client.get(f"/admin/portal/apikey/{key.pk}/history/{history_id}/")
    assert page.status_code == 200
    assert b"Revert" not in page.content


def test_a_revoked_api_key_cannot_be_restored_from_its_history(client, dpo_user, tenant_a):
    key = ApiKeyFactory(tenant=tenant_a)
    before_revocation = history_of(key).latest("history_date").history_id
    services.api_key_revoke(api_key=key, revoked_by=dpo_user)
    client.force_login(dpo_user)
    response = client.post(
        f"/admin/portal/apikey/{key.pk}/history/{before_revocation}/",
        {"tenant": tenant_a.pk, "name": key.name},
    )
    assert response.status_code == 405
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api_client_for(key).get("/api/v1/tenant/").status_code == 401


def test_a_deleted_call_cannot_be_brought_back_from_its_history(client, dpo_user, tenant_a):
    call = CallFactory(tenant=tenant_a)
    history_id = history_of(call).earliest("history_date").history_id
    call_delete(call=call, reason="Caller asked", source="api")
    client.force_login(dpo_user)
    response = client.post(f"/admin/calls/call/{call.pk}/history/{history_id}/", {})
    assert response.status_code == 405
    assert not Call.objects.filter(pk=call.pk).exists()
