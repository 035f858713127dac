"""Deleting a call: one service behind one guard, files removed after commit (and retried)."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from calls import services
from calls.models import Call, FileDeletion, Recording, Transcript
from calls.tasks import file_deletions_retry
from portal.errors import BusinessRuleError
from portal.models import WebhookDelivery
from tests.calls.conftest import stored_files
from tests.factories import CallFactory, RetentionRuleFactory, WebhookFactory

pytestmark = pytest.mark.django_db


def _with_recording(call, wav):
    return services.recording_attach(call=call, file=io.BytesIO(wav), content_type="audio/wav")


@pytest.fixture
def complaint_rule(tenant_a):
    return RetentionRuleFactory(
        tenant=tenant_a,
        category="complaint",
        min_age_days=5 * 365,
        max_age_days=6 * 365,
        legal_reference="§ 195 BGB",
    )


def test_a_call_inside_its_minimum_retention_is_not_deleted(
    api_a, tenant_a, complaint_rule, wav, django_capture_on_commit_callbacks
):
    call = CallFactory(tenant=tenant_a, category="complaint")
    _with_recording(call, wav)
    [blocker] = services.call_deletion_blockers(call)
    assert blocker.code == "min_retention" and "§ 195 BGB" in blocker.reason
    assert blocker.until == call.started_at + timedelta(days=5 * 365)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_a.delete(f"/api/v1/calls/{call.pk}/")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "deletion_blocked" and "§ 195 BGB" in error["message"]
    assert Call.objects.filter(pk=call.pk).exists() and len(stored_files()) == 1
    assert not FileDeletion.objects.exists()


def test_once_the_minimum_has_passed_the_call_may_be_deleted(tenant_a, complaint_rule):
    call = CallFactory(tenant=tenant_a, category="complaint")
    later = call.started_at + timedelta(days=5 * 365 + 1)
    assert services.call_deletion_blockers(call, at=later) == []
    assert services.call_delete(call=call, reason="test", source="api", at=later)


def test_deletion_removes_rows_files_and_keeps_a_history_with_the_reason(
    tenant_a, wav, django_capture_on_commit_callbacks
):
    call = CallFactory(tenant=tenant_a)
    _with_recording(call, wav)
    services.transcript_set(call=call, language="de", text="Hallo")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.call_delete(call=call, reason="ticket 42", source="admin")
    assert not Call.objects.exists() and not Recording.objects.exists()
    assert not Transcript.objects.exists() and stored_files() == []
    last = Call.history.filter(id=call.pk).first()
    assert last.history_type == "-" and last.history_change_reason == "admin: ticket 42"


def test_deleting_twice_is_not_an_error(tenant_a):
    call = CallFactory(tenant=tenant_a)
    assert services.call_delete(call=call, reason="x", source="api") is True
    assert services.call_delete(call=call, reason="x", source="api") is False


def test_a_reason_is_required(tenant_a):
    with pytest.raises(BusinessRuleError) as caught:
        services.call_delete(call=CallFactory(tenant=tenant_a), reason=" ", source="api")
    assert caught.value.field == "reason"


def test_storage_down_at_commit_is_retried_until_the_file_is_gone(
    tenant_a, wav, monkeypatch, django_capture_on_commit_callbacks
):
    from calls.services.retention import deletion as deletion_module

    call = CallFactory(tenant=tenant_a)
    _with_recording(call, wav)

    def storage_down(name, **kwargs):
        raise OSError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(deletion_module, "stored_file_remove", storage_down)
        with django_capture_on_commit_callbacks(execute=True):
            services.call_delete(call=call, reason="x", source="api")
    assert not Call.objects.exists()  # the deletion itself stands
    pending = FileDeletion.objects.get()
    assert pending.completed_at is None and "connection refused" in pending.last_error
    assert len(stored_files()) == 1
    assert file_deletions_retry() == 0  # not due yet: its own task may still be running
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert file_deletions_retry() == 1
    pending.refresh_from_db()
    assert pending.completed_at is not None and pending.attempts == 2
    assert stored_files() == []


def test_deletion_tells_the_tenants_webhooks_without_numbers(
    tenant_a, django_capture_on_commit_callbacks
):
    WebhookFactory(tenant=tenant_a, events=["call.deleted"])
    call = CallFactory(tenant=tenant_a, external_id="crm-7")
    services.call_delete(call=call, reason="x", source="retention")
    delivery = WebhookDelivery.objects.get(event="call.deleted")
    assert delivery.payload == {"call_id": call.pk, "external_id": "crm-7", "source": "retention"}
    assert call.caller not in str(delivery.payload)


def test_viewers_cannot_delete(client, viewer_a, tenant_a):
    call = CallFactory(tenant=tenant_a)
    client.force_login(viewer_a)
    assert client.delete(f"/api/v1/calls/{call.pk}/").status_code == 403
    assert Call.objects.filter(pk=call.pk).exists()


def test_other_tenants_cannot_list_read_stream_or_delete(api_b, client, admin_b, tenant_a, wav):
    call = CallFactory(tenant=tenant_a)
    _with_recording(call, wav)
    client.force_login(admin_b)
    for api in (api_b, client):
        assert call.pk not in {c["id"] for c in api.get("/api/v1/calls/").json()["results"]}
        assert api.get(f"/api/v1/calls/{call.pk}/").status_code == 404
        stream = api.get(f"/api/v1/calls/{call.pk}/recording/", {"purpose": "x"})
        assert stream.status_code == 404
        assert api.delete(f"/api/v1/calls/{call.pk}/").status_code == 404
    assert Call.objects.filter(pk=call.pk).exists() and len(stored_files()) == 1


def test_files_still_in_storage_after_the_grace_period_show_on_the_dpo_home(
    client, dpo_user, tenant_a
):
    from tests.factories import FileDeletionFactory

    FileDeletionFactory(tenant=tenant_a, requested_at=timezone.now(), storage_key="fresh")
    stuck = FileDeletionFactory(
        tenant=tenant_a,
        requested_at=timezone.now() - timedelta(hours=1),
        attempts=3,
        storage_key="tenants/1/recordings/stuck",
    )
    FileDeletionFactory(
        tenant=tenant_a,
        requested_at=timezone.now() - timedelta(hours=1),
        completed_at=timezone.now(),
        storage_key="done",
    )
    client.force_login(dpo_user)
    page = client.get("/admin/").content.decode()
    assert "Deleted files still in storage" in page
    assert stuck.storage_key in page and "fresh" not in page and ">done<" not in page


def test_a_restricted_call_is_kept_by_every_deletion_path(api_a, tenant_a):
    # Art. 18: a subject may ask to restrict instead of erasing (e.g. evidence for a claim).
    call = CallFactory(
        tenant=tenant_a, is_restricted=True, started_at=timezone.now() - timedelta(days=400)
    )
    RetentionRuleFactory(tenant=tenant_a, category=call.category, max_age_days=30)
    assert [b.code for b in services.call_deletion_blockers(call)] == ["restricted"]
    assert api_a.delete(f"/api/v1/calls/{call.pk}/").status_code == 409
    report = services.retention_sweep()
    assert report.kept[("tenant-a", call.category, "restricted")] == 1
    assert Call.objects.filter(pk=call.pk).exists()


def test_an_api_key_created_by_the_dpo_does_not_act_as_the_dpo(tenant_a, dpo_user, wav):
    from tests.conftest import api_client_for
    from tests.factories import ApiKeyFactory

    call = CallFactory(tenant=tenant_a)
    _with_recording(call, wav)
    Call.objects.filter(pk=call.pk).update(is_restricted=True)
    api = api_client_for(ApiKeyFactory(tenant=tenant_a, created_by=dpo_user))
    response = api.get(f"/api/v1/calls/{call.pk}/recording/", {"purpose": "x"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "restricted"
