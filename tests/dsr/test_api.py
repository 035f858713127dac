"""/api/v1/requests/: open, list and filter, follow, confirm."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from dsr import services
from dsr.models import DataSubjectRequest
from tests.dsr.conftest import SUBJECT
from tests.factories import DataSubjectRequestFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def test_create_returns_the_deadline_and_accepts_an_earlier_receipt(api_a, tenant_a):
    with time_machine.travel(datetime(2024, 3, 20, 12, 0, tzinfo=BERLIN), tick=False):
        response = api_a.post(
            "/api/v1/requests/",
            {
                "kind": "access",
                "numbers": ["0151/12345678"],
                "received_at": "2024-03-05T09:30:00+01:00",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["numbers"] == [SUBJECT]
    assert body["channel"] == "api" and body["status"] == "received"
    due = parse_datetime(body["due_at"]).astimezone(BERLIN)
    assert (due.date().isoformat(), due.hour, due.minute) == ("2024-04-05", 23, 59)
    assert body["overdue"] is False and body["package"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "delete-me", "numbers": [SUBJECT]}, "kind"),
        ({"kind": "access", "numbers": []}, "numbers"),
        ({"kind": "access"}, "numbers"),
        ({"kind": "access", "numbers": ["1234567890123456789"]}, "numbers.0"),
        ({"kind": "access", "numbers": [SUBJECT, "abc"]}, "numbers.1"),
        ({"kind": "access", "numbers": [SUBJECT], "email": "nope"}, "email"),
        (
            {"kind": "access", "numbers": [SUBJECT], "received_at": "2999-01-01T00:00:00Z"},
            "received_at",
        ),
        ({"kind": "access", "numbers": [SUBJECT], "received_at": "yesterday"}, "received_at"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_field_and_writes_nothing(api_a, payload, field):
    response = api_a.post("/api/v1/requests/", payload, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in error["fields"], error
    assert not DataSubjectRequest.objects.exists()


def test_list_filters_by_status_kind_and_overdue(api_a, tenant_a, dpo_user):
    fresh = DataSubjectRequestFactory(tenant=tenant_a)
    late = DataSubjectRequestFactory(
        tenant=tenant_a, kind="erasure", received_at=timezone.now() - timedelta(days=45)
    )
    done = DataSubjectRequestFactory(
        tenant=tenant_a, kind="objection", received_at=timezone.now() - timedelta(days=45)
    )
    services.request_verify(request=done, by=dpo_user, method="callback")
    services.request_approve(request=done, by=dpo_user)

    def ids(query):
        response = api_a.get(f"/api/v1/requests/{query}")
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["results"]}

    assert ids("") == {fresh.pk, late.pk, done.pk}
    assert ids("?overdue=true") == {late.pk}  # a completed request is never overdue
    assert ids("?overdue=false") == {fresh.pk, done.pk}
    assert ids("?status=completed") == {done.pk}
    assert ids("?status=received&kind=erasure") == {late.pk}
    assert ids("?kind=access&kind=objection") == {fresh.pk, done.pk}
    assert api_a.get("/api/v1/requests/?status=bogus").status_code == 400
    detail = api_a.get(f"/api/v1/requests/{late.pk}/").json()
    assert detail["overdue"] is True and detail["kind"] == "erasure"


def test_viewers_read_but_do_not_open_requests(tenant_a, viewer_a):
    DataSubjectRequestFactory(tenant=tenant_a)
    api = APIClient()
    api.force_login(viewer_a)
    assert api.get("/api/v1/requests/").json()["count"] == 1
    response = api.post("/api/v1/requests/", {"kind": "access", "numbers": [SUBJECT]})
    assert response.status_code == 403


def test_the_tenant_confirms_a_forwarded_request_through_the_api(api_a, tenant_a, support_user):
    request = DataSubjectRequestFactory(
        tenant=tenant_a, channel="direct_to_processor", by=support_user
    )
    listed = api_a.get(f"/api/v1/requests/{request.pk}/").json()
    assert listed["forwarded_at"] and listed["confirmed_at"] is None
    response = api_a.post(
        f"/api/v1/requests/{request.pk}/confirm/", {"note": "Ticket 4711"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["confirmed_at"]
    again = api_a.post(f"/api/v1/requests/{request.pk}/confirm/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_confirmed"
    event = request.events.get(action="confirmed")
    assert event.actor.startswith("api_key:") and event.note == "Ticket 4711"


def test_no_package_yet_is_a_clean_404(api_a, tenant_a):
    request = DataSubjectRequestFactory(tenant=tenant_a)
    response = api_a.get(f"/api/v1/requests/{request.pk}/package/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_package"
