"""Every model keeps history, and each historical row names who acted."""

import pytest
from django.apps import apps
from simple_history.models import registered_models

from portal.audit import SYSTEM_USERNAME
from portal.models import Tenant, WebhookDelivery
from portal.roles import PROJECT_APPS
from tests.factories import WebhookFactory


def project_models():
    for app_label in PROJECT_APPS:
        for model in apps.get_app_config(app_label).get_models():
            if model.__module__.startswith("simple_history") or model.__name__.startswith(
                "Historical"
            ):
                continue
            if getattr(model, "instance_type", None) is not None:  # a historical model
                continue
            yield model


def test_every_project_model_has_history():
    models = list(project_models())
    assert models, "no project models found"
    missing = [m._meta.label for m in models if m._meta.db_table not in registered_models]
    assert not missing, f"models without django-simple-history: {missing}"


def test_every_historical_table_records_the_actor():
    for model in project_models():
        history_model = model.history.model
        assert "history_actor" in {f.name for f in history_model._meta.fields}, model


@pytest.mark.django_db
def test_web_edit_records_the_logged_in_user(client, dpo_user, tenant_a):
    client.force_login(dpo_user)
    response = client.post(
        f"/admin/portal/tenant/{tenant_a.pk}/change/",
        {
            "name": "Tenant A renamed",
            "slug": "tenant-a",
            "country": "DE",
            "timezone": "Europe/Berlin",
            "is_active": "on",
            "purpose_gate": "refuse",
            "sms_notice_template": "x {url}",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    record = tenant_a.history.latest()
    assert record.name == "Tenant A renamed"
    assert record.history_user == dpo_user
    assert record.history_actor == "user:dpo"


@pytest.mark.django_db
def test_api_key_edit_records_the_key_and_its_creator(api_a, key_a, admin_a, tenant_a):
    response = api_a.patch("/api/v1/tenant/", {"legal_name": "A GmbH"}, format="json")
    assert response.status_code == 200
    record = Tenant.objects.get(pk=tenant_a.pk).history.latest()
    assert record.legal_name == "A GmbH"
    assert record.history_user == admin_a
    assert record.history_actor == f"api_key:{key_a.prefix}"


@pytest.mark.django_db
def test_api_key_without_creator_still_names_the_key(tenant_a):
    from tests.conftest import api_client_for
    from tests.factories import ApiKeyFactory

    key = ApiKeyFactory(tenant=tenant_a, created_by=None)
    response = api_client_for(key).patch("/api/v1/tenant/", {"legal_name": "X"}, format="json")
    assert response.status_code == 200
    record = tenant_a.history.latest()
    assert record.history_user is None
    assert record.history_actor == f"api_key:{key.prefix}"


@pytest.mark.django_db
def test_task_records_the_system_user(
    tenant_a, webhook_receiver, django_capture_on_commit_callbacks
):
    from portal.webhooks import webhook_emit

    webhook = WebhookFactory(tenant=tenant_a, url=webhook_receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_emit(tenant=tenant_a, event="webhook.test", payload={"x": 1})
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert delivery.status == "delivered"
    record = delivery.history.latest()
    assert record.history_user.username == SYSTEM_USERNAME
    assert record.history_actor == "task:portal.tasks.webhook_deliver"
