"""``verify_erasure`` (the residual-data scan on demand) and ``reapply_erasures`` (erasing
again what a backup restore brought back, by the tombstones), and the certificate API."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from calls.models import Call
from consent.models import ConsentEvent, LawfulBasis
from dsr import services
from dsr.models import DataSubjectRequest, Tombstone
from portal.redaction import number_fingerprint, residual_scan
from tests.factories import (
    CallFactory,
    ConsentEventFactory,
    DataSubjectRequestFactory,
    LegalHoldFactory,
    PurposeFactory,
    RecordingFactory,
)

pytestmark = pytest.mark.django_db
SUBJECT = "+4915112345678"


@pytest.fixture
def erased(tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks):
    """A completed erasure of SUBJECT at tenant A."""
    RecordingFactory(tenant=tenant_a, call__caller=SUBJECT)
    ConsentEventFactory(tenant=tenant_a, number=SUBJECT)
    request = DataSubjectRequestFactory(tenant=tenant_a, kind="erasure", numbers=[SUBJECT])
    services.request_verify(request=request, by=dpo_user, method="callback")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_approve(request=request, by=second_dpo)
    request.refresh_from_db()
    assert request.status == "completed"
    return request


def verify(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("verify_erasure", *map(str, args), stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def restore(tenant, *, before: bool = True) -> Call:
    """A row as a backup restore brings it back: recorded before the erasure (or a new call)."""
    call = CallFactory(tenant=tenant, caller=SUBJECT)
    if before:
        Call.objects.filter(pk=call.pk).update(created_at=timezone.now() - timedelta(days=30))
    return call


def test_verify_reports_clean_and_residual_data(erased, tenant_a):
    code, out = verify(erased.pk)
    assert code == 0 and "CLEAN" in out and "keeps only tombstones" in out
    code, out = verify(erased.pk, "--number", "0151 12345678")
    assert code == 0 and "1 number(s)" in out
    restored = restore(tenant_a)
    code, out = verify(erased.pk)  # without the number: found by its fingerprint
    assert code == 1 and "calls_call.caller: 1 row(s) hold an erased number" in out
    assert SUBJECT not in out and "0151" not in out
    code, out = verify(erased.pk, "--number", "+49 151 12345678")
    assert code == 1 and f"HIT database calls_call.caller row {restored.pk}" in out
    assert erased.events.filter(action="residual_scan").count() == 4
    with pytest.raises(CommandError, match="no tombstone matches"):
        verify(erased.pk, "--number", "+4915199999999")
    with pytest.raises(CommandError, match="No request"):
        verify(999999)


def test_verify_while_processing_searches_the_requests_own_numbers(tenant_a, dpo_user):
    CallFactory(tenant=tenant_a, caller=SUBJECT)
    request = DataSubjectRequestFactory(tenant=tenant_a, kind="erasure", numbers=[SUBJECT])
    services.request_verify(request=request, by=dpo_user, method="callback")
    services.request_approve(request=request, by=services_user(dpo_user))
    DataSubjectRequest.objects.filter(pk=request.pk).update(status="processing")
    code, out = verify(request.pk)
    assert code == 1 and "HIT database calls_call.caller" in out
    assert "own rows (scrubbed as it closes)" in out  # its numbers are expected, nothing more


def services_user(dpo_user):
    from portal import services as portal_services
    from portal.access import DPO_GROUP

    return portal_services.staff_user_create(username="dpo-b", group=DPO_GROUP, password="pw")


def test_reapply_erases_restored_data_keeps_new_and_held_data(erased, tenant_a, tenant_b):
    restored = restore(tenant_a)
    RecordingFactory(tenant=tenant_a, call=restored)
    purpose = PurposeFactory(tenant=tenant_a, code="marketing", default_lawful_basis="consent")
    event = ConsentEvent.objects.create(
        tenant=tenant_a,
        number=SUBJECT,
        purpose=purpose,
        lawful_basis=LawfulBasis.CONSENT,
        action="given",
        method="ivr_keypress",
        occurred_at=timezone.now() - timedelta(days=40),
        recorded_at=timezone.now() - timedelta(days=40),
        source="api",
    )
    held = restore(tenant_a)
    LegalHoldFactory(tenant=tenant_a, calls=[held.pk], reason="Case 99")
    new = restore(tenant_a, before=False)  # the subject called again after the erasure
    foreign = CallFactory(tenant=tenant_b, caller=SUBJECT)  # another controller's data

    dry = io.StringIO()
    call_command("reapply_erasures", "--dry-run", stdout=dry)
    assert "Dry run" in dry.getvalue() and Call.objects.filter(pk=restored.pk).exists()

    out = io.StringIO()
    call_command("reapply_erasures", stdout=out)
    report = out.getvalue()
    assert "tenant-a: 1 erased number(s) found again; erased again: 1 call, 1 recording" in report
    assert "1 consent event" in report and "kept: call" in report and "Case 99" in report
    assert not Call.objects.filter(pk=restored.pk).exists()
    assert not ConsentEvent.objects.filter(pk=event.pk).exists()
    assert Call.objects.filter(pk__in=[held.pk, new.pk, foreign.pk]).count() == 3
    item = erased.erasure_items.get(object_id=held.pk, kind="call")
    assert item.status == "deferred" and item.blocker == "legal_hold"
    assert erased.events.filter(action="erasure_reapplied").exists()
    hits = residual_scan([SUBJECT], tenant_id=tenant_a.pk)
    assert {h.pk for h in hits if h.table == "calls_call"} == {held.pk, new.pk}


def test_tombstones_survive_a_full_restore_through_their_export(erased, tenant_a, tmp_path):
    exported = tmp_path / "tombstones.json"
    call_command("reapply_erasures", "--export", str(exported), stdout=io.StringIO())
    entries = json.loads(exported.read_text())
    assert entries == [
        {
            "tenant": "tenant-a",
            "fingerprint": number_fingerprint(SUBJECT),
            "request": erased.pk,
            "erased_at": entries[0]["erased_at"],
        }
    ]
    assert SUBJECT not in exported.read_text()
    Tombstone.objects.all().delete()  # the restored database predates the erasure
    restored = restore(tenant_a)
    out = io.StringIO()
    call_command("reapply_erasures", "--import", str(exported), stdout=out)
    assert "Imported 1 tombstone(s)" in out.getvalue()
    assert not Call.objects.filter(pk=restored.pk).exists()


def test_the_certificate_route(erased, api_a, api_b, tenant_a):
    response = api_a.get(f"/api/v1/requests/{erased.pk}/certificate/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"Erasure certificate" in response.content
    assert api_b.get(f"/api/v1/requests/{erased.pk}/certificate/").status_code == 404
    link = api_a.get(f"/api/v1/requests/{erased.pk}/").json()["certificate"]
    assert link["url"] == f"/api/v1/requests/{erased.pk}/certificate/" and link["version"] == 1
    assert erased.events.filter(action="certificate", note__contains=link["sha256"]).exists()
    access = DataSubjectRequestFactory(tenant=tenant_a, kind="access")
    assert api_a.get(f"/api/v1/requests/{access.pk}/").json()["certificate"] is None
    missing = api_a.get(f"/api/v1/requests/{access.pk}/certificate/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    html_error = api_a.get(f"/api/v1/requests/{access.pk}/certificate/?format=html")
    assert html_error.status_code == 404 and b"no erasure certificate" in html_error.content
