"""Recordings and transcripts: upload rules, nothing half-written, logged consultation."""

import hashlib

import pytest

from calls import services
from calls.models import FileDeletion, Recording, RecordingAccess, Transcript
from tests.calls.conftest import stored_files, upload
from tests.factories import CallFactory, PurposeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def call_a(tenant_a):
    call = CallFactory(tenant=tenant_a)
    for code in ("complaint_handling", "quality_assurance"):
        call.purposes.add(PurposeFactory(tenant=tenant_a, code=code))
    return call


def test_upload_stores_the_file_under_a_random_tenant_key_with_its_sha256(api_a, call_a, wav):
    response = upload(api_a, call_a.pk, wav)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == hashlib.sha256(wav).hexdigest()
    assert body["size_bytes"] == len(wav)
    assert body["content_type"] == "audio/wav"
    assert body["duration_seconds"] == 2  # measured from the WAV header
    recording = Recording.objects.get(call=call_a)
    name = recording.file.name
    assert name.startswith(f"tenants/{call_a.tenant_id}/recordings/")
    assert call_a.caller.lstrip("+") not in name and call_a.external_id not in name
    [path] = stored_files()
    assert path.read_bytes() == wav


def test_a_declared_duration_is_kept(api_a, call_a, wav):
    response = upload(api_a, call_a.pk, wav, duration_seconds=95)
    assert response.json()["duration_seconds"] == 95


def test_replacing_a_recording_removes_the_old_file_after_commit(
    api_a, call_a, wav, django_capture_on_commit_callbacks
):
    upload(api_a, call_a.pk, wav)
    [old] = stored_files()
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api_a, call_a.pk, wav[:-2000])
    assert response.status_code == 200
    [new] = stored_files()
    assert new != old and not old.exists()
    assert Recording.objects.get(call=call_a).size_bytes == len(wav) - 2000
    assert FileDeletion.objects.get().completed_at is not None


def test_a_disallowed_type_is_a_415_and_nothing_is_written(api_a, call_a):
    response = upload(api_a, call_a.pk, b"hello, not audio", content_type="text/plain")
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type" and "file" in error["fields"]
    assert not Recording.objects.exists() and stored_files() == []


def test_content_that_is_not_the_declared_type_is_a_415(api_a, call_a):
    response = upload(api_a, call_a.pk, b"%PDF-1.7 not a wave file", content_type="audio/wav")
    assert response.status_code == 415
    assert not Recording.objects.exists() and stored_files() == []


def test_an_oversized_upload_is_a_413_and_nothing_is_written(api_a, call_a, wav, settings):
    settings.RECORDING_MAX_BYTES = len(wav) - 1
    response = upload(api_a, call_a.pk, wav)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not Recording.objects.exists() and stored_files() == []


def test_a_request_far_over_the_limit_is_refused_before_its_body_is_read(
    api_a, call_a, wav, settings, monkeypatch
):
    settings.RECORDING_MAX_BYTES = 100
    from rest_framework.request import Request

    def must_not_parse(self):
        raise AssertionError("the body was parsed")

    monkeypatch.setattr(Request, "_load_data_and_files", must_not_parse)
    response = upload(api_a, call_a.pk, wav * 40)  # well over limit + multipart slack
    assert response.status_code == 413
    assert stored_files() == []


def test_a_failure_after_the_file_is_stored_leaves_no_file_and_no_row(call_a, wav, monkeypatch):
    import io

    from calls.services import media

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(media, "_recording_row_write", broken)
    with pytest.raises(RuntimeError):
        services.recording_attach(call=call_a, file=io.BytesIO(wav), content_type="audio/wav")
    assert not Recording.objects.exists() and stored_files() == []


def test_missing_file_field_names_file(api_a, call_a):
    response = api_a.put(f"/api/v1/calls/{call_a.pk}/recording/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]


# --- consultation --------------------------------------------------------------------------


def test_streaming_needs_a_purpose_and_is_logged(api_a, call_a, wav, key_a):
    upload(api_a, call_a.pk, wav)
    missing = api_a.get(f"/api/v1/calls/{call_a.pk}/recording/")
    assert missing.status_code == 400
    assert "purpose" in missing.json()["error"]["fields"]
    assert not RecordingAccess.objects.exists()
    response = api_a.get(
        f"/api/v1/calls/{call_a.pk}/recording/",
        {"purpose": "complaint_handling"},
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == wav
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"].startswith("attachment")
    assert f"call-{call_a.pk}" in response["Content-Disposition"]
    access = RecordingAccess.objects.get()
    assert (access.call, access.what, access.how) == (call_a, "recording", "download")
    assert access.purpose == "complaint_handling"
    assert access.api_key == key_a and access.ip_address == "10.1.2.3"


def test_playback_is_inline_and_logged_as_playback(api_a, call_a, wav):
    upload(api_a, call_a.pk, wav)
    response = api_a.get(
        f"/api/v1/calls/{call_a.pk}/recording/", {"purpose": "quality_assurance", "how": "playback"}
    )
    assert response["Content-Disposition"].startswith("inline")
    assert RecordingAccess.objects.get().how == "playback"


def test_a_call_without_recording_is_a_404_and_nothing_is_logged(api_a, call_a):
    response = api_a.get(f"/api/v1/calls/{call_a.pk}/recording/", {"purpose": "quality_assurance"})
    assert response.status_code == 404
    assert not RecordingAccess.objects.exists()


def test_a_restricted_call_is_not_played_except_by_the_dpo(api_a, client, call_a, wav, dpo_user):
    upload(api_a, call_a.pk, wav)
    type(call_a).objects.filter(pk=call_a.pk).update(is_restricted=True)
    refused = api_a.get(f"/api/v1/calls/{call_a.pk}/recording/", {"purpose": "quality_assurance"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "restricted"
    url = f"/api/v1/calls/{call_a.pk}/transcript/"
    transcript = api_a.get(url, {"purpose": "quality_assurance"})
    assert transcript.status_code == 403
    assert not RecordingAccess.objects.exists()
    client.force_login(dpo_user)
    allowed = client.get(
        f"/api/v1/calls/{call_a.pk}/recording/",
        {"purpose": "complaint_handling"},
        HTTP_X_TENANT=call_a.tenant.slug,
    )
    assert allowed.status_code == 200
    assert RecordingAccess.objects.get().user == dpo_user


def test_transcripts_are_set_replaced_and_read_with_a_logged_purpose(api_a, call_a):
    url = f"/api/v1/calls/{call_a.pk}/transcript/"
    created = api_a.put(url, {"language": "de-DE", "text": "Guten Tag"}, format="json")
    assert created.status_code == 201, created.content
    replaced = api_a.put(url, {"language": "de-DE", "text": "Guten Abend"}, format="json")
    assert replaced.status_code == 200
    assert Transcript.objects.get().history.count() == 2
    assert api_a.get(url).status_code == 400  # purpose missing
    response = api_a.get(url, {"purpose": "complaint_handling"})
    assert response.json()["text"] == "Guten Abend"
    access = RecordingAccess.objects.get()
    assert (access.what, access.purpose) == ("transcript", "complaint_handling")
    listed = api_a.get(f"/api/v1/calls/{call_a.pk}/").json()
    assert listed["transcript"]["language"] == "de-DE" and "text" not in listed["transcript"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"language": "German!", "text": "x"}, "language"),
        ({"language": "de", "text": "   "}, "text"),
        ({"text": "x"}, "language"),
    ],
)
def test_bad_transcripts_name_the_field(api_a, call_a, body, field):
    response = api_a.put(f"/api/v1/calls/{call_a.pk}/transcript/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Transcript.objects.exists()


def test_the_access_log_of_a_call_is_listed(api_a, call_a, wav):
    upload(api_a, call_a.pk, wav)
    api_a.get(f"/api/v1/calls/{call_a.pk}/recording/", {"purpose": "quality_assurance"})
    [entry] = api_a.get(f"/api/v1/calls/{call_a.pk}/accesses/").json()["results"]
    assert entry["what"] == "recording" and entry["purpose"] == "quality_assurance"
    assert entry["who"].startswith("api_key:")
