"""The consent API: ledger, check, purposes, notices, SMS notices, and the gate setting."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consent.models import ConsentEvent, ConsentState, PrivacyNotice, Purpose, SmsNotice
from portal.sms import MemorySmsBackend
from tests.conftest import make_member
from tests.factories import ConsentEventFactory, PurposeFactory

pytestmark = pytest.mark.django_db

CHECK_KEYS = {"allowed", "basis", "since", "event", "reason", "code", "compelling_grounds"}


@pytest.fixture
def payload(purposes_a, notice_a):
    return {
        "number": "030 1234567",
        "purpose": "marketing",
        "lawful_basis": "consent",
        "method": "ivr_keypress",
        "notice_version": "2.0",
        "evidence": {"document": "IVR log 2025-0001, key 1"},
        "occurred_at": (timezone.now() - timedelta(minutes=10)).isoformat(),
    }


def check(client, number, purpose):
    return client.get("/api/v1/consent/check/", {"number": number, "purpose": purpose})


def test_give_check_withdraw_check_with_the_history_intact(api_a, payload, key_a, client):
    response = api_a.post("/api/v1/consents/", payload, format="json")
    assert response.status_code == 201, response.content
    given = response.json()
    assert given["number"] == "+49301234567" and given["action"] == "given"
    assert given["purpose"] == "marketing" and given["notice_version"] == "2.0"
    assert given["evidence"] == {
        "call_id": None,
        "message_id": "",
        "document": "IVR log 2025-0001, key 1",
    }
    assert given["recorded_by"] == f"api_key:{key_a.prefix}" and given["source"] == "api"

    allowed = check(api_a, "+49 30 1234567", "marketing").json()
    assert set(allowed) == CHECK_KEYS
    assert allowed["allowed"] is True and allowed["basis"] == "consent"
    assert allowed["event"] == given["id"] and allowed["since"] == given["occurred_at"]

    withdrawal = {**payload, "method": "sms_notice", "occurred_at": None, "evidence": None}
    response = api_a.post("/api/v1/consents/withdraw/", withdrawal, format="json")
    assert response.status_code == 201, response.content
    withdrawn = response.json()
    assert withdrawn["action"] == "withdrawn" and withdrawn["id"] != given["id"]

    refused = check(api_a, "0049301234567", "marketing").json()
    assert refused == {
        "allowed": False,
        "basis": None,
        "since": withdrawn["occurred_at"],
        "event": withdrawn["id"],
        "reason": refused["reason"],
        "code": "withdrawn",
        "compelling_grounds": None,
    }
    assert "withdrawn" in refused["reason"]

    history = api_a.get("/api/v1/consents/", {"number": "+49 (0)30 123 4567"}).json()
    assert [e["id"] for e in history["results"]] == [withdrawn["id"], given["id"]]
    assert api_a.get(f"/api/v1/consents/{given['id']}/").json()["action"] == "given"

    # Both events are in the admin's ledger, found by the number as a caller would write it.
    from portal.access import DPO_GROUP
    from portal.services import staff_user_create

    client.force_login(staff_user_create(username="dpo", group=DPO_GROUP))
    page = client.get("/admin/consent/consentevent/", {"q": "030 1234567"}).content.decode()
    assert f"/admin/consent/consentevent/{given['id']}/change/" in page
    assert f"/admin/consent/consentevent/{withdrawn['id']}/change/" in page


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"method": None}, "method"),
        ({"method": "implied"}, "method"),
        ({"purpose": "newsletter"}, "purpose"),
        ({"purpose": ["marketing", "training"]}, "purpose"),
        ({"purpose": "marketing,training"}, "purpose"),
        ({"purposes": ["marketing", "training"]}, "purposes"),
        ({"notice_version": None}, "notice_version"),
        ({"notice_version": "0.1"}, "notice_version"),
        ({"lawful_basis": "legitimate_interests"}, "lawful_basis"),
        ({"lawful_basis": "contract", "method": "verbal"}, "method"),
        ({"lawful_basis": "magic"}, "lawful_basis"),
        ({"number": "call me"}, "number"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"evidence": {"call_id": 424242}}, "evidence.call_id"),
        ({"evidence": {"fax": "1"}}, "evidence.fax"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_every_rule_is_a_400_naming_the_field_and_nothing_is_written(
    api_a, payload, changes, field
):
    body = {**payload, **changes}
    body = {k: v for k, v in body.items() if v is not None}
    response = api_a.post("/api/v1/consents/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in error["fields"], error
    assert error["message"]
    assert not ConsentEvent.objects.exists() and not ConsentState.objects.exists()


def test_evidence_call_of_another_tenant_is_not_found(api_a, payload, tenant_b):
    from calls.models import Call

    foreign = Call.objects.create(
        tenant=tenant_b,
        external_id="x",
        direction="inbound",
        caller="+49301234567",
        callee="+353112345",
        started_at=timezone.now(),
    )
    response = api_a.post(
        "/api/v1/consents/", {**payload, "evidence": {"call_id": foreign.pk}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "evidence.call_id": [f"No call {foreign.pk} in this tenant."]
    }
    assert not ConsentEvent.objects.exists()


def test_withdrawing_what_was_never_given_is_a_400(api_a, payload):
    response = api_a.post("/api/v1/consents/withdraw/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "never_given"


def test_the_ledger_cannot_be_edited_or_deleted_through_the_api(api_a, tenant_a):
    event = ConsentEventFactory(tenant=tenant_a)
    url = f"/api/v1/consents/{event.pk}/"
    assert api_a.patch(url, {"method": "verbal"}, format="json").status_code == 405
    assert api_a.put(url, {"method": "verbal"}, format="json").status_code == 405
    assert api_a.delete(url).status_code == 405
    assert ConsentEvent.objects.get(pk=event.pk).method == "ivr_keypress"


def test_history_filters(api_a, tenant_a, payload):
    api_a.post("/api/v1/consents/", payload, format="json")
    api_a.post("/api/v1/consents/", {**payload, "purpose": "training"}, format="json")
    api_a.post(
        "/api/v1/consents/withdraw/",
        {**payload, "method": "verbal", "occurred_at": None},
        format="json",
    )
    api_a.post("/api/v1/consents/", {**payload, "number": "030 7654321"}, format="json")

    def ids(**params):
        response = api_a.get("/api/v1/consents/", params)
        assert response.status_code == 200, response.content
        return [(e["purpose"], e["action"], e["method"]) for e in response.json()["results"]]

    assert len(ids()) == 4
    assert ids(number="+49301234567", purpose="marketing") == [
        ("marketing", "withdrawn", "verbal"),
        ("marketing", "given", "ivr_keypress"),
    ]
    assert ids(number="030 1234567", action="withdrawn") == [("marketing", "withdrawn", "verbal")]
    assert ids(method="verbal") == [("marketing", "withdrawn", "verbal")]
    bad = api_a.get("/api/v1/consents/", {"number": "nonsense"})
    assert bad.status_code == 400 and "number" in bad.json()["error"]["fields"]
    assert api_a.get("/api/v1/consents/", {"action": "edited"}).status_code == 400


def test_check_answers_exactly_its_fields_and_names_bad_input(api_a, purposes_a):
    answer = check(api_a, "030 1234567", "service_delivery")
    assert answer.status_code == 200
    assert answer.json() == {
        "allowed": True,
        "basis": "contract",
        "since": None,
        "event": None,
        "reason": answer.json()["reason"],
        "code": "default_basis",
        "compelling_grounds": None,
    }
    unknown = check(api_a, "030 1234567", "newsletter")
    assert unknown.status_code == 400 and "purpose" in unknown.json()["error"]["fields"]
    bad = check(api_a, "hello", "marketing")
    assert bad.status_code == 400 and "number" in bad.json()["error"]["fields"]
    missing = api_a.get("/api/v1/consent/check/", {"purpose": "marketing"})
    assert missing.status_code == 400 and "number" in missing.json()["error"]["fields"]
    missing = api_a.get("/api/v1/consent/check/", {"number": "030 1234567"})
    assert missing.status_code == 400 and "purpose" in missing.json()["error"]["fields"]


def test_check_over_http_reads_the_consent_tables_once(api_a, payload):
    api_a.post("/api/v1/consents/", payload, format="json")
    check(api_a, "030 1234567", "marketing")  # the key's last-use stamp is written once
    with CaptureQueriesContext(connection) as queries:
        assert check(api_a, "030 1234567", "marketing").json()["allowed"] is True
    consent_queries = [q["sql"] for q in queries if "consent_" in q["sql"]]
    assert len(consent_queries) == 1, consent_queries
    # Everything else is authentication (the key and its tenant).
    assert len(queries) - 1 == 1, [q["sql"] for q in queries]


def test_check_is_scoped_to_the_keys_tenant(api_a, api_b, payload, tenant_b):
    api_a.post("/api/v1/consents/", payload, format="json")
    PurposeFactory(tenant=tenant_b, code="marketing", default_lawful_basis="consent")
    assert check(api_b, "+49301234567", "marketing").json()["allowed"] is False
    assert api_b.get("/api/v1/consents/", {"number": "+49301234567"}).json()["results"] == []


def test_viewers_read_but_do_not_record(client, tenant_a, payload, viewer_a):
    client.force_login(viewer_a)
    headers = {"HTTP_X_TENANT": tenant_a.slug}
    assert client.get("/api/v1/consents/", **headers).status_code == 200
    assert client.get("/api/v1/consent/check/", payload, **headers).status_code == 200
    response = client.post("/api/v1/consents/", payload, content_type="application/json", **headers)
    assert response.status_code == 403
    agent = make_member(tenant_a, "agent", "agent-a")
    client.force_login(agent)
    response = client.post("/api/v1/consents/", payload, content_type="application/json", **headers)
    assert response.status_code == 201
    assert response.json()["recorded_by"] == "user:agent-a"
    assert ConsentEvent.objects.get().source == "api"


# --- purposes and notices -----------------------------------------------------------------


def test_purposes_crud(api_a, tenant_a):
    response = api_a.post(
        "/api/v1/purposes/",
        {
            "code": "surveys",
            "description": "Asking callers about our service after the call.",
            "default_lawful_basis": "consent",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    purpose = response.json()
    assert purpose["code"] == "surveys" and purpose["is_active"] is True
    url = f"/api/v1/purposes/{purpose['id']}/"
    assert api_a.get("/api/v1/purposes/").json()["results"][0]["code"] == "surveys"
    changed = api_a.patch(url, {"description": "Post-call surveys."}, format="json")
    assert changed.status_code == 200 and changed.json()["description"] == "Post-call surveys."
    renamed = api_a.patch(url, {"code": "polls"}, format="json")
    assert renamed.status_code == 400 and "code" in renamed.json()["error"]["fields"]
    assert api_a.delete(url).status_code == 204
    assert not Purpose.objects.exists()


@pytest.mark.parametrize("code", ["all", "*", "Any", "everything", "misc"])
def test_catch_all_purpose_is_a_400(api_a, code):
    response = api_a.post(
        "/api/v1/purposes/", {"code": code, "description": "Anything at all"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "catch_all_purpose"
    assert "code" in response.json()["error"]["fields"]
    assert not Purpose.objects.exists()


def test_purpose_without_description_is_a_400(api_a):
    response = api_a.post("/api/v1/purposes/", {"code": "surveys", "description": ""})
    assert response.status_code == 400 and "description" in response.json()["error"]["fields"]


def test_purpose_in_use_is_deactivated_not_deleted(api_a, payload, purposes_a):
    api_a.post("/api/v1/consents/", payload, format="json")
    url = f"/api/v1/purposes/{purposes_a['marketing'].pk}/"
    response = api_a.delete(url)
    assert response.status_code == 409
    assert "deactivate" in response.json()["error"]["message"]
    assert api_a.patch(url, {"is_active": False}, format="json").json()["is_active"] is False
    assert check(api_a, "030 1234567", "marketing").json()["allowed"] is False


def test_only_admins_define_purposes(client, tenant_a, viewer_a):
    agent = make_member(tenant_a, "agent", "agent-a")
    client.force_login(agent)
    response = client.post(
        "/api/v1/purposes/",
        {"code": "surveys", "description": "Surveys"},
        content_type="application/json",
        HTTP_X_TENANT=tenant_a.slug,
    )
    assert response.status_code == 403


def test_notices_crud_and_evidence_once_shown(api_a, payload, purposes_a):
    response = api_a.post(
        "/api/v1/notices/",
        {
            "version": "3.0",
            "url": "https://acme.example/privacy/3",
            "effective_from": (timezone.now() - timedelta(days=1)).isoformat(),
            "text": "We record calls for the purposes listed.",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    notice = response.json()
    assert len(notice["text_sha256"]) == 64
    url = f"/api/v1/notices/{notice['id']}/"
    fixed = api_a.patch(url, {"url": "https://acme.example/privacy/v3"}, format="json")
    assert fixed.status_code == 200 and fixed.json()["url"].endswith("/v3")
    duplicate = api_a.post(
        "/api/v1/notices/",
        {"version": "3.0", "url": "https://x.example", "effective_from": notice["effective_from"]},
        format="json",
    )
    assert duplicate.status_code == 409 and "version" in duplicate.json()["error"]["fields"]
    api_a.post("/api/v1/consents/", {**payload, "notice_version": "3.0"}, format="json")
    assert api_a.patch(url, {"url": "https://other.example"}, format="json").status_code == 409
    assert api_a.delete(url).status_code == 409
    assert PrivacyNotice.objects.get(version="3.0").url.endswith("/v3")


def test_tenant_setting_selects_the_purpose_gate_mode(api_a, tenant_a):
    assert api_a.get("/api/v1/tenant/").json()["purpose_gate"] == "refuse"
    response = api_a.patch("/api/v1/tenant/", {"purpose_gate": "flag"}, format="json")
    assert response.status_code == 200 and response.json()["purpose_gate"] == "flag"
    tenant_a.refresh_from_db()
    assert tenant_a.purpose_gate == "flag"
    bad = api_a.patch("/api/v1/tenant/", {"purpose_gate": "ignore"}, format="json")
    assert bad.status_code == 400 and "purpose_gate" in bad.json()["error"]["fields"]


# --- SMS consent notices ------------------------------------------------------------------


def test_sms_notice_is_sent_kept_as_evidence_and_records_no_consent(api_a, tenant_a, payload):
    MemorySmsBackend.outbox.clear()
    response = api_a.post(
        "/api/v1/consent/sms-notices/",
        {"number": "0151 23456789", "purpose": "marketing"},
        format="json",
    )
    assert response.status_code == 201, response.content
    sent = response.json()
    [message] = MemorySmsBackend.outbox
    assert message["to"] == "+4915123456789" and message["id"] == sent["message_id"]
    assert "Tenant A" in message["text"] and "https://privacy.example.com/v2.0" in message["text"]
    assert SmsNotice.objects.get().notice.version == sent["notice_version"] == "2.0"
    assert not ConsentEvent.objects.exists()  # a notice is not consent
    answer = {
        **payload,
        "number": "+49 151 23456789",
        "method": "sms_notice",
        "evidence": {"message_id": sent["message_id"]},
        "occurred_at": None,
    }
    assert api_a.post("/api/v1/consents/", answer, format="json").status_code == 201
    wrong = api_a.post(
        "/api/v1/consents/", {**answer, "number": "030 1234567"}, format="json"
    ).json()
    assert "evidence.message_id" in wrong["error"]["fields"]


def test_the_isolation_suite_walks_the_consent_routes():
    from tests.isolation import api_routes, route_model

    routes = {route.path: route_model(route) for route in api_routes()}
    assert routes["/api/v1/consents/<pk>/"] is ConsentEvent
    assert routes["/api/v1/purposes/<pk>/"] is Purpose
    assert routes["/api/v1/notices/<pk>/"] is PrivacyNotice
    assert "/api/v1/consents/" in routes and "/api/v1/consent/check/" in routes
