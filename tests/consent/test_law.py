"""Consent, objection and purpose as the GDPR reads them: an affirmative act for consent
(Art. 4(11)), explicit consent for special categories (Art. 9), the reach of an objection
(Art. 21), STOP by SMS (Art. 7(3)) and the proof of the notice (Art. 13)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import Call
from consent import services
from consent.models import ConsentEvent, ConsentState, InboundSms, Suppression
from consent.selectors import consent_check
from portal.redaction import number_fingerprint
from tests.factories import ProcessingRestrictionFactory, PurposeFactory

pytestmark = pytest.mark.django_db
NUMBER = "+49301234567"


def check(api, purpose, number="030 1234567"):
    response = api.get("/api/v1/consent/check/", {"number": number, "purpose": purpose})
    assert response.status_code == 200, response.content
    return response.json()


def give(api, **fields):
    payload = {
        "number": "030 1234567",
        "purpose": "marketing",
        "lawful_basis": "consent",
        "method": "ivr_keypress",
        "notice_version": "2.0",
        **fields,
    }
    return api.post("/api/v1/consents/", payload, format="json")


def legacy_announcement(tenant, purpose):
    """An announcement-only "consent" as recorded before it was refused: written as the ledger
    wrote it then (event and current state), without today's service."""
    event = ConsentEvent.objects.create(
        tenant=tenant,
        number=NUMBER,
        purpose=purpose,
        lawful_basis="consent",
        action="given",
        method="ivr_announcement",
        occurred_at=timezone.now() - timedelta(days=3),
        source="api",
    )
    ConsentState.objects.create(
        tenant=tenant,
        number=NUMBER,
        purpose=purpose,
        purpose_code=purpose.code,
        allowed=True,
        lawful_basis="consent",
        since=event.occurred_at,
        event=event,
    )
    return event


# --- 1. consent needs an affirmative act -----------------------------------------------------


def test_an_ivr_announcement_is_refused_as_consent_naming_the_consent_methods(
    api_a, purposes_a, notice_a
):
    response = give(api_a, method="ivr_announcement")
    assert response.status_code == 400
    error = response.json()["error"]
    assert "method" in error["fields"] and error["code"] == "not_affirmative_act"
    message = error["message"]
    for words in ("key press", "verbal yes", "web form", "signed document", "Art. 4(11)"):
        assert words in message
    assert not ConsentEvent.objects.exists()
    assert give(api_a, method="signed_document").status_code == 201


def test_an_old_announcement_only_event_is_no_consent_in_the_check_and_subject_page(
    client, api_a, viewer_a, tenant_a, purposes_a
):
    event = legacy_announcement(tenant_a, purposes_a["marketing"])
    answer = check(api_a, "marketing")
    assert answer["allowed"] is False and answer["code"] == "announcement_only"
    assert answer["event"] == event.pk
    assert "Announcement only, not consent" in answer["reason"]
    client.force_login(viewer_a)
    page = client.get("/dashboard/consent/subject/", {"number": NUMBER}).content.decode()
    assert page.count("announcement only, not consent") >= 1


def test_the_dpos_work_queue_lists_tenants_with_announcement_only_consent(
    client, dpo_user, tenant_a, tenant_b, purposes_a
):
    legacy_announcement(tenant_a, purposes_a["marketing"])
    client.force_login(dpo_user)
    page = client.get("/admin/").content.decode()
    assert "Announcement-only consent" in page
    assert tenant_a.name in page and tenant_b.name not in page.split("Announcement-only")[1][:600]


# --- 2. special categories --------------------------------------------------------------------


@pytest.fixture
def health(tenant_a):
    return PurposeFactory(
        tenant=tenant_a,
        code="health_details",
        default_lawful_basis="consent",
        special_category=True,
    )


def test_special_category_needs_explicit_consent(api_a, purposes_a, notice_a, health):
    refused = give(api_a, purpose="health_details", method="web_form")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "explicit_consent_required" and "method" in error["fields"]
    assert "key press confirming the stated purpose" in error["message"]
    assert "recorded verbal statement" in error["message"]
    assert "Art. 9(2)(c)" in error["message"]  # the other grounds are named
    assert give(api_a, purpose="health_details", method="verbal").status_code == 201
    assert check(api_a, "health_details")["allowed"] is True


def test_a_special_category_purpose_cannot_rest_on_legitimate_interests(api_a):
    response = api_a.post(
        "/api/v1/purposes/",
        {
            "code": "health_triage",
            "description": "Triage of health details",
            "default_lawful_basis": "legitimate_interests",
            "special_category": True,
        },
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert "default_lawful_basis" in error["fields"] and "Art. 9(1)" in error["message"]
    for ground in ("9(2)(b)", "9(2)(c)", "9(2)(h)", "9(2)(i)"):
        assert ground in error["message"]


def test_an_older_consent_that_is_not_explicit_does_not_cover_a_special_category(
    api_a, tenant_a, purposes_a, notice_a, health
):
    assert give(api_a, purpose="health_details", method="ivr_keypress").status_code == 201
    # Made special only now: the web-form consent recorded earlier for training is not explicit.
    assert give(api_a, purpose="training", method="web_form").status_code == 201
    services.purpose_update(purpose=purposes_a["training"], special_category=True)
    answer = check(api_a, "training")
    assert answer["allowed"] is False and answer["code"] == "not_explicit"


# --- 3. objection by the law's scope ----------------------------------------------------------


def test_an_objection_stops_public_task_unless_compelling_grounds_are_recorded(
    api_a, tenant_a, purposes_a
):
    emergency = PurposeFactory(
        tenant=tenant_a, code="emergency_line", default_lawful_basis="public_task"
    )
    assert check(api_a, "emergency_line")["allowed"] is True
    ProcessingRestrictionFactory(tenant=tenant_a, number=NUMBER, kind="objection")
    answer = check(api_a, "emergency_line")
    assert answer["allowed"] is False and answer["code"] == "objected"
    assert "Art. 21(1)" in answer["reason"]
    grounds = "Calls to the emergency line are kept to coordinate rescue operations."
    response = api_a.patch(
        f"/api/v1/purposes/{emergency.pk}/", {"compelling_grounds": grounds}, format="json"
    )
    assert response.status_code == 200, response.content
    answer = check(api_a, "emergency_line")
    assert answer["allowed"] is True and answer["code"] == "objection_overridden"
    assert answer["compelling_grounds"] == grounds and grounds in answer["reason"]
    # Legitimate interests without grounds: stopped, as before.
    assert check(api_a, "quality_assurance")["allowed"] is False
    # A contract is not reached by Art. 21(1).
    assert check(api_a, "service_delivery")["allowed"] is True


def test_an_objection_to_direct_marketing_is_absolute_whatever_the_basis(
    api_a, tenant_a, purposes_a, notice_a
):
    marketing = purposes_a["marketing"]
    services.purpose_update(purpose=marketing, direct_marketing=True)
    assert give(api_a).status_code == 201
    assert check(api_a, "marketing")["allowed"] is True
    ProcessingRestrictionFactory(tenant=tenant_a, number=NUMBER, kind="objection")
    answer = check(api_a, "marketing")
    assert answer["allowed"] is False and answer["code"] == "objected_marketing"
    assert "Art. 21(2)-(3)" in answer["reason"]
    # No grounds can be recorded against it (Art. 21(3)).
    response = api_a.patch(
        f"/api/v1/purposes/{marketing.pk}/", {"compelling_grounds": "We need sales."}, format="json"
    )
    assert (
        response.status_code == 400 and "compelling_grounds" in response.json()["error"]["fields"]
    )


# --- 4. the suppression list, read by the check in one statement ------------------------------


def test_a_suppression_record_keeps_an_erased_numbers_objection_and_withdrawal(
    api_a, tenant_a, purposes_a
):
    fingerprint = number_fingerprint(NUMBER)
    Suppression.objects.create(
        tenant=tenant_a, fingerprint=fingerprint, kind="objection", since=timezone.now(),
        request_ref=7,
    )  # fmt: skip
    Suppression.objects.create(
        tenant=tenant_a, fingerprint=fingerprint, kind="withdrawal", purpose_code="marketing",
        since=timezone.now(), request_ref=7,
    )  # fmt: skip
    answer = check(api_a, "quality_assurance")
    assert answer["allowed"] is False and answer["code"] == "suppressed_objected"
    assert check(api_a, "marketing")["code"] == "suppressed_withdrawal"
    assert check(api_a, "service_delivery")["allowed"] is True
    with CaptureQueriesContext(connection) as queries:
        consent_check(tenant_a, NUMBER, "quality_assurance")
    assert len(queries) == 1


# --- 5. the purpose gate has no gap -----------------------------------------------------------


def call_payload(**fields):
    return {
        "external_id": "c-1",
        "direction": "inbound",
        "caller": "030 1234567",
        "callee": "+49301234560",
        "started_at": (timezone.now() - timedelta(minutes=10)).isoformat(),
        **fields,
    }


def test_a_call_without_purposes_is_refused_or_flagged(api_a, tenant_a, purposes_a):
    response = api_a.post("/api/v1/calls/", call_payload(), format="json")
    assert response.status_code == 400
    assert "purposes" in response.json()["error"]["fields"]
    assert "Art. 5(1)(b)" in response.json()["error"]["message"]
    tenant_a.purpose_gate = "flag"
    tenant_a.save()
    response = api_a.post("/api/v1/calls/", call_payload(), format="json")
    assert response.status_code == 201
    assert response.json()["gate_flags"] == ["(no purpose)"]


def test_consultation_purpose_must_be_compatible_with_the_calls_purposes(
    api_a, tenant_a, purposes_a
):
    from tests.factories import RecordingFactory, TranscriptFactory

    response = api_a.post(
        "/api/v1/calls/", call_payload(purposes=["service_delivery"]), format="json"
    )
    call = Call.objects.get(pk=response.json()["id"])
    RecordingFactory(tenant=tenant_a, call=call)
    TranscriptFactory(tenant=tenant_a, call=call)
    refused = api_a.get(f"/api/v1/calls/{call.pk}/transcript/", {"purpose": "marketing"})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert "purpose" in error["fields"] and "service_delivery" in error["message"]
    assert "Art. 5(1)(b)" in error["message"]
    ok = api_a.get(f"/api/v1/calls/{call.pk}/transcript/", {"purpose": "service_delivery"})
    assert ok.status_code == 200


# --- 6. STOP ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["STOP", " stop ", "Stop!", "STOP ALL", "unsubscribe"])
def test_stop_withdraws_every_consent_given_by_sms_within_the_request(
    api_a, tenant_a, purposes_a, notice_a, text
):
    assert give(api_a, method="sms_notice", evidence={"message_id": "n-1"}).status_code == 201
    assert give(api_a, purpose="training", method="sms_notice").status_code == 201
    assert give(api_a, purpose="service_delivery", lawful_basis="contract",
                method="contract_clause").status_code == 201  # fmt: skip
    body = {"from": "+49 30 1234567", "text": text, "message_id": "in-42"}
    response = api_a.post("/api/v1/sms/inbound/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["outcome"] == "withdrawn"
    assert response.json()["withdrawn"] == ["marketing", "training"]
    for code in ("marketing", "training"):
        answer = check(api_a, code)
        assert answer["allowed"] is False and answer["code"] == "withdrawn"
        event = ConsentEvent.objects.get(pk=answer["event"])
        assert event.evidence_message_id == "in-42" and event.action == "withdrawn"
    assert check(api_a, "service_delivery")["allowed"] is True
    again = api_a.post("/api/v1/sms/inbound/", body, format="json")
    assert again.status_code == 200 and again.json()["id"] == response.json()["id"]
    assert ConsentEvent.objects.filter(action="withdrawn").count() == 2


def test_other_replies_are_logged_and_ignored(api_a, tenant_a, purposes_a, notice_a):
    assert give(api_a, method="sms_notice").status_code == 201
    body = {"from": "030 1234567", "text": "Please stop calling me at night", "message_id": "x"}
    response = api_a.post("/api/v1/sms/inbound/", body, format="json")
    assert response.status_code == 201 and response.json()["outcome"] == "ignored"
    assert InboundSms.objects.get(message_id="x").number == NUMBER
    assert check(api_a, "marketing")["allowed"] is True


def test_inbound_sms_needs_the_tenants_api_key_and_names_bad_fields(client, admin_a, api_a):
    body = {"from": "030 1234567", "text": "STOP", "message_id": "m"}
    client.force_login(admin_a)
    assert client.post("/api/v1/sms/inbound/", body).status_code in (401, 403)
    bad = api_a.post("/api/v1/sms/inbound/", {**body, "from": "hello"}, format="json")
    assert bad.status_code == 400 and "from" in bad.json()["error"]["fields"]


# --- 7. proof of the notice -------------------------------------------------------------------


def test_notice_proof_is_required_by_the_tenants_policy_and_shown(
    api_a, client, viewer_a, tenant_a, purposes_a, notice_a
):
    tenant_a.require_notice_proof = True
    tenant_a.save()
    payload = call_payload(purposes=["service_delivery"])
    refused = api_a.post("/api/v1/calls/", payload, format="json")
    assert refused.status_code == 400 and "informed_by" in refused.json()["error"]["fields"]
    informed = {"method": "ivr_announcement", "notice_version": "2.0", "evidence": "ann-v3"}
    bad = api_a.post(
        "/api/v1/calls/", {**payload, "informed_by": {**informed, "notice_version": "9"}},
        format="json",
    )  # fmt: skip
    assert bad.status_code == 400 and "informed_by.notice_version" in bad.json()["error"]["fields"]
    stored = api_a.post("/api/v1/calls/", {**payload, "informed_by": informed}, format="json")
    assert stored.status_code == 201, stored.content
    assert stored.json()["informed_by"] == informed
    tenant_a.purpose_gate = "flag"
    tenant_a.save()
    flagged = api_a.post("/api/v1/calls/", {**payload, "external_id": "c-2"}, format="json")
    assert flagged.status_code == 201 and flagged.json()["gate_flags"] == ["(no notice proof)"]
    client.force_login(viewer_a)
    page = client.get("/dashboard/consent/subject/", {"number": NUMBER}).content.decode()
    assert "ann-v3" in page
