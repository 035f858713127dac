"""The issue's main path: two tenants' calls → rated high → both told at once, each with its own
counts only → acknowledgements → closed → in the register export."""

import csv
import io
import json

import pytest
from django.core import mail

from breaches import services
from breaches.models import BreachIncident, BreachNotification
from portal.models import WebhookDelivery
from tests.factories import WebhookFactory

pytestmark = pytest.mark.django_db

A_SUBJECTS = "Data subjects concerned (approximate, your data only): 2 (distinct phone numbers)"
A_RECORDS = (
    "Records concerned (approximate, your data only):       7 "
    "(call records: 3, recordings: 2, transcripts: 2)"
)
B_SUBJECTS = "Data subjects concerned (approximate, your data only): 1 (distinct phone numbers)"
B_RECORDS = (
    "Records concerned (approximate, your data only):       3 "
    "(call records: 1, recordings: 1, transcripts: 1)"
)


@pytest.fixture
def receivers(tenant_a, tenant_b, webhook_receiver):
    from tests.conftest import _Receiver

    other = _Receiver()
    WebhookFactory(tenant=tenant_a, url=webhook_receiver.url, events=["breach.notified"])
    WebhookFactory(tenant=tenant_b, url=other.url, events=["breach.notified"])
    yield webhook_receiver, other
    other.close()


def test_two_tenants_rated_high_notified_acknowledged_closed_and_exported(
    two_tenant_incident,
    tenant_a,
    tenant_b,
    admin_a,
    viewer_a,
    admin_b,
    dpo_user,
    api_a,
    receivers,
    client,
    django_capture_on_commit_callbacks,
):
    incident = two_tenant_incident
    tenant_a.privacy_contact_email = "privacy@a.example"
    tenant_a.save()
    tenant_b.privacy_contact_email = "dpo@b.example"
    tenant_b.save()

    # Rated high: the notices go out at once, in the background, to both tenants.
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_assess(
            incident=incident,
            risk_level="high",
            reasoning="Voices and numbers were publicly readable for two days.",
            by=dpo_user,
        )
    notices = {n.tenant_id: n for n in BreachNotification.objects.filter(recipient="tenant")}
    assert set(notices) == {tenant_a.pk, tenant_b.pk}
    a_notice, b_notice = notices[tenant_a.pk], notices[tenant_b.pk]
    assert a_notice.sent_at == b_notice.sent_at  # at once
    assert a_notice.phase == b_notice.phase == "initial"

    # Each tenant reads its own counts, every Art. 33(3) item, and our rating as advice...
    assert A_SUBJECTS in a_notice.content and A_RECORDS in a_notice.content
    assert B_SUBJECTS in b_notice.content and B_RECORDS in b_notice.content
    for notice in (a_notice, b_notice):
        content = notice.content
        assert "A storage bucket holding call recordings was publicly readable." in content
        assert "Call recordings, Phone numbers and call metadata" in content
        assert "Dana DPO, dpo@platform.example, +49 30 1111" in content
        assert "Callers' voices and numbers may have been copied." in content
        assert "Bucket made private; access keys rotated." in content
        assert "Bucket policy checks in CI." in content
        assert "Risk level: High risk" in content
        assert "Voices and numbers were publicly readable for two days." in content
        assert f"/api/v1/breaches/{incident.pk}/acknowledge/" in content
    # ...and nothing of the other tenant: no name, no counts, no totals.
    assert "Tenant B" not in a_notice.content and "tenant-b" not in a_notice.content
    assert B_SUBJECTS not in a_notice.content and B_RECORDS not in a_notice.content
    assert "Tenant A" not in b_notice.content and "tenant-a" not in b_notice.content
    assert A_SUBJECTS not in b_notice.content and A_RECORDS not in b_notice.content

    # Emails: one per tenant, to its privacy contact, owners and admins (not viewers).
    by_recipient = {tuple(m.to): m for m in mail.outbox}
    assert set(by_recipient) == {
        ("admin-a@example.com", "privacy@a.example"),
        ("admin-b@example.com", "dpo@b.example"),
    }
    a_mail = by_recipient[("admin-a@example.com", "privacy@a.example")]
    assert a_mail.body == a_notice.content
    assert a_mail.subject == f"[Breach notice] {incident.reference}: {incident.title}"
    assert "Tenant B" not in a_mail.body and B_RECORDS not in a_mail.body
    b_mail = by_recipient[("admin-b@example.com", "dpo@b.example")]
    assert "Tenant A" not in b_mail.body and A_RECORDS not in b_mail.body
    assert a_notice.__class__.objects.filter(emailed_at__isnull=True).count() == 0

    # Webhooks: each tenant's endpoint got its own ids and counts only.
    receiver_a, receiver_b = receivers
    [hook_a] = receiver_a.requests
    [hook_b] = receiver_b.requests
    data_a = json.loads(hook_a["body"])["data"]
    data_b = json.loads(hook_b["body"])["data"]
    assert data_a["notification"] == a_notice.pk and data_a["incident"] == incident.pk
    assert (data_a["subjects"], data_a["calls"], data_a["recordings"]) == (2, 3, 2)
    assert (data_b["subjects"], data_b["calls"], data_b["recordings"]) == (1, 1, 1)
    assert "+49" not in hook_a["body"].decode() and "+353" not in hook_b["body"].decode()
    assert WebhookDelivery.objects.filter(event="breach.notified", status="delivered").count() == 2

    # The task ran again (a retry, a re-rating): nothing is sent twice.
    from breaches.tasks import incident_notify_tenants_task

    assert incident_notify_tenants_task(incident.pk) == "sent 0"
    assert BreachNotification.objects.count() == 2

    # Acknowledgements: A through the API, B by one of its users in the dashboard.
    response = api_a.post(f"/api/v1/breaches/{incident.pk}/acknowledge/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["acknowledged"] is True
    services.notification_acknowledge(notification=b_notice, user=admin_b)
    a_notice.refresh_from_db()
    b_notice.refresh_from_db()
    assert a_notice.acknowledged_at and a_notice.acknowledged_by_api_key is not None
    assert b_notice.acknowledged_at and b_notice.acknowledged_by == admin_b
    assert a_notice.history.first().history_actor.startswith("api_key:")

    # Contained, then closed.
    services.incident_contain(incident=incident)
    closed = services.incident_close(incident=incident, note="Both controllers informed.")
    assert closed.status == BreachIncident.Status.CLOSED

    # The register export lists it with every Art. 33(3) item.
    client.force_login(dpo_user)
    response = client.get("/admin/breaches/breachincident/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["Reference"] == incident.reference
    assert row["Status"] == "Closed"
    assert row["Nature of the breach (Art. 33(3)(a))"] == incident.description
    assert row["Categories of personal data (Art. 33(3)(a))"] == (
        "Call recordings, Phone numbers and call metadata"
    )
    assert row["Approximate number of data subjects (Art. 33(3)(a))"] == "3"
    assert row["Approximate number of records (Art. 33(3)(a))"] == "10"
    assert row["Records: calls / recordings / transcripts"] == "4 / 3 / 3"
    assert row["Controllers concerned, with approximate subjects and records"] == (
        "Tenant A: ~2 subjects, ~7 records; Tenant B: ~1 subjects, ~3 records"
    )
    assert row["DPO contact (Art. 33(3)(b))"] == incident.dpo_contact
    assert row["Likely consequences (Art. 33(3)(c))"] == incident.likely_consequences
    assert row["Measures taken (Art. 33(3)(d))"] == incident.measures_taken
    assert row["Measures proposed (Art. 33(3)(d))"] == incident.measures_proposed
    assert row["Risk level"] == "High risk"
    assert row["Risk assessment reasoning"].startswith("Voices and numbers")
    assert "Tenant A" in row["Controllers notified (initial notice, UTC)"]
    assert "Tenant B" in row["Acknowledged by controllers (UTC)"]
    assert row["72-hour deadline (UTC)"].endswith("UTC")
    assert row["Closed (UTC)"].endswith("UTC")
