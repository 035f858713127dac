"""The whole life of a call, on the filesystem and on S3-compatible object storage (moto's
server on loopback, versioned bucket): ingest → find by number written three ways → stream
(logged) → delete through the service → nothing of the file left in storage."""

from __future__ import annotations

import hashlib

import boto3
import pytest
from django.core.files.storage import default_storage, storages
from storages.backends.s3 import S3Storage

from calls import services
from calls.models import Call, FileDeletion, Recording, RecordingAccess
from calls.services.storage import stored_file_versions
from portal.config import env_storages
from tests.calls.conftest import call_payload, stored_files, upload

pytestmark = pytest.mark.django_db

BUCKET = "call-recordings"


def _ingest_find_stream(api, wav) -> tuple[Call, str]:
    created = api.post("/api/v1/calls/", call_payload(caller="+49 30 1234567"), format="json")
    assert created.status_code == 201, created.content
    call_id = created.json()["id"]
    uploaded = upload(api, call_id, wav)
    assert uploaded.status_code == 201
    assert uploaded.json()["sha256"] == hashlib.sha256(wav).hexdigest()
    for written in ("+49 30 1234567", "030 1234567", "0049301234567"):
        found = api.get("/api/v1/calls/", {"number": written}).json()["results"]
        assert [c["id"] for c in found] == [call_id], written
    streamed = api.get(f"/api/v1/calls/{call_id}/recording/", {"purpose": "service_delivery"})
    assert streamed.status_code == 200
    assert b"".join(streamed.streaming_content) == wav
    assert RecordingAccess.objects.filter(call_id=call_id, purpose="service_delivery").count() == 1
    return Call.objects.get(pk=call_id), Recording.objects.get(call_id=call_id).file.name


def test_lifecycle_on_the_filesystem(api_a, purposes_a, wav, django_capture_on_commit_callbacks):
    call, name = _ingest_find_stream(api_a, wav)
    assert default_storage.exists(name) and len(stored_files()) == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = api_a.delete(f"/api/v1/calls/{call.pk}/")
    assert response.status_code == 204
    assert not Call.objects.filter(pk=call.pk).exists()
    assert not Recording.objects.exists()
    assert stored_files() == []
    deletion = FileDeletion.objects.get(storage_key=name)
    assert deletion.completed_at is not None and deletion.versions_removed == 1
    # The access log outlives the call (without it): the consultation stays accountable.
    assert RecordingAccess.objects.get().call is None


@pytest.fixture
def s3_storage(settings, monkeypatch, tmp_path):
    """Default storage on moto's S3 server on loopback, bucket versioned, dummy credentials."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "STORAGE_BACKEND": "s3",
        "STORAGE_S3_BUCKET": BUCKET,
        "STORAGE_S3_ENDPOINT_URL": endpoint,
        "STORAGE_S3_ACCESS_KEY_ID": "testing",
        "STORAGE_S3_SECRET_ACCESS_KEY": "testing",
        "STORAGE_S3_REGION": "us-east-1",
        "STORAGE_S3_ADDRESSING_STYLE": "path",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    settings.STORAGES = env_storages(media_root=tmp_path / "unused")
    assert isinstance(storages["default"], S3Storage)
    yield client
    server.stop()


def _versions(client, key):
    listing = client.list_object_versions(Bucket=BUCKET, Prefix=key)
    return [
        entry
        for entry in [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]
        if entry["Key"] == key
    ]


@pytest.mark.s3
def test_lifecycle_on_versioned_s3(
    api_a, purposes_a, wav, s3_storage, django_capture_on_commit_callbacks
):
    client = s3_storage
    call, name = _ingest_find_stream(api_a, wav)
    stored = client.get_object(Bucket=BUCKET, Key=name)
    assert stored["Body"].read() == wav
    assert stored["ContentType"] == "audio/wav"
    # What a versioned bucket accumulates: an overwrite (a second version) and a plain
    # delete (a delete marker) — both still hold or point at the recording.
    client.put_object(Bucket=BUCKET, Key=name, Body=wav[:1000])
    default_storage.delete(name)
    assert len(_versions(client, name)) == 3
    with django_capture_on_commit_callbacks(execute=True):
        services.call_delete(call=call, reason="subject asked", source="api")
    assert _versions(client, name) == []
    assert stored_file_versions(name) == 0
    deletion = FileDeletion.objects.get(storage_key=name)
    assert deletion.completed_at is not None and deletion.versions_removed == 3
    assert not Call.objects.filter(pk=call.pk).exists()


@pytest.mark.s3
def test_removal_keeps_other_objects_whose_key_shares_the_prefix(s3_storage):
    from calls.services.storage import stored_file_remove

    client = s3_storage
    client.put_object(Bucket=BUCKET, Key="tenants/1/recordings/abc", Body=b"1")
    client.put_object(Bucket=BUCKET, Key="tenants/1/recordings/abcd", Body=b"2")
    assert stored_file_remove("tenants/1/recordings/abc") == 1
    assert stored_file_remove("tenants/1/recordings/abc") == 0  # already gone: success
    assert len(_versions(client, "tenants/1/recordings/abcd")) == 1
