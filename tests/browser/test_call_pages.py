"""The calls pages in a real browser: find a call by a number written differently than stored,
play its recording after choosing a purpose (logged), read the transcript, retention rules."""

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from calls import services
from calls.models import RecordingAccess, RetentionRule
from calls.seed import sine_wav
from consent.models import LawfulBasis
from tests.factories import CallFactory, PurposeFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def calls_a(tenant_a):
    service = PurposeFactory(tenant=tenant_a, code="service_delivery")
    marketing = PurposeFactory(
        tenant=tenant_a, code="marketing", default_lawful_basis=LawfulBasis.CONSENT
    )
    now = timezone.now()
    for i in range(12):
        call = CallFactory(
            tenant=tenant_a,
            caller=f"+4930555{i:04d}",
            started_at=now - timedelta(days=i, hours=2),
            category="support" if i % 3 else "sales",
            gate_flags=["marketing"] if i == 4 else [],
            is_restricted=i == 7,
        )
        call.purposes.add(service, *([marketing] if i == 4 else []))
    wanted = CallFactory(
        tenant=tenant_a,
        external_id="crm-4711",
        caller="+4930123456789",
        started_at=now - timedelta(hours=5),
        category="complaint",
    )
    wanted.purposes.add(service)
    services.recording_attach(
        call=wanted, file=io.BytesIO(sine_wav(seconds=2)), content_type="audio/wav"
    )
    services.transcript_set(
        call=wanted, language="de-DE", text="Guten Tag. Ich möchte mich beschweren."
    )
    return wanted


def test_find_a_call_by_another_format_play_it_and_read_the_transcript(
    page_for, admin_a, calls_a, shoot, member_factory, tenant_a
):
    page = page_for(admin_a, login_form=True)
    expect(page.get_by_role("img", name="Calls per week")).to_be_visible()
    expect(page.get_by_text("flagged by the purpose gate in 30 days")).to_be_visible()
    shoot(page, "overview-calls")
    page.get_by_role("navigation").get_by_role("link", name="Calls", exact=True).last.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Calls")
    expect(page.get_by_text("restricted", exact=True)).to_be_visible()
    expect(page.get_by_text("no basis: marketing")).to_be_visible()
    shoot(page, "calls-list")

    # Stored as +4930123456789; typed the way a German caller would say it.
    page.get_by_label("Number").fill("030 1234 56789")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("+49 30 123456789")
    shoot(page, "calls-search")
    rows.first.get_by_role("link").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Inbound call")
    expect(page.get_by_text("crm-4711")).to_be_visible()
    expect(page.locator("audio")).to_have_count(0)
    shoot(page, "call-page")

    page.get_by_role("button", name="Play the recording").click()  # no purpose chosen
    expect(page.get_by_label("Purpose of consultation")).to_have_attribute("aria-invalid", "true")
    assert not RecordingAccess.objects.exists()

    page.get_by_label("Purpose of consultation").select_option(label="Quality review")
    page.get_by_role("button", name="Play the recording").click()
    audio = page.locator("audio")
    expect(audio).to_have_count(1)
    page.wait_for_function(
        "() => document.querySelector('audio').readyState >= 1"
    )  # metadata loaded
    assert page.evaluate("document.querySelector('audio').duration") == pytest.approx(2, abs=0.1)
    answer = page.request.get(audio.get_attribute("src"))
    assert answer.status == 200 and answer.headers["content-type"] == "audio/wav"
    access = RecordingAccess.objects.get()
    assert (access.what, access.how, access.purpose, access.user) == (
        "recording",
        "playback",
        "Quality review",
        admin_a,
    )
    expect(page.locator("#access-log")).to_contain_text("Quality review")

    page.get_by_label("Purpose of consultation").select_option(label="Handling a complaint")
    page.get_by_role("button", name="Show the transcript").click()
    expect(page.get_by_text("Ich möchte mich beschweren.")).to_be_visible()
    expect(page.locator("audio")).to_have_count(1)  # the player stays
    assert RecordingAccess.objects.filter(
        what="transcript", purpose="Handling a complaint"
    ).exists()
    assert RecordingAccess.objects.count() == 2
    shoot(page, "call-page-played")

    # A player link is only good for the one who logged the consultation.
    colleague = page_for(member_factory(tenant_a, "agent", "agent-a"))
    assert colleague.request.get(audio.get_attribute("src")).status == 403


def test_retention_rule_errors_and_a_refused_deletion(page_for, admin_a, calls_a, shoot):
    page = page_for(admin_a)
    page.goto("/dashboard/calls/retention-rules/")
    expect(page.get_by_text("No retention rules yet")).to_be_visible()
    page.get_by_role("link", name="Add a rule").first.click()
    page.get_by_label("Category").fill("complaint")
    page.get_by_label("Maximum age (days)").fill("2190")
    page.get_by_label("Minimum age (days)").fill("1825")
    page.get_by_role("button", name="Add the rule").click()
    expect(page.get_by_label("Legal reference")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Name the law behind the minimum")).to_be_visible()
    expect(page.get_by_text("Name the Art. 17(3) ground behind the minimum")).to_be_visible()
    shoot(page, "retention-rule-error")
    page.get_by_label("Ground of the minimum").select_option("art_17_3_e")
    page.get_by_label("Legal reference").fill("Statute of limitations, § 195 BGB")
    page.get_by_role("button", name="Add the rule").click()
    expect(page.get_by_text("Retention rule for “complaint” added.")).to_be_visible()
    assert RetentionRule.objects.get().min_age_days == 1825
    shoot(page, "retention-rules")

    page.goto(f"/dashboard/calls/{calls_a.pk}/")
    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_text("This call must be kept now")).to_be_visible()
    page.get_by_label("Reason").fill("Customer asked")
    shoot(page, "call-delete-confirm")
    page.get_by_role("button", name="Delete the call").click()
    expect(page.get_by_role("alert")).to_contain_text(re.compile("must be kept 1825 days"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Inbound call")
