"""Request webhooks: one per state change, signed, ids only, retried until delivered."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from dsr import services
from portal import webhooks
from portal.models import WebhookDelivery
from portal.numbers import number_variants
from portal.tasks import webhook_retry_due
from tests.dsr.conftest import SUBJECT
from tests.factories import DataSubjectRequestFactory, WebhookFactory

pytestmark = pytest.mark.django_db
SECRET = "whsec-" + "k" * 32


def received_bodies(receiver) -> list[dict]:
    bodies = []
    for item in receiver.requests:
        headers = {k.lower(): v for k, v in item["headers"].items()}
        assert webhooks.verify_signature(SECRET, item["body"], headers["x-portal-signature"])
        assert not webhooks.verify_signature(
            "wrong" * 8, item["body"], headers["x-portal-signature"]
        )
        bodies.append(json.loads(item["body"]))
    return bodies


def test_every_state_change_is_delivered_signed_and_without_personal_data(
    subject, tenant_a, dpo_user, webhook_receiver, django_capture_on_commit_callbacks
):
    WebhookFactory(tenant=tenant_a, url=webhook_receiver.url, secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        request = DataSubjectRequestFactory(tenant=tenant_a)
        services.request_start_verification(
            request=request, by=dpo_user, pause_reason="Asked for a recent call's date."
        )
        services.request_verify(request=request, by=dpo_user, method="call_details")
        services.request_approve(request=request, by=dpo_user)
    bodies = received_bodies(webhook_receiver)
    seen = [(b["event"], b["data"].get("previous_status"), b["data"]["status"]) for b in bodies]
    assert seen == [
        ("request.received", None, "received"),
        ("request.status_changed", "received", "verifying"),
        ("request.deadline_changed", None, "verifying"),
        ("request.status_changed", "verifying", "in_review"),
        ("request.status_changed", "in_review", "approved"),
        ("request.status_changed", "approved", "processing"),
        ("request.package_ready", None, "processing"),
        ("request.status_changed", "processing", "completed"),
    ]
    for body in bodies:
        assert body["tenant"] == "tenant-a"
        data = body["data"]
        assert data["request"] == request.pk and data["kind"] == "access" and data["due_at"]
        text = json.dumps(body)
        for variant in number_variants(SUBJECT):
            assert variant not in text
        assert "Erika" not in text and "erika@example.com" not in text


def test_a_failed_delivery_is_retried_until_the_receiver_accepts_it(
    tenant_a, dpo_user, webhook_receiver, django_capture_on_commit_callbacks
):
    WebhookFactory(
        tenant=tenant_a, url=webhook_receiver.url, secret=SECRET, events=["request.status_changed"]
    )
    webhook_receiver.statuses = [503, 500]
    request = DataSubjectRequestFactory(tenant=tenant_a)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            services.request_verify(request=request, by=dpo_user, method="callback")
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "retrying",
            1,
            503,
        )
        traveller.shift(timedelta(seconds=31))
        webhook_retry_due()
        traveller.shift(timedelta(minutes=3))
        webhook_retry_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    bodies = received_bodies(webhook_receiver)
    assert len(bodies) == 3 and len({b["id"] for b in bodies}) == 1  # the same delivery, again
    assert bodies[-1]["data"]["status"] == "in_review"


def test_request_events_are_offered_to_webhook_subscribers(api_a):
    response = api_a.post(
        "/api/v1/webhooks/",
        {
            "url": "https://hooks.example.com/x",
            "events": ["request.status_changed", "request.rectified"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
