"""The core's dashboard in a real browser: login, overview, tenant switcher, API keys, webhooks,
settings, and what a viewer cannot do."""

import re
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import expect

from portal.models import ApiKey, Tenant, Webhook, WebhookDelivery
from portal.webhooks import SIGNATURE_HEADER, verify_signature
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    WebhookDeliveryFactory,
    WebhookFactory,
)

pytestmark = pytest.mark.browser


def test_login_overview_and_tenant_switcher(page_for, admin_a, tenant_a, tenant_b, shoot):
    MembershipFactory(user=admin_a, tenant=tenant_b, role="agent")
    ApiKeyFactory(tenant=tenant_a, name="Asterisk production")
    webhook = WebhookFactory(tenant=tenant_a)
    now = timezone.now()
    for weeks_ago, count in enumerate([5, 8, 3, 0, 6, 9, 4, 7]):
        for n in range(count):
            WebhookDeliveryFactory(
                tenant=tenant_a,
                webhook=webhook,
                status="failed" if weeks_ago == 0 and n == 0 else "delivered",
                created_at=now - timedelta(weeks=weeks_ago, hours=n),
            )
    page = page_for()
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    shoot(page, "login")

    page = page_for(admin_a, login_form=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Tenant A")
    for panel in ("Automation policy", "API keys", "Webhook deliveries"):
        expect(page.get_by_role("heading", name=panel)).to_be_visible()
    expect(page.get_by_role("img", name="Webhook deliveries per week")).to_be_visible()
    expect(page.get_by_text("Endpoints with problems")).to_be_visible()
    expect(page.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")
    shoot(page, "overview")

    page.locator(".tenant-switcher summary").click()
    page.get_by_role("button", name="Tenant B").click()
    expect(page.get_by_text("Now working in Tenant B.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tenant B")
    # An agent there: no key or webhook management, no admin panels.
    expect(page.get_by_role("link", name="API keys")).to_have_count(0)
    expect(page.get_by_role("heading", name="Webhook deliveries")).to_have_count(0)
    shoot(page, "overview-switched")

    page.locator(".tenant-switcher summary").click()
    page.get_by_role("button", name="Tenant A").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tenant A")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_api_key_is_shown_once_works_and_is_revoked(page_for, admin_a, live_server, shoot):
    page = page_for(admin_a)
    page.goto("/dashboard/api-keys/")
    expect(page.get_by_text("No API keys yet")).to_be_visible()
    shoot(page, "api-keys-empty")

    page.get_by_role("link", name="Create an API key").first.click()
    page.get_by_label("Name").fill("Asterisk production")
    shoot(page, "api-key-form")
    page.get_by_role("button", name="Create the key").click()
    key = page.get_by_label("Your new API key").input_value()
    assert key.startswith("cpp_")
    shoot(page, "api-key-created")

    answer = requests.get(
        f"{live_server.url}/api/v1/tenant/", headers={"Authorization": f"Api-Key {key}"}, timeout=10
    )
    assert answer.status_code == 200 and answer.json()["slug"] == "tenant-a"

    page.reload()  # the browser sends the form again: nothing new is created or shown
    assert key not in page.content()
    assert ApiKey.objects.count() == 1
    page.goto("/dashboard/api-keys/")
    assert key not in page.content()
    row = page.get_by_role("row", name=re.compile("Asterisk production"))
    expect(row).to_contain_text("active")
    expect(row).not_to_contain_text("never")  # the API call above marked it used
    shoot(page, "api-keys")

    row.get_by_role("link", name=re.compile("Revoke")).click()
    expect(page.get_by_role("heading", name="Revoke this API key?")).to_be_visible()
    shoot(page, "api-key-revoke-confirm")
    page.get_by_role("button", name="Revoke the key").click()
    expect(page.get_by_text(re.compile("Revoked Asterisk production"))).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Asterisk production"))).to_contain_text(
        "revoked"
    )
    answer = requests.get(
        f"{live_server.url}/api/v1/tenant/", headers={"Authorization": f"Api-Key {key}"}, timeout=10
    )
    assert answer.status_code == 401


def test_webhook_with_test_delivery(page_for, admin_a, webhook_receiver, shoot):
    page = page_for(admin_a)
    page.goto("/dashboard/webhooks/")
    page.get_by_role("link", name="Add a webhook").first.click()
    page.get_by_label("URL").fill(webhook_receiver.url)
    page.get_by_label(re.compile(r"webhook\.test")).check()
    shoot(page, "webhook-form")
    page.get_by_role("button", name="Add the webhook").click()
    secret = page.get_by_label("Signing secret").input_value()
    assert len(secret) >= 32
    page.get_by_role("link", name=re.compile("I have copied it")).click()
    expect(page.get_by_text("No deliveries yet")).to_be_visible()

    page.get_by_role("button", name="Send test delivery").click()
    expect(page.get_by_text("Test delivery sent: the endpoint answered HTTP 200.")).to_be_visible()
    expect(page.locator("#deliveries tbody tr").first).to_contain_text("Delivered")
    shoot(page, "webhook-detail")
    received = webhook_receiver.requests[-1]
    assert verify_signature(secret, received["body"], received["headers"][SIGNATURE_HEADER])
    assert secret not in page.content()

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Active").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Webhook saved.")).to_be_visible()
    assert Webhook.objects.get().is_active is False

    page.goto("/dashboard/webhooks/")
    expect(page.get_by_role("row", name=webhook_receiver.url)).to_contain_text("delivered")
    shoot(page, "webhooks")
    page.get_by_role("link", name=webhook_receiver.url).click()
    page.get_by_role("link", name="Delete").click()
    shoot(page, "webhook-delete-confirm")
    page.get_by_role("button", name="Delete the webhook").click()
    expect(page.get_by_text(f"Deleted the webhook to {webhook_receiver.url}.")).to_be_visible()
    assert not Webhook.objects.exists() and not WebhookDelivery.objects.exists()


def test_admin_changes_the_automation_policy(page_for, admin_a, tenant_a, shoot):
    page = page_for(admin_a)
    page.goto("/dashboard/settings/")
    page.get_by_label("Accept and flag calls for a purpose without a lawful basis").check()
    page.get_by_label("Approve erasure requests from our API keys automatically").check()
    page.get_by_label("Legal name").fill("Tenant A GmbH")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text(re.compile(r"^Settings saved"))).to_be_visible()
    tenant = Tenant.objects.get(pk=tenant_a.pk)
    assert tenant.purpose_gate == "flag"
    assert tenant.auto_approve_erasure is True and tenant.auto_approve_access is False
    assert tenant.legal_name == "Tenant A GmbH"
    shoot(page, "settings")

    page.get_by_label("Privacy contact email").fill("not an email")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_label("Privacy contact email")).to_have_attribute("aria-invalid", "true")
    assert Tenant.objects.get(pk=tenant_a.pk).privacy_contact_email == "privacy@tenant.example"


def test_viewer_reads_but_cannot_change(page_for, viewer_a, key_a, shoot, tenant_a):
    page = page_for(viewer_a)
    page.goto("/dashboard/")
    expect(page.get_by_role("link", name="API keys")).to_have_count(0)
    expect(page.get_by_role("link", name="Webhooks")).to_have_count(0)
    shoot(page, "overview-viewer")

    page.goto("/dashboard/settings/")
    expect(page.get_by_text("Only admins and owners")).to_be_visible()
    expect(page.get_by_role("button", name="Save settings")).to_have_count(0)
    expect(page.get_by_role("textbox")).to_have_count(0)
    shoot(page, "settings-viewer")

    page.goto("/dashboard/members/")
    expect(page.get_by_role("row", name=re.compile("viewer-a"))).to_be_visible()
    shoot(page, "members")

    response = page.goto("/dashboard/api-keys/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    shoot(page, "forbidden")

    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    for url, form in [
        ("/dashboard/api-keys/new/", {"name": "sneaky"}),
        (f"/dashboard/api-keys/{key_a.pk}/revoke/", {}),
        ("/dashboard/settings/", {"name": "Taken over", "purpose_gate": "flag"}),
        ("/dashboard/webhooks/new/", {"url": "https://example.com/x"}),
    ]:
        answer = page.request.post(url, form=form, headers={"X-CSRFToken": token})
        assert answer.status == 403, url
    assert ApiKey.objects.get(pk=key_a.pk).is_active
    assert Tenant.objects.get(pk=tenant_a.pk).purpose_gate == "refuse"
    assert not Webhook.objects.exists()
