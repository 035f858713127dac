"""Erasure end to end, as the tenant, the DPOs and the integrator live it — on a versioned S3
bucket (moto's server on loopback) and on the filesystem.

A subject with calls (recordings, transcripts), consent events and playback logs, written in two
formats of the same number, one call under a legal hold → an erasure request through the API →
verified by one DPO, approved by a second in the admin → the task → the number is nowhere in the
database (every table, history included) except in the held call's rows, and no storage object
(no version, no delete marker) is left except the held one → ``partially_completed`` with the
reason → the hold is released → the held call is erased by itself → ``completed`` → the
certificate lists both steps.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from calls.models import Call, Recording, RecordingAccess
from calls.seed import sine_wav
from consent.models import ConsentEvent, ConsentState, LawfulBasis
from dsr.models import DataSubjectRequest, RequestSubjectNumber, Tombstone
from portal.models import WebhookDelivery
from portal.numbers import number_variants
from portal.redaction import number_fingerprint, residual_scan
from tests.calls.conftest import upload
from tests.dsr.erasure_checks import belongs_to_call, raw_rows_with, stored_keys
from tests.dsr.flow import admin_post
from tests.factories import (
    CallFactory,
    PrivacyNoticeFactory,
    PurposeFactory,
    RecordingFactory,
    WebhookFactory,
)

pytestmark = pytest.mark.django_db
SUBJECT = "+4915112345678"
OTHER = "+4915199999999"
LINE = "+4930901820"


def ingest(api, **fields) -> int:
    payload = {
        "direction": "inbound",
        "caller": "0151 12345678",
        "callee": LINE,
        "started_at": "2026-01-15T10:00:00+01:00",
        "ended_at": "2026-01-15T10:05:00+01:00",
        "purposes": ["service_delivery"],
        "category": "support",
        **fields,
    }
    response = api.post("/api/v1/calls/", payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def subject_via_the_api(api, tenant) -> dict:
    """The subject's data as an integration pushes it: numbers in two written forms."""
    PurposeFactory(tenant=tenant, code="service_delivery", default_lawful_basis="contract")
    PurposeFactory(tenant=tenant, code="marketing", default_lawful_basis=LawfulBasis.CONSENT)
    notice = PrivacyNoticeFactory(tenant=tenant, version="3.0")
    wav = sine_wav(seconds=1)
    calls = {
        "inbound": ingest(api, external_id="in-1", caller="0151 12345678"),
        "outbound": ingest(
            api, external_id="out-1", direction="outbound", caller=LINE, callee="+49 151 1234 5678"
        ),
        "held": ingest(api, external_id="in-2", caller="+49 (151) 12345678"),
    }
    for name in ("inbound", "held"):
        assert upload(api, calls[name], wav).status_code == 201
    assert upload(api, calls["inbound"], wav[:-100]).status_code == 200  # a replaced recording
    for name, text in (
        ("inbound", "Bitte rufen Sie mich unter 0151 12345678 zurück."),
        ("held", "Meine Nummer ist +49 151 12345678, es geht um die Rechnung."),
    ):
        response = api.put(
            f"/api/v1/calls/{calls[name]}/transcript/",
            {"language": "de-DE", "text": text},
            format="json",
        )
        assert response.status_code == 201, response.content
    for number, action in (("0151 12345678", ""), ("+49 151 1234 5678", "withdraw/")):
        response = api.post(
            f"/api/v1/consents/{action}",
            {
                "number": number,
                "purpose": "marketing",
                "lawful_basis": "consent",
                "method": "ivr_keypress",
                "notice_version": notice.version,
                "evidence": {"call_id": calls["inbound"]},
            },
            format="json",
        )
        assert response.status_code == 201, response.content
    for name in ("inbound", "held"):  # playback, logged with its purpose
        played = api.get(f"/api/v1/calls/{calls[name]}/recording/", {"purpose": "service_delivery"})
        assert played.status_code == 200
        b"".join(played.streaming_content)
    hold = api.post(
        "/api/v1/holds/",
        {
            "reason_category": "litigation",
            "reason": "Claim about the invoice of January, court file 12 O 345/26.",
            "calls": [calls["held"]],
        },
        format="json",
    )
    assert hold.status_code == 201, hold.content
    return {"calls": calls, "hold": hold.json()["id"]}


def number_free(text: str) -> bool:
    return not any(variant in text for variant in number_variants(SUBJECT))


@pytest.mark.parametrize("storage", ["filesystem", pytest.param("s3", marks=pytest.mark.s3)])
def test_erasure_end_to_end(
    storage,
    request,
    api_a,
    client,
    tenant_a,
    tenant_b,
    dpo_user,
    second_dpo,
    django_capture_on_commit_callbacks,
):
    s3 = request.getfixturevalue("s3_storage") if storage == "s3" else None
    WebhookFactory(tenant=tenant_a, events=["request.erased"])
    with django_capture_on_commit_callbacks(execute=True):
        subject = subject_via_the_api(api_a, tenant_a)
    calls, held = subject["calls"], subject["calls"]["held"]
    # Not the subject's: another caller of tenant A, and the same number at tenant B.
    others = [
        RecordingFactory(tenant=tenant_a, call=CallFactory(tenant=tenant_a, caller=OTHER)),
        RecordingFactory(tenant=tenant_b, call=CallFactory(tenant=tenant_b, caller=SUBJECT)),
    ]
    assert RecordingAccess.objects.filter(call_id__in=calls.values()).count() == 2
    assert ConsentEvent.objects.filter(number=SUBJECT, tenant=tenant_a).count() == 2
    held_key = Recording.objects.get(call_id=held).file.name
    kept_keys = {held_key} | {r.file.name for r in others}
    assert {key for key, _ in stored_keys(s3)} > kept_keys  # the subject's other files exist

    # The tenant's integration opens the request; one DPO verifies, a second approves.
    opened = api_a.post(
        "/api/v1/requests/",
        {"kind": "erasure", "numbers": ["+49 151 12345678"], "name": "Erika Mustermann"},
        format="json",
    )
    assert opened.status_code == 201, opened.content
    request_id = opened.json()["id"]
    client.force_login(dpo_user)
    admin_post(client, request_id, "verify", {"method": "call_details", "note": "Knew the dates."})
    refused = client.post(
        f"/admin/dsr/datasubjectrequest/{request_id}/do/approve/", {"reasons": ""}
    )
    assert refused.status_code == 400 and "Four-eyes" in refused.content.decode()
    client.force_login(second_dpo)
    with django_capture_on_commit_callbacks(execute=True):
        admin_post(client, request_id, "approve", {"reasons": "Nothing else obliges us."})

    # Step 1: everything but the held call is gone, everywhere.
    erasure = DataSubjectRequest.objects.get(pk=request_id)
    assert erasure.status == "partially_completed"
    assert "12 O 345/26" in erasure.outcome and "Art. 17(3)(e)" in erasure.outcome
    assert set(
        Call.objects.filter(tenant=tenant_a, caller=SUBJECT).values_list("pk", flat=True)
    ) == {held}
    assert not Call.objects.filter(pk__in=[calls["inbound"], calls["outbound"]]).exists()
    assert not ConsentEvent.objects.filter(tenant=tenant_a, number=SUBJECT).exists()
    assert not ConsentState.objects.filter(tenant=tenant_a, number=SUBJECT).exists()
    assert RecordingAccess.objects.filter(call_id=held).count() == 1
    assert not RequestSubjectNumber.objects.filter(request_id=request_id).exists()
    assert (
        erasure.name == ""
        and Tombstone.objects.filter(
            request=erasure, fingerprint=number_fingerprint(SUBJECT)
        ).exists()
    )
    hits = residual_scan([SUBJECT], tenant_id=tenant_a.pk)
    assert hits and all(h.table.startswith("calls_") for h in hits)
    for table, row in raw_rows_with([SUBJECT]):
        if row.get("tenant_id") == tenant_b.pk:
            continue  # another controller's data: not this request's
        assert belongs_to_call(table, row, held), (table, row)
    assert {key for key, _ in stored_keys(s3)} == kept_keys  # no version, no delete marker

    # The hold ends: the held call goes by itself and the request completes.
    with django_capture_on_commit_callbacks(execute=True):
        released = api_a.post(
            f"/api/v1/holds/{subject['hold']}/release/", {"reason": "Settled."}, format="json"
        )
    assert released.status_code == 200
    erasure.refresh_from_db()
    assert erasure.status == "completed"
    assert not Call.objects.filter(pk=held).exists()
    assert residual_scan([SUBJECT], tenant_id=tenant_a.pk) == []
    assert [t for t, row in raw_rows_with([SUBJECT]) if row.get("tenant_id") != tenant_b.pk] == []
    assert {key for key, _ in stored_keys(s3)} == {r.file.name for r in others}

    # The certificate lists both steps, as JSON (hash as recorded) and as a page, no number.
    response = api_a.get(f"/api/v1/requests/{request_id}/certificate/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.content
    assert hashlib.sha256(body).hexdigest() == response["X-Content-SHA256"]
    assert erasure.events.filter(action="certificate", note__contains=response["X-Content-SHA256"])
    certificate = json.loads(body)
    assert [step["step"] for step in certificate["steps"]] == [1, 2]
    first, second = certificate["steps"]
    assert first["erased"]["call"] == 2 and first["erased"]["consent_event"] == 2
    assert first["erased"]["recording_access"] == 1
    assert [d["id"] for d in first["deferred_after_this_step"]] == [held]
    assert second["items"][0]["id"] == held and "12 O 345/26" in second["items"][0]["was_deferred"]
    assert len(first["storage_objects_removed"]) == 2  # the recording and its replaced version
    assert certificate["deferred"] == [] and certificate["residual_scan"]["clean"] is True
    assert certificate["approval"]["by"] == "dpo2"
    assert certificate["approval"]["four_eyes"]["verified_by"] == "dpo"
    page = api_a.get(f"/api/v1/requests/{request_id}/certificate/?format=html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert "Step 2" in html and "No residual data" in html
    assert number_free(body.decode()) and number_free(html)

    # Art. 19: the tenant's webhook was told which calls were erased (ids only).
    told = WebhookDelivery.objects.filter(event="request.erased").order_by("pk")
    assert [sorted(d.payload["calls"]) for d in told] == [
        sorted([calls["inbound"], calls["outbound"]]),
        [held],
    ]
    assert all(number_free(json.dumps(d.payload)) for d in told)
