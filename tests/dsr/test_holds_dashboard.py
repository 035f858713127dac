"""The tenant's dashboard pages for legal holds and the erasure certificate."""

import pytest

from calls.models import LegalHold
from dsr import services
from tests.factories import CallFactory, DataSubjectRequestFactory, LegalHoldFactory

pytestmark = pytest.mark.django_db
SUBJECT = "+4915112345678"


def test_a_tenant_admin_places_reads_and_releases_a_hold(
    client, admin_a, tenant_a, django_capture_on_commit_callbacks
):
    call = CallFactory(tenant=tenant_a, caller=SUBJECT)
    client.force_login(admin_a)
    empty = client.get("/dashboard/erasure/holds/")
    assert empty.status_code == 200 and "No legal holds" in empty.content.decode()
    form = client.get("/dashboard/erasure/holds/new/")
    assert form.status_code == 200
    refused = client.post(
        "/dashboard/erasure/holds/new/",
        {"scope": "numbers", "numbers": "", "reason_category": "litigation", "reason": "x"},
    )
    assert refused.status_code == 200 and "exactly one scope" in refused.content.decode()
    created = client.post(
        "/dashboard/erasure/holds/new/",
        {
            "scope": "numbers",
            "numbers": "0151 12345678",
            "reason_category": "litigation",
            "reason": "Claim of the caller, file 3 O 12/26.",
        },
    )
    hold = LegalHold.objects.get()
    assert (
        created.status_code == 302 and created["Location"] == f"/dashboard/erasure/holds/{hold.pk}/"
    )
    page = client.get(created["Location"]).content.decode()
    assert "3 O 12/26" in page and call.external_id in page and SUBJECT in page
    assert "Art. 17(3)(e)" in page and "Release" in page
    listing = client.get("/dashboard/erasure/holds/").content.decode()
    assert f"/dashboard/erasure/holds/{hold.pk}/" in listing
    with django_capture_on_commit_callbacks(execute=True):
        released = client.post(
            f"/dashboard/erasure/holds/{hold.pk}/release/", {"reason": "Case settled."}
        )
    assert released.status_code == 302
    hold.refresh_from_db()
    assert hold.released_by == admin_a and hold.release_reason == "Case settled."


def test_viewers_read_holds_but_cannot_place_or_release_them(client, viewer_a, tenant_a):
    hold = LegalHoldFactory(tenant=tenant_a)
    client.force_login(viewer_a)
    assert client.get("/dashboard/erasure/holds/").status_code == 200
    page = client.get(f"/dashboard/erasure/holds/{hold.pk}/").content.decode()
    assert "Release" not in page
    assert client.get("/dashboard/erasure/holds/new/").status_code == 403
    assert (
        client.post(f"/dashboard/erasure/holds/{hold.pk}/release/", {"reason": "x"}).status_code
        == 403
    )
    hold.refresh_from_db()
    assert hold.released_at is None


def test_the_certificate_page(
    client, admin_a, tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks
):
    request = DataSubjectRequestFactory(tenant=tenant_a, kind="erasure", numbers=[SUBJECT])
    client.force_login(admin_a)
    waiting = client.get(f"/dashboard/erasure/certificates/{request.pk}/")
    assert waiting.status_code == 200 and b"No erasure certificate yet" in waiting.content
    services.request_verify(request=request, by=dpo_user, method="callback")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_approve(request=request, by=second_dpo)
    page = client.get(f"/dashboard/erasure/certificates/{request.pk}/")
    assert page.status_code == 200 and b"Erasure certificate" in page.content
    assert SUBJECT.encode() not in page.content


def test_the_request_page_shows_what_was_erased_kept_and_the_certificate(
    client, admin_a, tenant_a, dpo_user, second_dpo, django_capture_on_commit_callbacks
):
    held = CallFactory(tenant=tenant_a, caller=SUBJECT)
    CallFactory(tenant=tenant_a, caller=SUBJECT)
    LegalHoldFactory(tenant=tenant_a, calls=[held.pk], reason="File 3 O 12/26")
    request = DataSubjectRequestFactory(tenant=tenant_a, kind="erasure", numbers=[SUBJECT])
    services.request_verify(request=request, by=dpo_user, method="callback")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_approve(request=request, by=second_dpo)
    client.force_login(admin_a)
    page = client.get(f"/dashboard/requests/{request.pk}/").content.decode()
    assert "Erasure (Art. 17)" in page and "1 call" in page
    assert "File 3 O 12/26" in page and "Art. 17(3)(e)" in page
    assert f"/dashboard/erasure/certificates/{request.pk}/" in page
    assert f"/api/v1/requests/{request.pk}/certificate/" in page
    access = DataSubjectRequestFactory(tenant=tenant_a, kind="access")
    assert (
        "Erasure (Art. 17)" not in client.get(f"/dashboard/requests/{access.pk}/").content.decode()
    )
