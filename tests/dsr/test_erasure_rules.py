"""What an erasure erases, defers and supersedes: restrictions, minimum retention (frozen with
the decision), the subject's other requests, the approval by policy, residual data found in
other people's rows, and the Art. 19 webhook."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from calls.models import Call, RetentionRule
from calls.services import transcript_set
from consent.models import ProcessingRestriction, SmsNotice
from dsr import services, tasks
from dsr.models import (
    AccessPackage,
    CallRectification,
    DataSubjectRequest,
    ErasureItem,
    ErasureRun,
)
from dsr.services.erasure.execution import deferred_sweep
from portal.redaction import residual_scan
from portal.webhooks import verify_signature
from tests.dsr.erasure_checks import raw_rows_with, stored_keys
from tests.factories import (
    CallFactory,
    CallRectificationFactory,
    DataSubjectRequestFactory,
    RecordingFactory,
    SmsNoticeFactory,
    TranscriptFactory,
    WebhookFactory,
)

pytestmark = pytest.mark.django_db
SUBJECT = "+4915112345678"
OTHER = "+4915199999999"


def verified(tenant, dpo, **kwargs):
    request = DataSubjectRequestFactory(tenant=tenant, kind="erasure", numbers=[SUBJECT], **kwargs)
    return services.request_verify(request=request, by=dpo, method="callback")


def erase(tenant, dpo, second, capture, **kwargs) -> DataSubjectRequest:
    request = verified(tenant, dpo, **kwargs)
    with capture(execute=True):
        services.request_approve(request=request, by=second)
    request.refresh_from_db()
    return request


def test_the_subjects_own_restriction_is_superseded_and_recorded(
    tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks
):
    call = CallFactory(tenant=tenant_a, caller=SUBJECT)
    restriction = DataSubjectRequestFactory(tenant=tenant_a, kind="restriction", numbers=[SUBJECT])
    services.request_verify(request=restriction, by=dpo_user, method="callback")
    services.request_approve(request=restriction, by=dpo_user)
    call.refresh_from_db()
    assert call.is_restricted
    request = erase(tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks)
    assert request.status == "completed"
    assert not Call.objects.filter(pk=call.pk).exists()
    assert not ProcessingRestriction.objects.filter(number=SUBJECT).exists()
    lifted = ProcessingRestriction.history.filter(history_type="~").first()
    assert f"Superseded by erasure request #{request.pk}" in lifted.lifted_reason
    assert lifted.number == "[erased]"  # the history keeps the lift, not the number
    restriction.refresh_from_db()
    assert restriction.restriction_lifted_at is not None
    assert restriction.numbers == [] and restriction.name == ""
    assert restriction.events.filter(action="restriction_lifted").exists()


def test_a_restriction_at_the_other_partys_request_defers_the_call(
    tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks
):
    call = CallFactory(tenant=tenant_a, direction="outbound", caller=OTHER, callee=SUBJECT)
    ProcessingRestriction.objects.create(tenant=tenant_a, number=OTHER, kind="restriction")
    Call.objects.filter(pk=call.pk).update(is_restricted=True)
    request = erase(tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks)
    assert request.status == "partially_completed"
    item = request.erasure_items.get(kind="call")
    assert item.status == "deferred" and item.blocker == "restricted"
    assert Call.objects.filter(pk=call.pk).exists()


def test_a_call_inside_its_minimum_retention_is_erased_when_the_period_ends(
    tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks
):
    RetentionRule.objects.create(
        tenant=tenant_a,
        category="complaint",
        min_age_days=30,
        legal_ground="art_17_3_e",
        legal_reference="§ 195 BGB",
    )
    started = timezone.now() - timedelta(days=10)
    complaint = CallFactory(
        tenant=tenant_a, caller=SUBJECT, category="complaint", started_at=started
    )
    request = erase(tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks)
    assert request.status == "partially_completed"
    item = request.erasure_items.get(kind="call")
    assert item.blocker == "min_retention" and item.legal_ground == "art_17_3_e"
    assert item.release_expected_at == started + timedelta(days=30)
    assert "§ 195 BGB" in request.outcome and "Expected release" in request.outcome
    with time_machine.travel(started + timedelta(days=29)):
        deferred_sweep()  # not due yet
    assert Call.objects.filter(pk=complaint.pk).exists()
    with (
        time_machine.travel(started + timedelta(days=31)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert tasks.erasure_deferred_resume() == {"completed": 1}
    request.refresh_from_db()
    assert request.status == "completed" and not Call.objects.filter(pk=complaint.pk).exists()
    assert request.erasure_certificates.count() == 2


def test_the_rules_are_those_of_the_decision(
    tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks
):
    rule = RetentionRule.objects.create(
        tenant=tenant_a, category="complaint", min_age_days=365, legal_reference="Law"
    )
    call = CallFactory(tenant=tenant_a, caller=SUBJECT, category="complaint")
    request = verified(tenant_a, dpo_user)
    services.request_approve(request=request, by=second_dpo)  # the task has not run yet
    rule.delete()  # a later change of the tenant's rules
    with django_capture_on_commit_callbacks(execute=True):
        tasks.erasure_run(request.pk)
    assert request.erasure_items.get(kind="call").blocker == "min_retention"
    assert Call.objects.filter(pk=call.pk).exists()


def test_the_subjects_other_requests_lose_their_copy_and_packages(
    tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks
):
    RecordingFactory(tenant=tenant_a, call__caller=SUBJECT)
    access = DataSubjectRequestFactory(
        tenant=tenant_a,
        kind="access",
        numbers=[SUBJECT, OTHER],
        name="Erika Mustermann",
        details="Please send a copy; call me on 0151 12345678.",
    )
    services.request_verify(request=access, by=dpo_user, method="callback")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_approve(request=access, by=dpo_user)
    access.refresh_from_db()
    package = access.packages.get()
    assert access.status == "completed" and package.status == "ready"
    package_key = package.file.name
    open_one = DataSubjectRequestFactory(tenant=tenant_a, kind="objection", numbers=[SUBJECT])

    request = erase(tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks)
    assert request.status == "partially_completed"
    deferred = request.erasure_items.get(status="deferred")
    assert (deferred.kind, deferred.object_id, deferred.blocker) == (
        "request",
        open_one.pk,
        "open_request",
    )
    access.refresh_from_db()
    assert access.numbers == [OTHER]  # only the erased number goes
    assert access.name == "" and access.details == ""
    package.refresh_from_db()
    assert package.status == AccessPackage.Status.EXPIRED and package.file.name == ""
    assert package_key not in {key for key, _ in stored_keys()}
    assert not AccessPackage.history.filter(file=package_key).exists()

    # The other request closes: its copy goes by itself and the erasure completes.
    services.request_reject(
        request=open_one, by=dpo_user, ground="other", reasons="The subject asked for erasure."
    )
    with django_capture_on_commit_callbacks(execute=True):
        deferred_sweep()
    request.refresh_from_db()
    assert request.status == "completed"
    open_one.refresh_from_db()
    assert open_one.numbers == []
    assert residual_scan([SUBJECT], tenant_id=tenant_a.pk) == []


def test_statements_sms_notices_and_their_history_go_too(
    tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks
):
    call = CallFactory(tenant=tenant_a, caller=SUBJECT)
    statement = CallRectificationFactory(
        tenant=tenant_a, call=call, statement="My number is 0151 12345678, not 0151 1234567."
    )
    SmsNoticeFactory(tenant=tenant_a, number=SUBJECT, text="Acme records calls. +49 151 12345678")
    request = erase(tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks)
    assert request.status == "completed"
    assert not CallRectification.objects.filter(pk=statement.pk).exists()
    assert not SmsNotice.objects.filter(number=SUBJECT).exists()
    assert {h.statement for h in CallRectification.history.filter(id=statement.pk)} == {"[erased]"}
    assert raw_rows_with([SUBJECT]) == []


def test_approval_by_policy_is_recorded_as_such(
    tenant_a, key_a, django_capture_on_commit_callbacks
):
    tenant_a.auto_approve_erasure = True
    tenant_a.save()
    CallFactory(tenant=tenant_a, caller=SUBJECT)
    with django_capture_on_commit_callbacks(execute=True):
        request = services.request_open(
            tenant=tenant_a, kind="erasure", numbers=[SUBJECT], channel="api", api_key=key_a
        )
    request.refresh_from_db()
    assert request.status == "completed" and request.approved_by_policy
    reasons = list(request.history.values_list("history_change_reason", flat=True))
    assert "approved by policy (auto_approve_erasure)" in reasons
    certificate = request.erasure_certificates.get().content
    assert certificate["approval"]["by_policy"] is True and certificate["approval"]["by"] is None


def test_residual_data_in_other_rows_blocks_completion_until_dealt_with(
    tenant_a, dpo_user, second_dpo, client, django_capture_on_commit_callbacks
):
    CallFactory(tenant=tenant_a, caller=SUBJECT)
    colleague = CallFactory(tenant=tenant_a, caller=OTHER)
    transcript = TranscriptFactory(
        tenant=tenant_a, call=colleague, text="Ruf bitte meine Kollegin an: 0151-1234 5678."
    )
    transcript_set(call=colleague, language="de-DE", text=transcript.text + " Danke.")
    request = erase(tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks)
    assert request.status == "processing"
    run = ErasureRun.objects.get(request=request)
    assert run.state == "residual_data" and run.scan_clean is False
    assert {(f["table"], f["column"]) for f in run.scan_findings} == {
        ("calls_transcript", "text"),
        ("calls_historicaltranscript", "text"),
    }
    assert request.events.filter(action="residual_data").exists()
    assert any("Erasure blocked by residual data" in m.subject for m in mail.outbox)
    client.force_login(dpo_user)
    page = client.get(f"/admin/dsr/datasubjectrequest/{request.pk}/change/").content.decode()
    assert "residual data found" in page and "calls_historicaltranscript.text" in page
    home = client.get("/admin/").content.decode()
    assert "Erasures blocked by residual data" in home

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/dsr/datasubjectrequest/{request.pk}/do/redact_findings/", {"numbers": ""}
        )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "completed"
    transcript.refresh_from_db()
    assert transcript.text == "Ruf bitte meine Kollegin an: [erased]. Danke."
    assert residual_scan([SUBJECT], tenant_id=tenant_a.pk) == []


def test_recipients_are_told_which_calls_were_erased(
    tenant_a, dpo_user, second_dpo, webhook_receiver, django_capture_on_commit_callbacks
):
    calls = [CallFactory(tenant=tenant_a, caller=SUBJECT) for _ in range(2)]
    hook = WebhookFactory(tenant=tenant_a, url=webhook_receiver.url, events=["request.erased"])
    request = erase(tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks)
    [received] = webhook_receiver.requests
    assert received["headers"]["X-Portal-Event"] == "request.erased"
    assert verify_signature(
        hook.secret, received["body"], received["headers"]["X-Portal-Signature"]
    )
    data = json.loads(received["body"])["data"]
    assert data["request"] == request.pk and sorted(data["calls"]) == sorted(c.pk for c in calls)
    assert "+49" not in received["body"].decode()
    assert (
        ErasureItem.objects.filter(request=request, announced_at__isnull=True, kind="call").count()
        == 0
    )


def test_a_call_deleted_earlier_left_nothing_for_the_erasure_to_find(
    tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks
):
    from calls.models import FileDeletion
    from calls.services import call_delete

    recording = RecordingFactory(tenant=tenant_a, call__caller=SUBJECT)
    call, key = recording.call, recording.file.name
    with django_capture_on_commit_callbacks(execute=True):
        call_delete(call=call, reason="Ticket 5", source="api")
    # The deletion redacted the history itself: the number is gone, the file too.
    assert residual_scan([SUBJECT], tenant_id=tenant_a.pk) == []
    assert FileDeletion.objects.get(storage_key=key).completed_at is not None
    request = erase(tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks)
    assert request.status == "completed"
    assert residual_scan([SUBJECT], tenant_id=tenant_a.pk) == []
    assert Call.history.filter(id=call.pk).count() == 2  # it existed, and was deleted
    assert Call.history.get(id=call.pk, history_type="-").history_change_reason == "api: Ticket 5"
