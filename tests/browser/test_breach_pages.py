"""Breach notices in a real browser: from the overview panel to an acknowledged notice."""

import re

import pytest
from playwright.sync_api import expect

from breaches import services
from breaches.models import BreachNotification
from tests.breaches.conftest import make_call, open_incident

pytestmark = pytest.mark.browser


@pytest.fixture
def notified(tenant_a, tenant_b):
    """A high-risk incident that touched A's and B's calls, with a follow-up notice."""
    incident = open_incident(title="Recording store readable without authentication")
    calls = [
        make_call(tenant_a, caller="+4915100000001"),
        make_call(tenant_a, caller="+4915100000002"),
        make_call(tenant_b, caller="+353851234567"),
    ]
    services.incident_link_calls(incident=incident, call_ids=[c.pk for c in calls])
    services.incident_assess(
        incident=incident, risk_level="high", reasoning="Identifiable callers' voices were read."
    )
    services.incident_notify_tenants(incident=incident)
    services.incident_add_phase(
        incident=incident, phase="follow_up", update="Forensics: one unknown account read 12 files."
    )
    return incident


def test_admin_acknowledges_a_breach_notice_from_the_overview(
    page_for, admin_a, tenant_a, notified, shoot
):
    page = page_for(admin_a, login_form=True)
    panel = page.locator(
        "section", has=page.get_by_role("heading", name="Breach notices to acknowledge")
    )
    expect(panel).to_contain_text("2 notices not yet acknowledged")
    expect(panel.locator(".badge").first).to_contain_text("due in 3 days")
    shoot(page, "overview-breach-panel")

    panel.get_by_role("link", name=re.compile(notified.reference)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{notified.reference}: {notified.title}"
    )
    expect(page.get_by_role("heading", name="What you should do now")).to_be_visible()
    expect(page.get_by_text("Decide whether to notify your supervisory authority")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Our risk assessment"))).to_contain_text(
        "advice"
    )
    impact = page.locator("section", has=page.get_by_role("heading", name="Your data concerned"))
    expect(impact).to_contain_text("Data subjects (approximate)")
    expect(impact.locator("dd").first).to_have_text(re.compile(r"^2 "))
    expect(page.get_by_role("heading", name=re.compile("^Initial notice"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^Follow-up notice"))).to_be_visible()
    # The latest notice is open as received; the initial one opens on demand.
    expect(page.get_by_text("Forensics: one unknown account read 12 files.").first).to_be_visible()
    page.get_by_text(f"[Breach notice] {notified.reference}").click()
    expect(page.get_by_text("1. NATURE OF THE BREACH (Art. 33(3)(a))").first).to_be_visible()
    assert "Tenant B" not in page.content() and "+353" not in page.content()
    shoot(page, "breach-notice")

    page.get_by_role("link", name="Acknowledge receipt").click()
    expect(page.get_by_role("heading", name="Acknowledge this breach notice?")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Follow-up notice, sent"))).to_be_visible()
    shoot(page, "breach-acknowledge-confirm")
    page.get_by_role("button", name="Acknowledge receipt").click()

    expect(page.get_by_role("status")).to_contain_text(
        f"Acknowledged the 2 notices of {notified.reference}."
    )
    expect(page.get_by_role("link", name="Acknowledge receipt")).to_have_count(0)
    expect(page.locator(".page-head")).to_contain_text("acknowledged")
    expect(page.locator("#notices")).to_contain_text("by admin-a")
    mine = BreachNotification.objects.filter(incident=notified, tenant=tenant_a)
    assert mine.count() == 2 and not mine.filter(acknowledged_at__isnull=True).exists()
    assert BreachNotification.objects.filter(
        incident=notified, tenant__slug="tenant-b", acknowledged_at__isnull=True
    ).exists()

    page.get_by_role("link", name="Breach notices").first.click()
    row = page.get_by_role("row", name=re.compile(notified.reference))
    expect(row).to_contain_text("acknowledged")
    expect(row).to_contain_text("High risk")
    shoot(page, "breach-notices")

    page.get_by_label("Acknowledgement").select_option("unacknowledged")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("Nothing matches these filters")).to_be_visible()

    page.goto("/dashboard/")
    expect(page.get_by_text("Nothing to acknowledge")).to_be_visible()


def test_viewer_reads_a_notice_without_an_acknowledge_button(
    page_for, viewer_a, tenant_a, notified, shoot
):
    page = page_for(viewer_a)
    page.goto("/dashboard/breaches/")
    page.get_by_role("link", name=re.compile(notified.reference)).click()
    expect(
        page.get_by_text("An admin or owner of your organisation does this here")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Acknowledge receipt")).to_have_count(0)
    shoot(page, "breach-notice-viewer")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    answer = page.request.post(
        f"/dashboard/breaches/{notified.pk}/acknowledge/", headers={"X-CSRFToken": token}
    )
    assert answer.status == 403
    assert not BreachNotification.objects.filter(acknowledged_at__isnull=False).exists()


def test_empty_breach_notices_page(page_for, viewer_a, shoot):
    page = page_for(viewer_a)
    page.goto("/dashboard/breaches/")
    expect(page.get_by_text("No breach notices")).to_be_visible()
    shoot(page, "breach-notices-empty")
