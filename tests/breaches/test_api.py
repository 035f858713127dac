"""The tenant's API: only incidents it was told about, only its own counts and notices."""

import json

import pytest

from breaches import services
from breaches.models import BreachNotification
from tests.breaches.conftest import make_call, open_incident
from tests.factories import BreachIncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def notified(two_tenant_incident):
    services.incident_assess(
        incident=two_tenant_incident, risk_level="risk", reasoning="Numbers were exposed."
    )
    services.incident_notify_tenants(incident=two_tenant_incident)
    return two_tenant_incident


@pytest.fixture
def only_b(tenant_b):
    """An incident that touched tenant B only, notified to B."""
    incident = open_incident(title="Transcripts of one customer exposed")
    services.incident_link_calls(incident=incident, call_ids=[make_call(tenant_b).pk])
    services.incident_notify_tenants(incident=incident)
    return incident


def test_list_shows_the_tenants_own_incidents_with_its_own_counts_only(
    notified, only_b, api_a, api_b, tenant_a
):
    response = api_a.get("/api/v1/breaches/")
    assert response.status_code == 200
    [item] = response.json()["results"]
    assert item["id"] == notified.pk and item["reference"] == notified.reference
    assert item["impact"] == {
        "calls": 3,
        "recordings": 2,
        "transcripts": 2,
        "records": 7,
        "subjects": 2,
        "computed_at": item["impact"]["computed_at"],
    }
    [notice] = item["notices"]
    assert notice["phase"] == "initial" and notice["acknowledged_at"] is None
    assert notice["id"] == BreachNotification.objects.get(tenant=tenant_a).pk
    assert item["risk_level"] == "risk" and item["risk_reasoning"] == "Numbers were exposed."
    assert item["acknowledged"] is False
    assert 69.8 < item["hours_left"] <= 70  # became aware two hours ago
    assert item["notification_deadline_local"].endswith(("CET (UTC+01:00)", "CEST (UTC+02:00)"))
    body = json.dumps(response.json())
    for leak in ("Tenant B", "tenant-b", "+353", "Transcripts of one customer exposed"):
        assert leak not in body

    ids_b = {i["id"] for i in api_b.get("/api/v1/breaches/").json()["results"]}
    assert ids_b == {notified.pk, only_b.pk}
    [shared] = [
        i for i in api_b.get("/api/v1/breaches/").json()["results"] if i["id"] == notified.pk
    ]
    assert shared["impact"]["subjects"] == 1 and shared["impact"]["calls"] == 1
    assert "Tenant A" not in json.dumps(shared)


def test_an_incident_that_did_not_affect_the_tenant_is_a_404(notified, only_b, api_a):
    assert api_a.get(f"/api/v1/breaches/{notified.pk}/").status_code == 200
    response = api_a.get(f"/api/v1/breaches/{only_b.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "Transcripts" not in response.content.decode()
    response = api_a.post(f"/api/v1/breaches/{only_b.pk}/acknowledge/", {}, format="json")
    assert response.status_code == 404
    assert BreachNotification.objects.filter(acknowledged_at__isnull=False).count() == 0


def test_an_affected_tenant_sees_nothing_before_it_is_told(two_tenant_incident, api_a):
    assert api_a.get("/api/v1/breaches/").json()["results"] == []
    assert api_a.get(f"/api/v1/breaches/{two_tenant_incident.pk}/").status_code == 404


def test_isolation_factory_makes_an_incident_the_given_tenant_sees(tenant_a, tenant_b, api_a):
    """The factory the isolation suite uses creates an incident visible to its tenant, so the
    suite's 404 for another tenant proves the scoping, not an empty table."""
    own = BreachIncidentFactory(tenant=tenant_a)
    foreign = BreachIncidentFactory(tenant=tenant_b)
    ids = {i["id"] for i in api_a.get("/api/v1/breaches/").json()["results"]}
    assert ids == {own.pk}
    assert api_a.get(f"/api/v1/breaches/{own.pk}/").status_code == 200
    assert api_a.get(f"/api/v1/breaches/{foreign.pk}/").status_code == 404


def test_acknowledge_by_api_key_and_by_dashboard_session(
    notified, api_a, client, admin_b, tenant_b
):
    response = api_a.post(f"/api/v1/breaches/{notified.pk}/acknowledge/", {}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert data["acknowledged"] is True
    assert data["notices"][0]["acknowledged_by"].startswith("API key ")
    # Again: idempotent, the first acknowledgement stays.
    first = data["notices"][0]["acknowledged_at"]
    again = api_a.post(f"/api/v1/breaches/{notified.pk}/acknowledge/", {}, format="json").json()
    assert again["notices"][0]["acknowledged_at"] == first

    client.force_login(admin_b)
    response = client.post(
        f"/api/v1/breaches/{notified.pk}/acknowledge/",
        {"notification": BreachNotification.objects.get(tenant=tenant_b).pk},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["notices"][0]["acknowledged_by"] == "admin-b"


def test_acknowledging_another_tenants_notice_id_is_a_404(notified, api_a, tenant_b):
    b_notice = BreachNotification.objects.get(tenant=tenant_b)
    response = api_a.post(
        f"/api/v1/breaches/{notified.pk}/acknowledge/",
        {"notification": b_notice.pk},
        format="json",
    )
    assert response.status_code == 404
    b_notice.refresh_from_db()
    assert b_notice.acknowledged_at is None


def test_viewers_read_but_do_not_acknowledge(notified, client, viewer_a):
    client.force_login(viewer_a)
    assert client.get("/api/v1/breaches/").status_code == 200
    response = client.post(
        f"/api/v1/breaches/{notified.pk}/acknowledge/", {}, content_type="application/json"
    )
    assert response.status_code == 403


def test_filter_unacknowledged(notified, only_b, api_b):
    api_b.post(f"/api/v1/breaches/{only_b.pk}/acknowledge/", {}, format="json")
    pending = api_b.get("/api/v1/breaches/?unacknowledged=true").json()["results"]
    assert [i["id"] for i in pending] == [notified.pk]
    done = api_b.get("/api/v1/breaches/?unacknowledged=false").json()["results"]
    assert [i["id"] for i in done] == [only_b.pk]
    bad = api_b.get("/api/v1/breaches/?status=nonsense")
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
