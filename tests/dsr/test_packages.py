"""Access packages: the whole flow in-process, contents, downloads, expiry, failures."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.utils import timezone

from calls.models import RecordingAccess
from dsr import services
from dsr.models import AccessPackage, DataSubjectRequest, PackageDownload
from dsr.services import packages
from dsr.services.packages import contents
from dsr.tasks import package_expire_due
from portal.errors import NotPermitted
from portal.models import WebhookDelivery
from tests.dsr import flow
from tests.dsr.conftest import SUBJECT, SUBJECT_2
from tests.factories import DataSubjectRequestFactory, WebhookFactory

pytestmark = pytest.mark.django_db


def test_api_verify_approve_package_download_in_process(
    subject, api_a, client, dpo_user, tenant_a, django_capture_on_commit_callbacks
):
    WebhookFactory(tenant=tenant_a, events=["request.package_ready"])
    with django_capture_on_commit_callbacks(execute=True):
        created = flow.open_via_api(api_a)
    assert created["status"] == "received" and created["due_at"]
    assert api_a.get(f"/api/v1/requests/{created['id']}/package/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        flow.verify_and_approve_in_admin(client, dpo_user, created["id"])
    detail = api_a.get(f"/api/v1/requests/{created['id']}/").json()
    assert detail["status"] == "completed"
    assert detail["package"]["status"] == "ready"
    assert detail["package"]["download_url"] == f"/api/v1/requests/{created['id']}/package/"
    content = flow.download(api_a, created["id"])
    flow.check_package(content, subject, created["id"])
    package = AccessPackage.objects.get(request_id=created["id"])
    assert package.size_bytes == len(content)
    assert package.expires_at - package.ready_at == timedelta(days=14)
    assert PackageDownload.objects.filter(package=package, api_key__isnull=False).count() == 1
    [delivery] = WebhookDelivery.objects.filter(event="request.package_ready")
    assert delivery.payload["package"] == package.pk


def test_exports_are_logged_in_the_recording_access_log(subject, tenant_a, dpo_user):
    request = DataSubjectRequestFactory(tenant=tenant_a, numbers=[SUBJECT, SUBJECT_2])
    services.request_verify(request=request, by=dpo_user, method="callback")
    services.request_approve(request=request, by=dpo_user)
    packages.package_build(request_id=request.pk)
    exports = RecordingAccess.objects.filter(how="export")
    assert {(a.call_id, a.what) for a in exports} == {
        *((r.call_id, "recording") for r in subject.recordings),
        *((t.call_id, "transcript") for t in subject.transcripts),
    }
    assert all(f"request #{request.pk}" in a.purpose for a in exports)


def test_a_recording_missing_from_storage_makes_the_request_partially_completed(
    subject, tenant_a, dpo_user
):
    default_storage.delete(subject.recordings[1].file.name)
    request = DataSubjectRequestFactory(tenant=tenant_a, numbers=[SUBJECT, SUBJECT_2])
    services.request_verify(request=request, by=dpo_user, method="callback")
    services.request_approve(request=request, by=dpo_user)
    package = packages.package_build(request_id=request.pk)
    request.refresh_from_db()
    assert request.status == "partially_completed"
    assert f"calls {subject.recordings[1].call_id}" in request.outcome
    archive = zipfile.ZipFile(default_storage.open(package.file.name))
    manifest = json.loads(archive.read("manifest.json"))
    lost = subject.recordings[1].call_id
    assert manifest["missing"] == [{"call": lost, "what": "recording", "reason": "not in storage"}]
    letter = archive.read("cover_letter.txt").decode()
    assert "NOT INCLUDED: 1 recording(s)" in letter and f"(call(s) {lost})" in letter
    [row] = [c for c in json.loads(archive.read("data.json"))["calls"] if c["id"] == lost]
    assert row["recording"]["file"] is None and row["recording"]["missing_from_storage"]


def test_a_build_that_dies_half_way_leaves_nothing_and_can_run_again(
    subject, tenant_a, dpo_user, monkeypatch, django_capture_on_commit_callbacks
):
    request = DataSubjectRequestFactory(tenant=tenant_a, numbers=[SUBJECT, SUBJECT_2])
    services.request_verify(request=request, by=dpo_user, method="callback")
    services.request_approve(request=request, by=dpo_user)
    real_read = contents.read_chunks

    def dying_read(storage, name, chunk_size=1024):
        yield next(real_read(storage, name, 1024))
        raise OSError("storage went away")

    monkeypatch.setattr(contents, "read_chunks", dying_read)
    with pytest.raises(OSError), django_capture_on_commit_callbacks(execute=True):
        packages.package_build(request_id=request.pk, build_token="first")
    failed = AccessPackage.objects.get(request=request)
    assert failed.status == "failed" and "storage went away" in failed.error
    leftovers = default_storage.listdir(f"tenants/{tenant_a.pk}/packages")[1]
    assert leftovers == []
    request.refresh_from_db()
    assert request.status == "processing"
    monkeypatch.setattr(contents, "read_chunks", real_read)
    package = packages.package_build(request_id=request.pk, build_token="second")
    assert package.status == "ready"
    request.refresh_from_db()
    assert request.status == "completed"


def test_a_redelivered_task_takes_over_but_a_concurrent_one_does_not(subject, tenant_a, dpo_user):
    request = DataSubjectRequestFactory(tenant=tenant_a)
    services.request_verify(request=request, by=dpo_user, method="callback")
    services.request_approve(request=request, by=dpo_user)
    AccessPackage.objects.create(tenant=tenant_a, request=request, build_token="task-1")
    assert packages.package_build(request_id=request.pk, build_token="task-2") is None
    rebuilt = packages.package_build(request_id=request.pk, build_token="task-1")
    assert rebuilt.status == "ready"
    assert list(request.packages.values_list("status", flat=True)) == ["ready", "failed"]
    # Running once more does nothing: the request is answered.
    assert packages.package_build(request_id=request.pk, build_token="task-1") is None


def test_packages_expire_and_are_deleted(
    subject, tenant_a, dpo_user, api_a, django_capture_on_commit_callbacks
):
    request = DataSubjectRequestFactory(tenant=tenant_a)
    services.request_verify(request=request, by=dpo_user, method="callback")
    services.request_approve(request=request, by=dpo_user)
    package = packages.package_build(request_id=request.pk)
    name = package.file.name
    assert default_storage.exists(name)
    assert package_expire_due() == 0
    later = timezone.now() + timedelta(days=14, minutes=1)
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        assert package_expire_due() == 1
    assert not default_storage.exists(name)
    package.refresh_from_db()
    assert package.status == "expired" and package.deleted_at and not package.file
    response = api_a.get(f"/api/v1/requests/{request.pk}/package/")
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "package_expired"


def test_a_portability_package_has_the_same_machine_readable_files(subject, tenant_a, dpo_user):
    request = DataSubjectRequestFactory(
        tenant=tenant_a, kind="portability", numbers=[SUBJECT, SUBJECT_2]
    )
    services.request_verify(request=request, by=dpo_user, method="callback")
    services.request_approve(request=request, by=dpo_user)
    package = packages.package_build(request_id=request.pk)
    with default_storage.open(package.file.name) as handle:
        parts = flow.check_package(handle.read(), subject, request.pk)
    assert {"data.json", "calls.csv", "consent_history.csv"} <= parts["names"]
    letter = zipfile.ZipFile(io.BytesIO(default_storage.open(package.file.name).read())).read(
        "cover_letter.txt"
    )
    assert b"machine-readable format (Article 20 GDPR)" in letter
    assert DataSubjectRequest.objects.get(pk=request.pk).status == "completed"


def test_package_lifetime_must_be_a_positive_number_of_days(tmp_path):
    from tests.portal.test_settings import start_django

    result = start_django({"DEBUG": "1", "PACKAGE_TTL_DAYS": "0"}, tmp_path)
    assert result.returncode != 0 and "PACKAGE_TTL_DAYS must be at least 1" in result.stderr


def test_a_subject_with_no_data_is_told_so(tenant_a, dpo_user):
    request = DataSubjectRequestFactory(tenant=tenant_a, numbers=["+4917099999999"])
    services.request_verify(request=request, by=dpo_user, method="callback")
    services.request_approve(request=request, by=dpo_user)
    package = packages.package_build(request_id=request.pk)
    with default_storage.open(package.file.name) as handle:
        letter = zipfile.ZipFile(handle).read("cover_letter.txt").decode()
    assert "found no personal data about you" in letter
    assert "We confirm that we process" not in letter
    assert "(Art. 15(1)(h))" in letter


def test_the_dpo_can_start_a_stuck_build_again(
    subject, tenant_a, dpo_user, support_user, django_capture_on_commit_callbacks
):
    request = DataSubjectRequestFactory(tenant=tenant_a)
    services.request_verify(request=request, by=dpo_user, method="callback")
    services.request_approve(request=request, by=dpo_user)  # not run: no on-commit here
    services.request_process(request=request, by=dpo_user)
    stuck = AccessPackage.objects.create(tenant=tenant_a, request=request, build_token="dead")
    with pytest.raises(NotPermitted):
        services.request_package_rebuild(request=request, by=support_user)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_package_rebuild(request=request, by=dpo_user)
    stuck.refresh_from_db()
    assert stuck.status == "failed" and "Superseded" in stuck.error
    request.refresh_from_db()
    assert request.status == "completed"
    assert request.packages.filter(status="ready").count() == 1
