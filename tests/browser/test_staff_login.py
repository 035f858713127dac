"""Staff log into the admin in a real browser: password, then enrolment of an authenticator
app on the first login, then a TOTP code at every login; CSP keeps the pages working."""

import re
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_first_login_enrols_then_every_login_asks_for_a_code(page_for, dpo_user, shoot):
    page = page_for()
    violations = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and violations.append(msg))
    page.goto("/admin/")
    page.get_by_label("Username").fill("dpo")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/second-factor/enrol/"))
    expect(page.locator(".portal-qr svg")).to_be_visible()
    shoot(page, "staff-enrol")
    secret = page.locator(".portal-secret").inner_text().strip()
    page.locator("#id_code").fill(f"{TOTP(b32decode(secret)).token():06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    assert page.locator(".portal-recovery-codes li").count() == 10
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_text("Work queues")).to_be_visible()
    assert violations == []


def test_staff_page_logs_in_with_a_code(page_for, support_user):
    page = page_for(support_user)
    page.goto("/admin/")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
