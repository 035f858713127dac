"""Packages on S3-compatible storage (moto's server on loopback): recordings are streamed out of
the bucket, the ZIP is streamed into it as a multipart upload, and the API hands out a short-lived
signed URL."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from dsr import services
from dsr.services import packages
from dsr.services.packages import contents
from tests.dsr import flow
from tests.dsr.conftest import SUBJECT, SUBJECT_2
from tests.factories import DataSubjectRequestFactory

pytestmark = [pytest.mark.s3, pytest.mark.django_db]


def test_package_streams_from_and_to_s3_and_downloads_by_signed_url(
    s3_storage, subject, tenant_a, dpo_user, api_a
):
    client, bucket = s3_storage
    request = DataSubjectRequestFactory(tenant=tenant_a, numbers=[SUBJECT, SUBJECT_2])
    services.request_verify(request=request, by=dpo_user, method="callback")
    services.request_approve(request=request, by=dpo_user)
    package = packages.package_build(request_id=request.pk)
    stored = client.head_object(Bucket=bucket, Key=package.file.name)
    assert stored["ContentLength"] == package.size_bytes
    response = api_a.get(f"/api/v1/requests/{request.pk}/package/")
    assert response.status_code == 302
    url = response["Location"]
    query = parse_qs(urlsplit(url).query)
    assert "Signature" in query or "X-Amz-Signature" in query
    if "Expires" in query:  # signature v2: an absolute expiry time
        assert 0 < int(query["Expires"][0]) - time.time() <= 125
    else:
        assert query["X-Amz-Expires"] == ["120"]
    content = requests.get(url, timeout=30).content
    flow.check_package(content, subject, request.pk)
    assert package.downloads.count() == 1


def test_a_failed_upload_leaves_no_object_behind(
    s3_storage, subject, tenant_a, dpo_user, monkeypatch
):
    client, bucket = s3_storage
    request = DataSubjectRequestFactory(tenant=tenant_a)
    services.request_verify(request=request, by=dpo_user, method="callback")
    services.request_approve(request=request, by=dpo_user)
    real_read = contents.read_chunks

    def dying_read(storage, name, chunk_size=1024):
        yield next(real_read(storage, name, 1024))
        raise OSError("network down")

    monkeypatch.setattr(contents, "read_chunks", dying_read)
    with pytest.raises(OSError):
        packages.package_build(request_id=request.pk)
    listing = client.list_objects_v2(Bucket=bucket, Prefix=f"tenants/{tenant_a.pk}/packages/")
    assert listing.get("KeyCount", 0) == 0
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
