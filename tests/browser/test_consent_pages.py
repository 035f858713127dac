"""The consent pages in a real browser: record a consent by hand, look the subject up by the
number written differently, withdraw with one click and a confirmation, see the state change."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from consent.models import ConsentEvent, LawfulBasis
from consent.selectors import consent_check
from tests.factories import PrivacyNoticeFactory, PurposeFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def consent_setup(tenant_a):
    for code, basis in [
        ("marketing", LawfulBasis.CONSENT),
        ("quality_assurance", LawfulBasis.LEGITIMATE_INTERESTS),
        ("service_delivery", LawfulBasis.CONTRACT),
    ]:
        PurposeFactory(tenant=tenant_a, code=code, default_lawful_basis=basis)
    PrivacyNoticeFactory(
        tenant=tenant_a, version="2.0", effective_from=timezone.now() - timedelta(days=30)
    )


def marketing_row(page):
    return page.locator('tr[data-purpose="marketing"]')


def test_record_look_up_and_withdraw_a_consent(page_for, admin_a, tenant_a, consent_setup, shoot):
    page = page_for(admin_a, login_form=True)
    page.get_by_role("link", name="Ledger").first.click()
    expect(page.get_by_text("No consent recorded yet")).to_be_visible()

    page.get_by_role("link", name="Record by hand").click()
    expect(page.get_by_role("heading", name="Record consent by hand")).to_be_visible()
    page.get_by_label("Number", exact=True).fill("030 1234567")
    page.get_by_label("Purpose", exact=True).select_option("marketing")
    page.get_by_label("Document reference", exact=True).fill("Letter of 3 March, ref. L-17")
    page.get_by_role("button", name="Record").click()
    # No method: implied consent is refused, on the method field, and nothing is written.
    method = page.get_by_label("Method", exact=True)
    expect(method).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text(re.compile("implied consent"))).to_be_visible()
    assert not ConsentEvent.objects.exists()
    shoot(page, "consent-record-error")

    method.select_option("verbal")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_text("Recorded in the ledger: +49301234567 gave consent")).to_be_visible()
    event = ConsentEvent.objects.get()
    assert (event.source, event.recorded_by_id) == ("dashboard", admin_a.pk)

    # The subject, looked up with the number written another way.
    page.get_by_role("link", name="Subject lookup").first.click()
    page.get_by_label("Number", exact=True).fill("+49 (0)30 123 45 67")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("heading", name="+49301234567")).to_be_visible()
    expect(marketing_row(page)).to_contain_text("allowed")
    expect(marketing_row(page)).not_to_contain_text("not allowed")
    expect(page.locator('tr[data-purpose="service_delivery"]')).to_contain_text("Contract")
    expect(page.get_by_role("row", name=re.compile("Verbal, on the call"))).to_be_visible()
    shoot(page, "consent-subject")

    marketing_row(page).get_by_role("link", name=re.compile("Withdraw")).click()
    expect(page.get_by_role("heading", name="Withdraw this consent?")).to_be_visible()
    shoot(page, "consent-withdraw-confirm")
    page.get_by_role("button", name="Withdraw consent").click()
    expect(page.get_by_text(re.compile("Consent withdrawn: \\+49301234567"))).to_be_visible()
    expect(marketing_row(page)).to_contain_text("not allowed")
    expect(marketing_row(page)).to_contain_text("Consent was withdrawn")
    expect(marketing_row(page).get_by_role("link", name=re.compile("Withdraw"))).to_have_count(0)
    assert consent_check(tenant_a, "030 1234567", "marketing").allowed is False
    shoot(page, "consent-subject-withdrawn")

    page.get_by_role("link", name="Ledger").first.click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("withdrawn")
    expect(rows.last).to_contain_text("given")
    shoot(page, "consent-ledger")

    page.get_by_label("Action", exact=True).select_option("given")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)

    page.goto("/dashboard/")
    expect(page.get_by_role("heading", name="Consent rate per purpose")).to_be_visible()
    chart = page.get_by_role("img", name=re.compile("Numbers allowed now, per purpose"))
    expect(chart).to_be_visible()
    shoot(page, "consent-overview")


def test_purposes_and_notices(page_for, admin_a, tenant_a, consent_setup, shoot):
    page = page_for(admin_a)
    page.goto("/dashboard/consent/purposes/")
    page.get_by_role("link", name="Define a purpose").first.click()
    page.get_by_label("Code", exact=True).fill("all")
    page.get_by_label("Description", exact=True).fill("Everything we do")
    page.get_by_role("button", name="Define the purpose").click()
    expect(page.get_by_label("Code", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text(re.compile("is a catch-all"))).to_be_visible()
    shoot(page, "consent-purpose-error")
    page.get_by_label("Code", exact=True).fill("fraud_prevention")
    page.get_by_role("button", name="Define the purpose").click()
    expect(page.get_by_text("Purpose fraud_prevention defined.")).to_be_visible()
    page.get_by_role("link", name="Purposes").first.click()
    shoot(page, "consent-purposes")

    page.get_by_role("link", name="Notices").first.click()
    expect(page.get_by_role("row", name=re.compile("2.0"))).to_contain_text("in effect")
    shoot(page, "consent-notices")


def test_viewer_sees_no_recording_buttons(page_for, viewer_a, tenant_a, consent_setup):
    page = page_for(viewer_a)
    page.goto("/dashboard/consent/subject/?number=030+1234567")
    expect(marketing_row(page)).to_contain_text("not allowed")
    expect(page.get_by_role("link", name="Record consent or withdrawal")).to_have_count(0)
    page.goto("/dashboard/consent/")
    expect(page.get_by_role("link", name="Record by hand")).to_have_count(0)
