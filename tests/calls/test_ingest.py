"""Ingest through the API: one call, a batch, numbers in any format, the purpose gate."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from calls.models import Call
from tests.calls.conftest import call_payload, give_consent
from tests.factories import CallFactory, PurposeFactory

pytestmark = pytest.mark.django_db


def test_a_call_is_stored_with_numbers_in_e164_and_its_purposes(api_a, purposes_a):
    response = api_a.post(
        "/api/v1/calls/",
        call_payload(
            caller="030 1234567",
            callee="0049 30 9876543",
            purposes=["service_delivery", "quality_assurance"],
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["caller"] == "+49301234567" and body["callee"] == "+49309876543"
    assert sorted(body["purposes"]) == ["quality_assurance", "service_delivery"]
    assert body["duration_seconds"] == 330
    assert body["gate_flags"] == [] and body["recording"] is None
    call = Call.objects.get(pk=body["id"])
    assert call.history.first().history_actor.startswith("api_key:")


@pytest.mark.parametrize(
    "field, value",
    [
        ("caller", "not a number"),
        ("callee", "+1"),
        ("direction", "sideways"),
        ("started_at", "yesterday"),
        ("purposes", ["no_such_purpose"]),
        ("category", "Complaints & more"),
        ("ended_at", "2026-01-15T09:00:00+01:00"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(api_a, purposes_a, field, value):
    response = api_a.post("/api/v1/calls/", call_payload(**{field: value}), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not Call.objects.exists()


def test_a_call_in_the_future_is_refused(api_a, purposes_a):
    later = (timezone.now() + timedelta(hours=2)).isoformat()
    response = api_a.post("/api/v1/calls/", call_payload(started_at=later), format="json")
    assert response.status_code == 400
    assert "started_at" in response.json()["error"]["fields"]


def test_the_same_external_id_twice_is_a_conflict(api_a, purposes_a):
    assert api_a.post("/api/v1/calls/", call_payload(), format="json").status_code == 201
    again = api_a.post("/api/v1/calls/", call_payload(caller="+4940111111"), format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate"
    assert "external_id" in again.json()["error"]["fields"]
    assert Call.objects.count() == 1


def test_purposes_of_another_tenant_are_unknown(api_a, purposes_a, tenant_b):
    PurposeFactory(tenant=tenant_b, code="b_only")
    response = api_a.post("/api/v1/calls/", call_payload(purposes=["b_only"]), format="json")
    assert response.status_code == 400
    assert "b_only" in response.json()["error"]["fields"]["purposes"][0]


# --- the purpose gate ----------------------------------------------------------------------


def test_gate_refuses_a_consent_purpose_without_consent(api_a, purposes_a, tenant_a):
    assert tenant_a.purpose_gate == "refuse"
    response = api_a.post(
        "/api/v1/calls/", call_payload(purposes=["service_delivery", "marketing"]), format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "purpose_gate"
    assert "marketing" in error["fields"]["purposes"][0]
    assert "service_delivery" not in error["fields"]["purposes"][0]
    assert not Call.objects.exists()


def test_gate_lets_a_call_through_when_the_subject_consented_before_it(api_a, purposes_a):
    give_consent(
        purposes_a["marketing"],
        "+49301234567",
        at=datetime.fromisoformat("2026-01-10T09:00:00+01:00"),
    )
    response = api_a.post(
        "/api/v1/calls/", call_payload(purposes=["service_delivery", "marketing"]), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["gate_flags"] == []


def test_gate_judges_consent_at_the_calls_start_not_now(api_a, purposes_a):
    # Consent given after the call started does not cover it.
    give_consent(
        purposes_a["marketing"],
        "+49301234567",
        at=datetime.fromisoformat("2026-01-20T09:00:00+01:00"),
    )
    response = api_a.post("/api/v1/calls/", call_payload(purposes=["marketing"]), format="json")
    assert response.status_code == 400


def test_the_subject_of_an_outbound_call_is_the_callee(api_a, purposes_a):
    give_consent(
        purposes_a["marketing"],
        "+49309876543",
        at=datetime.fromisoformat("2026-01-10T09:00:00+01:00"),
    )
    inbound = call_payload(purposes=["marketing"])
    assert api_a.post("/api/v1/calls/", inbound, format="json").status_code == 400
    outbound = call_payload(
        direction="outbound",
        caller="+49 30 1234567",
        callee="+49 30 9876543",
        purposes=["marketing"],
    )
    assert api_a.post("/api/v1/calls/", outbound, format="json").status_code == 201


def test_gate_in_flag_mode_stores_the_call_and_flags_the_purpose(api_a, purposes_a, tenant_a):
    tenant_a.purpose_gate = "flag"
    tenant_a.save()
    response = api_a.post(
        "/api/v1/calls/", call_payload(purposes=["service_delivery", "marketing"]), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["gate_flags"] == ["marketing"]
    call = Call.objects.get()
    assert call.gate_flags == ["marketing"]
    listed = api_a.get("/api/v1/calls/").json()["results"][0]
    assert listed["gate_flags"] == ["marketing"]


def test_a_withdrawn_consent_is_no_basis(api_a, purposes_a):
    number = "+49301234567"
    give_consent(
        purposes_a["marketing"], number, at=datetime.fromisoformat("2026-01-01T09:00:00+01:00")
    )
    give_consent(
        purposes_a["marketing"],
        number,
        at=datetime.fromisoformat("2026-01-05T09:00:00+01:00"),
        action="withdrawn",
    )
    response = api_a.post("/api/v1/calls/", call_payload(purposes=["marketing"]), format="json")
    assert response.status_code == 400


# --- batch ---------------------------------------------------------------------------------


def _batch(n, **overrides):
    return [
        call_payload(external_id=f"b-{i}", caller=f"+49 30 55500{i:02d}", **overrides)
        for i in range(n)
    ]


def test_a_batch_is_stored_whole(api_a, purposes_a):
    response = api_a.post("/api/v1/calls/batch/", {"calls": _batch(5)}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["count"] == 5
    assert [c["external_id"] for c in body["calls"]] == [f"b-{i}" for i in range(5)]
    assert Call.objects.count() == 5


def test_a_batch_with_one_bad_item_writes_nothing_and_names_item_and_field(api_a, purposes_a):
    items = _batch(5)
    items[3]["caller"] = "not a number"
    response = api_a.post("/api/v1/calls/batch/", {"calls": items}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["calls.3.caller"]
    assert "calls.3.caller" in error["message"]
    assert not Call.objects.exists()


def test_batch_type_errors_name_item_and_field_too(api_a, purposes_a):
    items = _batch(3)
    items[2]["direction"] = "sideways"
    del items[0]["started_at"]
    response = api_a.post("/api/v1/calls/batch/", {"calls": items}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"calls.0.started_at", "calls.2.direction"}
    assert not Call.objects.exists()


def test_batch_reports_every_bad_item_and_duplicates(api_a, purposes_a, tenant_a):
    CallFactory(tenant=tenant_a, external_id="b-0")
    items = _batch(4)
    items[2]["external_id"] = "b-1"
    items[3]["purposes"] = ["marketing"]  # no consent: refused by the gate
    response = api_a.post("/api/v1/calls/batch/", {"calls": items}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"calls.0.external_id", "calls.2.external_id", "calls.3.purposes"}
    assert "item 1" in fields["calls.2.external_id"][0]
    assert Call.objects.count() == 1


def test_a_batch_holds_at_most_500_calls(api_a, purposes_a):
    response = api_a.post("/api/v1/calls/batch/", {"calls": _batch(1) * 501}, format="json")
    assert response.status_code == 400
    assert "calls" in response.json()["error"]["fields"]
    empty = api_a.post("/api/v1/calls/batch/", {"calls": []}, format="json")
    assert empty.status_code == 400


def test_a_batch_of_500_is_accepted(api_a, purposes_a):
    items = [call_payload(external_id=f"big-{i}", caller=f"+49 30 7{i:06d}") for i in range(500)]
    response = api_a.post("/api/v1/calls/batch/", {"calls": items}, format="json")
    assert response.status_code == 201, response.content[:500]
    assert Call.objects.count() == 500


def test_viewers_cannot_ingest(client, viewer_a, purposes_a):
    client.force_login(viewer_a)
    response = client.post("/api/v1/calls/", call_payload(), content_type="application/json")
    assert response.status_code == 403


def test_ingest_history_records_actor_and_purposes(api_a, purposes_a, client, admin_a):
    api_a.post("/api/v1/calls/batch/", {"calls": _batch(2)}, format="json")
    client.force_login(admin_a)
    client.post(
        "/api/v1/calls/",
        call_payload(external_id="by-hand", purposes=["quality_assurance"]),
        content_type="application/json",
    )
    for call in Call.objects.all():
        [created] = call.history.all()
        assert created.history_type == "+"
        assert {p.purpose.code for p in created.purposes.all()} == {
            p.code for p in call.purposes.all()
        }
        if call.external_id == "by-hand":
            assert created.history_user == admin_a and created.history_actor == "user:admin-a"
        else:
            assert created.history_actor.startswith("api_key:")
            assert created.history_user == admin_a  # the key's creator


@pytest.mark.parametrize("gate", ["refuse", "flag"])
def test_a_new_call_of_a_restricted_number_is_stored_restricted(api_a, tenant_a, purposes_a, gate):
    """Art. 18: a number under restriction is only stored — its new calls too, in either
    purpose-gate mode (in refuse mode the call is kept, not refused)."""
    from consent.models import ProcessingRestriction

    tenant_a.purpose_gate = gate
    tenant_a.save()
    ProcessingRestriction.objects.create(
        tenant=tenant_a,
        number="+4930111222333",
        kind="restriction",
        started_at=timezone.now() - timedelta(days=1),
    )
    restricted = api_a.post(
        "/api/v1/calls/", call_payload(caller="+4930111222333", external_id="r1"), format="json"
    )
    other = api_a.post(
        "/api/v1/calls/",
        call_payload(caller="+4930111222444", external_id="r2"),
        format="json",
    )
    assert restricted.status_code == 201, restricted.content
    assert restricted.json()["is_restricted"] is True
    assert other.status_code == 201 and other.json()["is_restricted"] is False
