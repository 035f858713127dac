"""The holds API: a tenant places, lists and releases its own holds; bad input is a 400 naming
the field; releasing resumes the erasures the hold deferred."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, LegalHold
from dsr import services
from dsr.models import DataSubjectRequest
from tests.conftest import api_client_for
from tests.factories import ApiKeyFactory, CallFactory, DataSubjectRequestFactory, RecordingFactory

pytestmark = pytest.mark.django_db
SUBJECT = "+4915112345678"


def post(api, data):
    return api.post("/api/v1/holds/", data, format="json")


def test_place_a_hold_on_calls_list_it_and_read_it(api_a, tenant_a, key_a):
    call = CallFactory(tenant=tenant_a)
    response = post(
        api_a,
        {
            "reason_category": "statute_of_limitations",
            "reason": "Complaint of March: claims possible until 2028.",
            "calls": [call.pk],
            "expires_at": (timezone.now() + timedelta(days=900)).isoformat(),
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["scope"] == "calls" and body["calls"] == [call.pk]
    assert body["legal_ground"] == "art_17_3_e" and body["state"] == "active"
    assert body["applied_by"] == f"api_key:{key_a.prefix}"
    listed = api_a.get("/api/v1/holds/").json()["results"]
    assert [h["id"] for h in listed] == [body["id"]]
    assert api_a.get(f"/api/v1/holds/{body['id']}/").json()["reason"].startswith("Complaint")


def test_place_a_hold_on_numbers_and_on_a_period(api_a, tenant_a):
    numbers = post(
        api_a,
        {"reason_category": "litigation", "reason": "Case 7", "numbers": ["0151 12345678"]},
    )
    assert numbers.status_code == 201 and numbers.json()["numbers"] == [SUBJECT]
    period = post(
        api_a,
        {
            "reason_category": "regulator",
            "reason": "Inquiry 2025-17",
            "from": "2025-01-01T00:00:00Z",
            "to": "2025-07-01T00:00:00Z",
        },
    )
    assert period.status_code == 201, period.content
    assert period.json()["scope"] == "period" and period.json()["legal_ground"] == "art_17_3_b"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"reason": "x"}, "calls"),  # no scope
        ({"reason": "x", "numbers": [SUBJECT], "from": "2025-01-01T00:00:00Z"}, "numbers"),
        ({"reason": "x", "calls": ["abc"]}, "calls.0"),
        ({"reason": "x", "numbers": ["call me maybe"]}, "numbers.0"),
        ({"numbers": [SUBJECT]}, "reason"),
        ({"reason": "x", "numbers": [SUBJECT], "reason_category": "whim"}, "reason_category"),
        ({"reason": "x", "numbers": [SUBJECT], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api_a, data, field):
    response = post(api_a, {"reason_category": "litigation", **data})
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert not LegalHold.objects.exists()


def test_another_tenants_call_ids_are_a_400_naming_calls(api_a, tenant_a, tenant_b):
    own = CallFactory(tenant=tenant_a)
    foreign = CallFactory(tenant=tenant_b)
    response = post(
        api_a, {"reason_category": "litigation", "reason": "x", "calls": [own.pk, foreign.pk]}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["calls"] and str(foreign.pk) in error["message"]
    assert not LegalHold.objects.exists()


def test_viewers_cannot_place_holds(tenant_a, viewer_a, client):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(viewer_a)
    response = api.post(
        "/api/v1/holds/",
        {"reason_category": "litigation", "reason": "x", "numbers": [SUBJECT]},
        format="json",
        HTTP_X_TENANT=tenant_a.slug,
    )
    assert response.status_code == 403
    assert api.get("/api/v1/holds/", HTTP_X_TENANT=tenant_a.slug).status_code == 200


def test_release_needs_a_reason_and_resumes_the_deferred_erasure(
    api_a, tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks
):
    call = RecordingFactory(tenant=tenant_a, call__caller=SUBJECT).call
    hold = post(
        api_a, {"reason_category": "litigation", "reason": "Case 9", "calls": [call.pk]}
    ).json()
    request = DataSubjectRequestFactory(tenant=tenant_a, kind="erasure", numbers=[SUBJECT])
    services.request_verify(request=request, by=dpo_user, method="callback")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_approve(request=request, by=second_dpo)
    request.refresh_from_db()
    assert request.status == "partially_completed"

    url = f"/api/v1/holds/{hold['id']}/release/"
    missing = api_a.post(url, {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["error"]["fields"]
    with django_capture_on_commit_callbacks(execute=True):
        released = api_a.post(url, {"reason": "Case withdrawn."}, format="json")
    assert released.status_code == 200, released.content
    assert released.json()["state"] == "released"
    assert released.json()["release_reason"] == "Case withdrawn."
    assert not Call.objects.filter(pk=call.pk).exists()
    request.refresh_from_db()
    assert request.status == "completed"
    again = api_a.post(url, {"reason": "again"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_released"


def test_a_key_of_another_tenant_sees_no_hold(api_a, tenant_b, admin_b):
    post(api_a, {"reason_category": "litigation", "reason": "x", "numbers": [SUBJECT]})
    api_b = api_client_for(ApiKeyFactory(tenant=tenant_b, created_by=admin_b))
    assert api_b.get("/api/v1/holds/").json()["results"] == []
    hold = LegalHold.objects.get()
    assert api_b.get(f"/api/v1/holds/{hold.pk}/").status_code == 404
    release = api_b.post(f"/api/v1/holds/{hold.pk}/release/", {"reason": "x"}, format="json")
    assert release.status_code == 404
    hold.refresh_from_db()
    assert hold.released_at is None
    assert DataSubjectRequest.objects.count() == 0
