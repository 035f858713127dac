"""Data-subject requests in a real browser: open one, follow it to its package, download it."""

import re
import zipfile

import pytest
from playwright.sync_api import expect

from dsr import services, tasks
from dsr.models import DataSubjectRequest, PackageDownload
from dsr.services import packages
from tests.factories import (
    CallFactory,
    DataSubjectRequestFactory,
    RecordingFactory,
    TranscriptFactory,
)

pytestmark = pytest.mark.browser

SUBJECT = "+4915112345678"


@pytest.fixture
def callers_data(tenant_a):
    """Two calls of the subject (one recorded and transcribed) and another caller's call."""
    recorded = CallFactory(tenant=tenant_a, caller=SUBJECT, external_id="pbx-0815")
    RecordingFactory(tenant=tenant_a, call=recorded)
    TranscriptFactory(tenant=tenant_a, call=recorded, text="I would like a copy of my data.")
    CallFactory(tenant=tenant_a, caller=SUBJECT, external_id="pbx-0816")
    CallFactory(tenant=tenant_a, caller="+4915199999999", external_id="someone-else")


@pytest.fixture
def build_later(monkeypatch):
    """Approval queues the package build; here it runs when the test says so, so that the page
    can be seen while the package is being built."""
    queued = []
    monkeypatch.setattr(tasks.package_build, "delay_on_commit", queued.append)
    return queued


def test_admin_opens_an_access_request_and_downloads_its_package(
    page_for, admin_a, tenant_a, dpo_user, callers_data, build_later, shoot
):
    page = page_for(admin_a, login_form=True)
    expect(page.get_by_role("heading", name="Open requests")).to_be_visible()
    page.get_by_role("link", name="Requests", exact=True).click()
    expect(page.get_by_text("No data-subject requests yet")).to_be_visible()
    page.get_by_role("link", name="Open a request").first.click()
    expect(page.get_by_role("heading", name="Open a data-subject request")).to_be_visible()

    # A typing error on the second line: refused, with the line named, nothing written.
    page.get_by_role("radio", name=re.compile(r"Access \(Art\. 15\)")).check()
    page.get_by_label("The caller's phone numbers").fill("0151 12345678\n0151 1234 56789 0000 0")
    page.get_by_label("Name", exact=True).fill("Erika Mustermann")
    page.get_by_role("button", name="Open the request").click()
    expect(page.get_by_text(re.compile(r"^Line 2: '0151 1234 56789 0000 0'"))).to_be_visible()
    expect(page.get_by_label("The caller's phone numbers")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert not DataSubjectRequest.objects.exists()
    shoot(page, "request-form-error")

    page.get_by_label("The caller's phone numbers").fill("0151 12345678")
    page.get_by_role("button", name="Open the request").click()
    request = DataSubjectRequest.objects.get()
    assert request.numbers == [SUBJECT] and request.channel == "dashboard"
    expect(page.get_by_role("status")).to_contain_text(
        re.compile(rf"Request #{request.pk} \(Access \(Art\. 15\)\) opened\. It is due \d")
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Request #{request.pk}: Access (Art. 15)"
    )
    discovery = page.locator("#discovery")
    expect(discovery).to_contain_text("Calls: 2")
    expect(discovery).to_contain_text("Recordings: 1")
    expect(discovery).not_to_contain_text("someone-else")
    expect(page.locator("#timeline")).to_contain_text("admin-a")
    shoot(page, "request-page")

    page.get_by_role("link", name="Requests", exact=True).first.click()
    row = page.get_by_role("row", name=re.compile(f"#{request.pk}"))
    expect(row).to_contain_text("Erika Mustermann")
    expect(row.locator("time.badge")).to_contain_text("due")
    shoot(page, "requests-list")

    # The platform's DPO verifies and approves; the package is queued.
    services.request_verify(request=request, by=dpo_user, method="callback")
    services.request_approve(request=request, by=dpo_user)
    assert build_later == [request.pk]
    row.get_by_role("link", name=f"#{request.pk}").click()
    expect(page.locator("#package")).to_contain_text("Waiting for the build to start")
    expect(page.locator("#package progress")).to_be_visible()
    shoot(page, "request-package-building")

    # Built in-process; the page refreshes itself and offers the download.
    packages.package_build(request_id=request.pk)
    download_link = page.get_by_role("link", name="Download the package (ZIP)")
    expect(download_link).to_be_visible(timeout=15_000)
    expect(page.locator(".page-head")).to_contain_text("Completed")
    shoot(page, "request-package-ready")

    with page.expect_download() as info:
        download_link.click()
    download = info.value
    assert download.suggested_filename == f"request-{request.pk}-package.zip"
    with zipfile.ZipFile(download.path()) as archive:
        names = archive.namelist()
    assert "manifest.json" in names and "cover_letter.html" in names
    assert any(name.startswith("recordings/") for name in names)
    [logged] = PackageDownload.objects.all()
    assert logged.user == admin_a and logged.package.request_id == request.pk

    # An erasure request joins the list; its fulfilment is the erasure work's.
    page.goto("/dashboard/requests/new/")
    page.get_by_role("radio", name=re.compile(r"Erasure \(Art\. 17\)")).check()
    page.get_by_label("The caller's phone numbers").fill("+49 (151) 1234-5678")
    page.get_by_role("button", name="Open the request").click()
    erasure = DataSubjectRequest.objects.get(kind="erasure")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Request #{erasure.pk}: Erasure (Art. 17)"
    )
    expect(page.locator("#discovery")).to_contain_text("To be erased")
    page.get_by_role("link", name="Requests", exact=True).first.click()
    expect(page.get_by_role("row", name=re.compile(f"#{erasure.pk}"))).to_contain_text(
        "Erasure (Art. 17)"
    )
    expect(page.get_by_role("row", name=re.compile(f"#{request.pk}"))).to_contain_text("closed")
    page.get_by_label("Kind").select_option("erasure")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    shoot(page, "requests-list-erasure")


def test_an_agent_confirms_a_forwarded_request_and_a_viewer_cannot(
    page_for, member_factory, viewer_a, tenant_a, support_user, shoot
):
    forwarded = DataSubjectRequestFactory(
        tenant=tenant_a, channel="direct_to_processor", by=support_user, kind="objection"
    )
    viewer = page_for(viewer_a)
    viewer.goto(f"/dashboard/requests/{forwarded.pk}/")
    expect(viewer.get_by_text("An agent, admin or owner of your organisation")).to_be_visible()
    expect(viewer.get_by_role("link", name="Confirm the request")).to_have_count(0)
    expect(viewer.get_by_role("link", name="Open a request")).to_have_count(0)

    page = page_for(member_factory(tenant_a, "agent", "agent-a"))
    page.goto("/dashboard/")
    panel = page.locator("section", has=page.get_by_role("heading", name="Open requests"))
    expect(panel).to_contain_text("to confirm")
    shoot(page, "overview-requests-panel")
    panel.get_by_role("link", name=re.compile(f"#{forwarded.pk}")).click()
    expect(page.get_by_role("heading", name="What you need to do")).to_be_visible()
    page.get_by_role("link", name="Confirm the request").first.click()
    expect(page.get_by_role("heading", name="Confirm this request as controller?")).to_be_visible()
    page.get_by_label("Note (optional)").fill("Ticket 4711")
    shoot(page, "request-confirm")
    page.get_by_role("button", name="Confirm the request").click()
    expect(page.get_by_role("status")).to_contain_text(f"Request #{forwarded.pk} confirmed.")
    expect(page.get_by_role("link", name="Confirm the request")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("Ticket 4711")
    forwarded.refresh_from_db()
    assert forwarded.confirmed_at is not None
