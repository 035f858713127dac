"""Every path that deletes a call leaves none of its personal data behind: not in the live
tables, not in the history tables, not in storage — and the history still says who deleted it,
when and why (Art. 5(1)(e), 17)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from calls import services
from calls.models import Call, Recording, RecordingAccess, Transcript
from portal.audit import acting_as_system
from portal.redaction import residual_scan
from tests.calls.conftest import stored_files
from tests.factories import CallFactory, RetentionRuleFactory

pytestmark = pytest.mark.django_db

CALLER = "+4930555777111"
SPOKEN = "meine Kundennummer ist 4711-0815"


def _call(tenant, wav, **kwargs):
    call = CallFactory(tenant=tenant, **{"caller": CALLER, **kwargs})
    services.recording_attach(call=call, file=io.BytesIO(wav), content_type="audio/wav")
    services.transcript_set(call=call, language="de-DE", text=f"{SPOKEN}, Rückruf {CALLER}")
    RecordingAccess.objects.create(
        tenant=tenant, call=call, what="recording", how="playback", purpose=f"call {call.caller}"
    )
    return call


def _nothing_left(call, tenant, *, reason: str) -> None:
    assert residual_scan([CALLER], tenant_id=tenant.pk) == []
    for model, field in ((Transcript, "text"), (Transcript.history.model, "text")):
        assert not model._base_manager.filter(**{f"{field}__contains": "4711-0815"}).exists()
    assert stored_files() == []
    assert not Recording.objects.filter(call_id=call.pk).exists()
    deletion = Call.history.get(id=call.pk, history_type="-")
    assert deletion.history_change_reason == reason
    assert deletion.history_actor or deletion.history_user_id
    assert Call.history.filter(id=call.pk).count() >= 2  # it existed, and was deleted


def test_the_api_delete_leaves_nothing(api_a, tenant_a, wav, django_capture_on_commit_callbacks):
    call = _call(tenant_a, wav)
    with django_capture_on_commit_callbacks(execute=True):
        assert api_a.delete(f"/api/v1/calls/{call.pk}/").status_code == 204
    _nothing_left(call, tenant_a, reason="api: deleted through the API")


def test_the_admin_page_and_action_leave_nothing(
    client, dpo_user, tenant_a, wav, django_capture_on_commit_callbacks
):
    client.force_login(dpo_user)
    one, two = _call(tenant_a, wav), _call(tenant_a, wav, caller="+4930555777112")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/calls/call/{one.pk}/delete/", {"reason": "ticket 9", "confirm": "yes"}
        )
    assert response.status_code == 302
    selected = {"action": "delete_calls", "_selected_action": [two.pk]}
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/calls/call/", {**selected, "confirm": "yes", "reason": "cleanup"})
    _nothing_left(one, tenant_a, reason="admin: ticket 9")
    assert residual_scan(["+4930555777112"], tenant_id=tenant_a.pk) == []
    deletion = Call.history.get(id=two.pk, history_type="-")
    assert deletion.history_change_reason == "admin: cleanup"
    assert deletion.history_user == dpo_user


def test_the_dashboard_delete_leaves_nothing(
    client, admin_a, tenant_a, wav, django_capture_on_commit_callbacks
):
    client.force_login(admin_a)
    call = _call(tenant_a, wav)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/dashboard/calls/{call.pk}/delete/", {"reason": "asked by phone"})
    assert response.status_code == 302
    _nothing_left(call, tenant_a, reason="dashboard: asked by phone")
    assert Call.history.get(id=call.pk, history_type="-").history_user == admin_a


def test_the_sweep_leaves_nothing(tenant_a, wav, django_capture_on_commit_callbacks):
    RetentionRuleFactory(tenant=tenant_a, category="sales", max_age_days=90)
    call = _call(tenant_a, wav, category="sales", started_at=timezone.now() - timedelta(days=91))
    with django_capture_on_commit_callbacks(execute=True), acting_as_system("task:sweep"):
        assert services.retention_sweep().deleted_total == 1
    _nothing_left(call, tenant_a, reason="retention: older than the maximum of 90 days for 'sales'")


def test_the_sweep_over_thousands_of_calls_leaves_nothing(
    tenant_a, django_capture_on_commit_callbacks
):
    RetentionRuleFactory(tenant=tenant_a, category="sales", max_age_days=90)
    old = timezone.now() - timedelta(days=200)
    numbers = [f"+4930{6000000 + n}" for n in range(3000)]
    bulk_create_with_history(
        [
            Call(
                tenant=tenant_a,
                external_id=f"old-{n}",
                direction="inbound",
                caller=number,
                callee="+49301234560",
                started_at=old,
                category="sales",
            )
            for n, number in enumerate(numbers)
        ],
        Call,
        batch_size=500,
    )
    kept = CallFactory(tenant=tenant_a, category="sales", caller="+4930999888777")
    calls = list(Call.objects.filter(tenant=tenant_a, started_at=old))
    bulk_create_with_history(
        [
            Transcript(tenant=tenant_a, call=call, language="de", text=f"Rückruf {call.caller}")
            for call in calls
        ],
        Transcript,
        batch_size=500,
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = services.retention_sweep()
    assert report.deleted_total == 3000
    assert list(Call.objects.values_list("pk", flat=True)) == [kept.pk]
    # A sample of the numbers, and the callee they all share, is nowhere any more.
    assert residual_scan([*numbers[::300], numbers[-1]], tenant_id=tenant_a.pk) == []
    assert not Transcript.history.model.objects.filter(text__contains="+4930").exists()
    assert Call.history.filter(history_type="-").count() == 3000
    assert Call.history.filter(caller="+4930999888777").exists()  # the kept call is untouched
