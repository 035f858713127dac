"""The dashboard's package download on S3-compatible storage: a logged redirect to a short-lived
signed URL, as the API gives (moto's server on loopback)."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from dsr import services
from dsr.models import PackageDownload
from dsr.services import packages
from tests.dsr import flow
from tests.dsr.conftest import SUBJECT, SUBJECT_2
from tests.factories import DataSubjectRequestFactory

pytestmark = [pytest.mark.s3, pytest.mark.django_db]


def test_the_dashboard_download_redirects_to_a_signed_url_and_is_logged(
    s3_storage,
    subject,
    client,
    viewer_a,
    tenant_a,
    dpo_user,
):
    request = DataSubjectRequestFactory(tenant=tenant_a, numbers=[SUBJECT, SUBJECT_2])
    services.request_verify(request=request, by=dpo_user, method="callback")
    services.request_approve(request=request, by=dpo_user)
    packages.package_build(request_id=request.pk)
    client.force_login(viewer_a)
    response = client.get(f"/dashboard/requests/{request.pk}/package/")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert "Signature" in query or "X-Amz-Signature" in query
    flow.check_package(requests.get(response["Location"], timeout=30).content, subject, request.pk)
    [download] = PackageDownload.objects.all()
    assert download.user == viewer_a and download.package.request_id == request.pk
