import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from portal import webhooks
from portal.models import WebhookDelivery
from portal.tasks import webhook_retry_due
from tests.factories import WebhookFactory

pytestmark = pytest.mark.django_db


def test_delivery_is_signed_and_the_signature_verifies(
    tenant_a, webhook_receiver, django_capture_on_commit_callbacks
):
    webhook = WebhookFactory(tenant=tenant_a, url=webhook_receiver.url, secret="x" * 32)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_emit(tenant=tenant_a, event="webhook.test", payload={"request": 7})
    [received] = webhook_receiver.requests
    headers = {k.lower(): v for k, v in received["headers"].items()}
    assert webhooks.verify_signature("x" * 32, received["body"], headers["x-portal-signature"])
    assert not webhooks.verify_signature("y" * 32, received["body"], headers["x-portal-signature"])
    tampered = received["body"].replace(b"7", b"8")
    assert not webhooks.verify_signature("x" * 32, tampered, headers["x-portal-signature"])
    body = json.loads(received["body"])
    assert body["event"] == "webhook.test" and body["data"] == {"request": 7}
    assert body["tenant"] == "tenant-a"
    assert headers["x-portal-event"] == "webhook.test"
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert delivery.status == "delivered" and delivery.attempts == 1


def test_failed_delivery_is_retried_with_backoff_until_it_succeeds(
    tenant_a, webhook_receiver, django_capture_on_commit_callbacks
):
    WebhookFactory(tenant=tenant_a, url=webhook_receiver.url)
    webhook_receiver.statuses = [500, 503]
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.webhook_emit(tenant=tenant_a, event="webhook.test", payload={})
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == "retrying" and delivery.attempts == 1
        assert delivery.last_status_code == 500
        assert delivery.next_attempt_at == timezone.now() + timedelta(seconds=30)
        assert webhook_retry_due() == 0  # not due yet
        traveller.shift(timedelta(seconds=31))
        assert webhook_retry_due() == 1
        delivery.refresh_from_db()
        assert delivery.status == "retrying" and delivery.attempts == 2
        assert delivery.next_attempt_at == timezone.now() + timedelta(minutes=2)
        traveller.shift(timedelta(minutes=3))
        webhook_retry_due()
        delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 3
    assert len(webhook_receiver.requests) == 3


def test_delivery_gives_up_after_max_attempts(
    tenant_a, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    WebhookFactory(tenant=tenant_a, url="http://127.0.0.1:9/unreachable")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.webhook_emit(tenant=tenant_a, event="webhook.test", payload={})
        traveller.shift(timedelta(hours=1))
        webhook_retry_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 2
    assert delivery.last_error == webhooks.UNREACHABLE


def test_only_subscribed_and_own_tenant_webhooks_get_events(tenant_a, tenant_b):
    wants = WebhookFactory(tenant=tenant_a, events=["webhook.test"])
    WebhookFactory(tenant=tenant_a, events=["other.event"])
    WebhookFactory(tenant=tenant_b)
    webhooks.register_event("other.event", "test")
    deliveries = webhooks.webhook_emit(tenant=tenant_a, event="webhook.test", payload={})
    assert [d.webhook_id for d in deliveries] == [wants.pk]


def test_private_addresses_are_refused_in_production(
    tenant_a, settings, webhook_receiver, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    WebhookFactory(tenant=tenant_a, url=webhook_receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_emit(tenant=tenant_a, event="webhook.test", payload={})
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error == webhooks.UNREACHABLE
    assert "127.0.0.1" not in delivery.last_error
    assert webhook_receiver.requests == []


def test_webhook_api_create_shows_secret_once_and_validates(api_a, settings):
    response = api_a.post("/api/v1/webhooks/", {"url": "ftp://x", "events": []}, format="json")
    assert response.status_code == 400
    assert "url" in response.json()["error"]["fields"]
    response = api_a.post(
        "/api/v1/webhooks/", {"url": "https://h.example/x", "events": ["nope"]}, format="json"
    )
    assert response.status_code == 400
    assert "events.0" in response.json()["error"]["fields"]
    response = api_a.post("/api/v1/webhooks/", {"url": "https://h.example/x"}, format="json")
    assert response.status_code == 201
    assert len(response.json()["secret"]) >= 32
    detail = api_a.get(f"/api/v1/webhooks/{response.json()['id']}/").json()
    assert "secret" not in detail


def test_webhook_api_test_delivery(api_a, webhook_receiver, django_capture_on_commit_callbacks):
    created = api_a.post("/api/v1/webhooks/", {"url": webhook_receiver.url}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_a.post(f"/api/v1/webhooks/{created.json()['id']}/test/")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert len(webhook_receiver.requests) == 1
    assert WebhookDelivery.objects.get().status == "delivered"
    deliveries = api_a.get(f"/api/v1/webhooks/{created.json()['id']}/deliveries/").json()
    assert deliveries["count"] == 1


def test_https_required_in_production(api_a, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    response = api_a.post("/api/v1/webhooks/", {"url": "http://h.example/x"}, format="json")
    assert response.status_code == 400
    assert "https" in response.json()["error"]["message"]
