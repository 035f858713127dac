"""Races the fuzzer found: an event emitted while its webhook is deleted, and two writes on the
same object at once. Neither may end in a server error.

The interleavings are forced deterministically (the second request runs at the exact point
between the first one's read and its write), so the tests run on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from consent.models import Purpose
from consent.services import purposes as purpose_services
from portal import webhooks
from portal.models import Webhook, WebhookDelivery
from tests.factories import WebhookFactory


@pytest.mark.django_db(transaction=True)
def test_an_event_emitted_while_its_webhook_is_deleted_commits_without_a_delivery(
    tenant_a, monkeypatch
):
    webhook = WebhookFactory(tenant=tenant_a)
    other = WebhookFactory(tenant=tenant_a, url="https://hooks.example.com/other")
    read = webhooks._emit_targets

    def read_then_deleted_elsewhere(tenant_id, event):
        targets = read(tenant_id, event)
        webhooks.webhook_delete(webhook=webhook)  # another request, between read and write
        return targets

    monkeypatch.setattr(webhooks, "_emit_targets", read_then_deleted_elsewhere)
    with transaction.atomic():  # the caller's transaction commits: no IntegrityError
        deliveries = webhooks.webhook_emit(tenant=tenant_a, event="webhook.test", payload={"n": 1})
    assert [d.webhook_id for d in deliveries] == [other.pk]
    assert not Webhook.objects.filter(pk=webhook.pk).exists()
    assert list(WebhookDelivery.objects.values_list("webhook_id", flat=True)) == [other.pk]


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_creates_of_the_same_purpose_answer_201_and_409(
    api_a, tenant_a, monkeypatch
):
    body = {
        "code": "billing",
        "description": "Billing questions.",
        "default_lawful_basis": "contract",
    }
    real_filter = Purpose.objects.for_tenant

    class SeesNothingYet:
        """The duplicate check of the second request ran before the first one committed."""

        def __init__(self, tenant):
            self.queryset = real_filter(tenant)

        def filter(self, **kwargs):
            return self.queryset.none()

    first = api_a.post("/api/v1/purposes/", body, format="json")
    assert first.status_code == 201, first.content
    monkeypatch.setattr(purpose_services.Purpose.objects, "for_tenant", SeesNothingYet)
    second = api_a.post("/api/v1/purposes/", body, format="json")
    assert second.status_code == 409, second.content
    assert second.json()["error"]["code"] == "conflict"
    monkeypatch.undo()
    assert Purpose.objects.filter(tenant=tenant_a, code="billing").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_patch_racing_a_delete_answers_404_not_500(api_a, tenant_a, monkeypatch):
    created = api_a.post(
        "/api/v1/retention-rules/", {"category": "sales", "max_age_days": 90}, format="json"
    )
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    from calls import services as calls_services
    from calls.models import RetentionRule

    real_update = calls_services.retention_rule_update

    def deleted_meanwhile(*, rule, **changes):
        RetentionRule.objects.filter(pk=rule.pk).delete()  # another request's DELETE won
        return real_update(rule=rule, **changes)

    monkeypatch.setattr("calls.services.retention_rule_update", deleted_meanwhile)
    response = api_a.patch(
        f"/api/v1/retention-rules/{rule_id}/", {"max_age_days": 30}, format="json"
    )
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
