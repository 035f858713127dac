"""What the subject asked to stop outlives the erasure of their data (Art. 17(3)(b) with
Art. 21 and 7(3)): objection, then erasure, then a new call from the same number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import ConsentEvent, ProcessingRestriction, Suppression
from consent.services import consent_give, consent_withdraw, processing_restriction_place
from dsr import services
from dsr.models import DataSubjectRequest
from dsr.services.erasure.certificate import certificate_latest
from portal.redaction import number_fingerprint
from tests.factories import DataSubjectRequestFactory, PrivacyNoticeFactory, PurposeFactory

pytestmark = pytest.mark.django_db
SUBJECT = "+4915112345678"


def erase(tenant, dpo, second, capture) -> DataSubjectRequest:
    request = DataSubjectRequestFactory(tenant=tenant, kind="erasure", numbers=[SUBJECT])
    services.request_verify(request=request, by=dpo, method="callback")
    with capture(execute=True):
        services.request_approve(request=request, by=second)
    request.refresh_from_db()
    return request


def new_call(api, external_id, purposes):
    return api.post(
        "/api/v1/calls/",
        {
            "external_id": external_id,
            "direction": "inbound",
            "caller": "0151 12345678",
            "callee": "+49301234560",
            "started_at": timezone.now().isoformat(),
            "purposes": purposes,
        },
        format="json",
    )


def test_an_erased_caller_who_objected_and_withdrew_stays_so(
    api_a, tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks
):
    PurposeFactory(
        tenant=tenant_a, code="quality_assurance", default_lawful_basis="legitimate_interests"
    )
    PurposeFactory(tenant=tenant_a, code="marketing", default_lawful_basis="consent")
    PurposeFactory(tenant=tenant_a, code="service_delivery", default_lawful_basis="contract")
    notice = PrivacyNoticeFactory(
        tenant=tenant_a, effective_from=timezone.now() - timedelta(days=9)
    )
    given = dict(tenant=tenant_a, number=SUBJECT, purpose="marketing", source="api",
                 lawful_basis="consent", method="ivr_keypress", notice_version=notice.version,
                 occurred_at=timezone.now() - timedelta(days=2))  # fmt: skip
    consent_give(**given)
    consent_withdraw(**{**given, "occurred_at": timezone.now() - timedelta(days=1)})
    processing_restriction_place(tenant=tenant_a, number=SUBJECT, kind="objection")
    assert new_call(api_a, "before", ["quality_assurance"]).status_code == 400

    request = erase(tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks)
    assert request.status == "completed"
    assert not ConsentEvent.objects.filter(number=SUBJECT).exists()
    assert not ProcessingRestriction.objects.filter(number=SUBJECT).exists()
    kept = Suppression.objects.filter(tenant=tenant_a).order_by("kind")
    assert [(s.kind, s.purpose_code) for s in kept] == [
        ("objection", ""),
        ("withdrawal", "marketing"),
    ]
    assert {s.fingerprint for s in kept} == {number_fingerprint(SUBJECT)}

    # The same number calls again: the objection and the withdrawal still hold.
    refused = new_call(api_a, "after", ["quality_assurance"])
    assert refused.status_code == 400 and "quality_assurance" in refused.json()["error"]["message"]
    assert new_call(api_a, "after-2", ["marketing"]).status_code == 400
    assert new_call(api_a, "after-3", ["service_delivery"]).status_code == 201
    answer = api_a.get(
        "/api/v1/consent/check/", {"number": SUBJECT, "purpose": "quality_assurance"}
    ).json()
    assert answer["allowed"] is False and answer["code"] == "suppressed_objected"
    tenant_a.purpose_gate = "flag"
    tenant_a.save()
    flagged = new_call(api_a, "after-4", ["quality_assurance"])
    assert flagged.status_code == 201 and flagged.json()["gate_flags"] == ["quality_assurance"]

    # The certificate says what is kept and why.
    content = certificate_latest(request).content
    kept_section = content["kept_suppressions"]
    assert "Article 17(3)(b)" in kept_section["explanation"]
    assert {r["kind"] for r in kept_section["records"]} == {"objection", "withdrawal"}
    assert SUBJECT not in str(content)
