"""Erasure work that dies half-way is finished by running it again, with the same result as an
uninterrupted run; work that stalls is noticed and started again."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from calls.models import Call, Recording
from consent.models import ConsentEvent
from dsr import services, tasks
from dsr.models import DataSubjectRequest, ErasureItem, ErasureRun
from dsr.services.erasure import execution, items
from portal.redaction import residual_scan
from tests.dsr.erasure_checks import stored_keys
from tests.factories import (
    CallFactory,
    ConsentEventFactory,
    DataSubjectRequestFactory,
    LegalHoldFactory,
    RecordingAccessFactory,
    RecordingFactory,
    TranscriptFactory,
)

pytestmark = pytest.mark.django_db
SUBJECT = "+4915112345678"


def subject_data(tenant, calls: int = 5) -> list[Call]:
    made = []
    for index in range(calls):
        call = RecordingFactory(
            tenant=tenant, call__caller=SUBJECT, call__external_id=f"c{index}"
        ).call
        TranscriptFactory(tenant=tenant, call=call, text=f"Call {index} of 0151 12345678.")
        RecordingAccessFactory(tenant=tenant, call=call)
        made.append(call)
    ConsentEventFactory(tenant=tenant, number=SUBJECT)
    LegalHoldFactory(tenant=tenant, calls=[made[2].pk], reason="Case 3")
    return made


def approved(tenant, dpo, second) -> DataSubjectRequest:
    request = DataSubjectRequestFactory(tenant=tenant, kind="erasure", numbers=[SUBJECT])
    services.request_verify(request=request, by=dpo, method="callback")
    services.request_approve(request=request, by=second)  # the task is not run here
    return request


def summary(request: DataSubjectRequest, calls: list[Call]) -> dict:
    request.refresh_from_db()
    by_index = {call.pk: index for index, call in enumerate(calls)}
    return {
        "status": request.status,
        "items": sorted(
            (
                item.kind,
                by_index[item.object_id] if item.kind == "call" else "-",
                item.status,
                item.blocker,
            )
            for item in request.erasure_items.all()
        ),
        "calls_left": sorted(
            by_index[pk]
            for pk in Call.objects.filter(tenant=request.tenant).values_list("pk", flat=True)
        ),
        "residual": sorted(h.table for h in residual_scan([SUBJECT], tenant_id=request.tenant_id)),
        "consent_left": ConsentEvent.objects.filter(tenant=request.tenant).count(),
        "files_left": Recording.objects.filter(tenant=request.tenant).count(),
        "certificates": request.erasure_certificates.count(),
        "announced": sorted(
            by_index[i.object_id]
            for i in request.erasure_items.filter(kind="call", announced_at__isnull=False)
        ),
    }


def test_a_run_killed_half_way_finishes_when_run_again(
    tenant_a, tenant_b, dpo_user, second_dpo, monkeypatch, django_capture_on_commit_callbacks
):
    killed_calls = subject_data(tenant_a)
    reference_calls = subject_data(tenant_b)
    held_a = killed_calls[2]
    held_file = Recording.objects.get(call=held_a).file.name

    # The uninterrupted run, on tenant B's identical data.
    reference = approved(tenant_b, dpo_user, second_dpo)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.erasure_run(reference.pk) == "partially_completed"

    # The same on tenant A, dying after the second call is erased.
    request = approved(tenant_a, dpo_user, second_dpo)
    real_erase = items.erase_call
    erased = []

    def dying(ctx, call_id):
        if len(erased) == 2:
            raise RuntimeError("worker killed")
        outcome = real_erase(ctx, call_id)
        erased.append(call_id)
        return outcome

    monkeypatch.setattr(items, "erase_call", dying)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.erasure_run(request.pk) == "failed"  # in-process: recorded, not raised
    run = ErasureRun.objects.get(request=request)
    assert "worker killed" in run.last_error and run.state == ErasureRun.State.RUNNING
    request.refresh_from_db()
    assert request.status == "processing"
    assert len(erased) == 2 and Call.objects.filter(tenant=tenant_a).count() == 3
    assert Call.objects.filter(pk=held_a.pk).exists()
    assert Recording.objects.get(call=held_a).file.name == held_file

    monkeypatch.setattr(items, "erase_call", real_erase)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.erasure_run(request.pk) == "partially_completed"
    assert summary(request, killed_calls) == summary(reference, reference_calls)
    assert Call.objects.filter(tenant=tenant_a).get() == held_a  # nothing held was touched
    assert {k for k, _ in stored_keys() if k.startswith(f"tenants/{tenant_a.pk}/")} == {held_file}
    run.refresh_from_db()
    assert run.attempts == 2 and run.last_error == ""
    # Running it once more changes nothing.
    before = summary(request, killed_calls)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.erasure_run(request.pk)
    assert summary(request, killed_calls) == before


def test_a_run_killed_inside_an_item_leaves_that_item_whole(
    tenant_a, dpo_user, second_dpo, monkeypatch, django_capture_on_commit_callbacks
):
    """Dying in the middle of one call's erasure (after its rows went, before its history was
    redacted) rolls that call back entirely; the next run erases it properly."""
    calls = subject_data(tenant_a, calls=3)
    request = approved(tenant_a, dpo_user, second_dpo)
    real_scrub = items.call_history_scrub

    def dying(call_id, ctx):
        raise OSError("database connection lost")

    monkeypatch.setattr(items, "call_history_scrub", dying)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.erasure_run(request.pk) == "failed"
    assert Call.objects.filter(tenant=tenant_a).count() == 3  # the first call came back whole
    assert not request.erasure_items.filter(status="erased", kind="call").exists()
    monkeypatch.setattr(items, "call_history_scrub", real_scrub)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.erasure_run(request.pk) == "partially_completed"
    assert list(Call.objects.filter(tenant=tenant_a)) == [calls[2]]
    assert {h.table for h in residual_scan([SUBJECT], tenant_id=tenant_a.pk)} <= {
        "calls_call",
        "calls_historicalcall",
        "calls_transcript",
        "calls_historicaltranscript",
    }


def test_stalled_work_is_noticed_and_started_again(
    tenant_a, dpo_user, second_dpo, settings, django_capture_on_commit_callbacks
):
    settings.ERASURE_STUCK_AFTER_MINUTES = 20
    CallFactory(tenant=tenant_a, caller=SUBJECT)
    never_started = approved(tenant_a, dpo_user, second_dpo)  # its task was lost
    assert not ErasureRun.objects.filter(request=never_started).exists()
    assert execution.erasures_resume_stuck() == []  # not stuck yet
    later = timezone.now() + timedelta(minutes=25)
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        assert execution.erasures_resume_stuck() == [never_started.pk]
    never_started.refresh_from_db()
    assert never_started.status == "completed"

    # A run that stopped making progress (its worker died) is resumed too.
    CallFactory(tenant=tenant_a, caller="+4915100000001")
    stalled = DataSubjectRequestFactory(tenant=tenant_a, kind="erasure", numbers=["+4915100000001"])
    services.request_verify(request=stalled, by=dpo_user, method="callback")
    services.request_approve(request=stalled, by=second_dpo)
    ErasureRun.objects.create(tenant=tenant_a, request=stalled, attempts=1)
    DataSubjectRequest.objects.filter(pk=stalled.pk).update(status="processing")
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assert execution.erasures_resume_stuck() == []  # making progress recently enough
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        assert tasks.erasure_resume_stuck() == [stalled.pk]
    stalled.refresh_from_db()
    assert stalled.status == "completed"
    assert stalled.erasure_run.attempts == 2


def test_progress_is_marked_item_by_item(tenant_a, dpo_user, second_dpo, monkeypatch):
    subject_data(tenant_a, calls=3)
    request = approved(tenant_a, dpo_user, second_dpo)
    seen = []
    real = items.erase_call

    def watching(ctx, call_id):
        run = ErasureRun.objects.get(request=request)
        seen.append(run.progress_at)
        return real(ctx, call_id)

    monkeypatch.setattr(items, "erase_call", watching)
    execution.erasure_execute(request_id=request.pk)
    assert len(seen) == 3 and seen == sorted(seen) and len(set(seen)) == 3
    assert ErasureItem.objects.filter(request=request, status="pending").count() == 0
