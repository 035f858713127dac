"""Erasure in a real browser: a tenant holds a subject's old call, opens an erasure request,
follows it to its certificate, releases the hold and sees the request complete by itself."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from calls.models import Call
from dsr import services
from dsr.models import DataSubjectRequest
from tests.factories import CallFactory, RecordingFactory

pytestmark = pytest.mark.browser

SUBJECT = "+4915112345678"


def test_erasure_with_a_hold_to_its_certificate_and_completion(
    page_for, admin_a, tenant_a, support_user, dpo_user, shoot
):
    held = CallFactory(
        tenant=tenant_a,
        caller=SUBJECT,
        external_id="complaint-2024",
        started_at=datetime(2024, 1, 10, 10, 0, tzinfo=UTC),
    )
    RecordingFactory(tenant=tenant_a, call=held)
    recent = CallFactory(tenant=tenant_a, caller=SUBJECT, external_id="support-recent")
    RecordingFactory(tenant=tenant_a, call=recent)

    page = page_for(admin_a, login_form=True)

    # A hold on the calls of January 2024 (a complaint under the statute of limitations).
    page.goto("/dashboard/erasure/holds/new/")
    page.get_by_label("Every call that started in a period").check()
    page.get_by_label("Period from").fill("2024-01-01 00:00")
    page.get_by_label("Period to").fill("2024-02-01 00:00")
    page.get_by_label("Reason category").select_option("statute_of_limitations")
    page.get_by_label("Reason", exact=True).fill("Complaint 2024-01: claims possible until 2027.")
    page.get_by_role("button", name="Place the hold").click()
    expect(page.get_by_role("status")).to_contain_text("is in force")
    shoot(page, "hold-detail")

    # The caller asks for erasure; the tenant opens the request with the number typed nationally.
    page.goto("/dashboard/requests/new/")
    page.get_by_role("radio", name=re.compile(r"Erasure \(Art\. 17\)")).check()
    page.get_by_label("The caller's phone numbers").fill("0151 1234 5678")
    page.get_by_role("button", name="Open the request").click()
    request = DataSubjectRequest.objects.get(kind="erasure")
    expect(page.locator("#discovery")).to_contain_text("Calls: 2")

    # Platform staff: support verifies, the DPO approves (four eyes); the work runs at once.
    services.request_verify(request=request, by=support_user, method="callback")
    services.request_approve(request=request, by=dpo_user)
    request.refresh_from_db()
    assert request.status == "partially_completed"
    assert list(Call.objects.filter(tenant=tenant_a, caller=SUBJECT)) == [held]

    page.reload()
    erasure = page.locator("#erasure")
    expect(erasure).to_contain_text("Kept for now, and why")
    expect(erasure).to_contain_text("17(3)")
    shoot(page, "request-erasure-partial")
    erasure.get_by_role("link", name=re.compile("Erasure certificate")).click()
    expect(page.locator("body")).to_contain_text("Erasure certificate")
    expect(page.locator("body")).not_to_contain_text("5678")  # never the subject's number
    shoot(page, "erasure-certificate-partial")

    # Releasing the hold erases the held call by itself and completes the request.
    page.goto("/dashboard/erasure/holds/")
    page.get_by_role("link", name=re.compile("Complaint|statute", re.I)).first.click()
    page.get_by_role("link", name=re.compile("Release")).first.click()
    page.get_by_label("Reason").fill("The complaint was settled; no claims remain.")
    page.get_by_role("button", name=re.compile("Release")).click()
    expect(page.get_by_role("status")).to_contain_text("released")
    request.refresh_from_db()
    assert request.status == "completed"
    assert not Call.objects.filter(tenant=tenant_a, caller=SUBJECT).exists()

    page.goto(f"/dashboard/requests/{request.pk}/")
    expect(page.locator(".page-head")).to_contain_text("Completed")
    page.locator("#erasure").get_by_role("link", name=re.compile("Erasure certificate")).click()
    expect(page.locator("body")).to_contain_text("Erasure certificate")
    shoot(page, "erasure-certificate-complete")
