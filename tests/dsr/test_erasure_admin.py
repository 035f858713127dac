"""The DPO's admin for holds and erasure: placing a hold (form, and an action on selected calls
with a confirmation page), releasing it with a reason, the erasure on the request page, and the
work queues."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, LegalHold
from dsr import services
from tests.factories import CallFactory, DataSubjectRequestFactory, LegalHoldFactory

pytestmark = pytest.mark.django_db
SUBJECT = "+4915112345678"


def test_the_dpo_places_a_hold_with_the_form(client, dpo_user, tenant_a):
    client.force_login(dpo_user)
    page = client.get("/admin/calls/legalhold/add/")
    assert page.status_code == 200 and "Place a legal hold" in page.content.decode()
    response = client.post(
        "/admin/calls/legalhold/add/",
        {
            "tenant": tenant_a.pk,
            "scope": "numbers",
            "numbers": "0151 12345678",
            "reason_category": "litigation",
            "reason": "Claim of the caller, file 3 O 12/26.",
            "legal_ground": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    hold = LegalHold.objects.get()
    assert hold.scope == "numbers" and [n.number for n in hold.numbers.all()] == [SUBJECT]
    assert hold.applied_by == dpo_user and hold.legal_ground == "art_17_3_e"
    bad = client.post(
        "/admin/calls/legalhold/add/",
        {
            "tenant": tenant_a.pk,
            "scope": "calls",
            "calls": "999999",
            "reason_category": "litigation",
            "reason": "x",
        },
    )
    assert bad.status_code == 400 and "No call 999999" in bad.content.decode()


def test_support_cannot_place_or_release_holds(client, support_user, tenant_a):
    hold = LegalHoldFactory(tenant=tenant_a)
    client.force_login(support_user)
    assert client.get("/admin/calls/legalhold/").status_code == 200  # they may look
    assert client.get("/admin/calls/legalhold/add/").status_code == 403
    assert (
        client.post(f"/admin/calls/legalhold/{hold.pk}/release/", {"reason": "x"}).status_code
        == 403
    )
    hold.refresh_from_db()
    assert hold.released_at is None


def test_the_dpo_releases_holds_with_a_reason_on_a_confirmation_page(
    client, dpo_user, tenant_a, django_capture_on_commit_callbacks
):
    call = CallFactory(tenant=tenant_a)
    hold = LegalHoldFactory(
        tenant=tenant_a, calls=[call.pk], expires_at=timezone.now() + timedelta(days=3)
    )
    client.force_login(dpo_user)
    page = client.get(f"/admin/calls/legalhold/{hold.pk}/change/").content.decode()
    assert "Release this hold" in page and call.external_id in page and "active" in page
    confirm = client.post(
        "/admin/calls/legalhold/", {"action": "release_holds", "_selected_action": [hold.pk]}
    )
    assert confirm.status_code == 200 and "Release" in confirm.content.decode()
    hold.refresh_from_db()
    assert hold.released_at is None  # nothing happens before the confirmation
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            "/admin/calls/legalhold/",
            {
                "action": "release_holds",
                "_selected_action": [hold.pk],
                "confirm": "yes",
                "reason": "The regulator closed the inquiry.",
            },
            follow=True,
        )
    assert "Released 1 hold(s)" in done.content.decode()
    hold.refresh_from_db()
    assert hold.released_by == dpo_user and hold.release_reason.startswith("The regulator")
    assert client.get(f"/admin/calls/legalhold/{hold.pk}/delete/").status_code == 403


def test_the_call_list_places_a_hold_on_selected_calls(client, dpo_user, tenant_a, tenant_b):
    mine = [CallFactory(tenant=tenant_a) for _ in range(2)]
    theirs = CallFactory(tenant=tenant_b)
    selected = [c.pk for c in [*mine, theirs]]
    client.force_login(dpo_user)
    confirm = client.post(
        "/admin/calls/call/", {"action": "place_legal_hold", "_selected_action": selected}
    )
    assert (
        confirm.status_code == 200
        and "Place a legal hold on these calls?" in confirm.content.decode()
    )
    assert not LegalHold.objects.exists()
    done = client.post(
        "/admin/calls/call/",
        {
            "action": "place_legal_hold",
            "_selected_action": selected,
            "confirm": "yes",
            "reason_category": "statute_of_limitations",
            "reason": "Complaints of Q1: claims possible until 2029.",
        },
        follow=True,
    )
    assert "placed on 2 call(s) of Tenant A" in done.content.decode()
    assert LegalHold.objects.count() == 2  # one hold per tenant
    mine_hold = LegalHold.objects.get(tenant=tenant_a)
    assert sorted(mine_hold.call_links.values_list("call_id", flat=True)) == sorted(
        c.pk for c in mine
    )


def test_the_request_page_shows_the_erasure(
    client, dpo_user, second_dpo, tenant_a, django_capture_on_commit_callbacks
):
    held = CallFactory(tenant=tenant_a, caller=SUBJECT)
    CallFactory(tenant=tenant_a, caller=SUBJECT)
    LegalHoldFactory(tenant=tenant_a, calls=[held.pk], reason="File 3 O 12/26")
    request = DataSubjectRequestFactory(tenant=tenant_a, kind="erasure", numbers=[SUBJECT])
    services.request_verify(request=request, by=dpo_user, method="callback")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_approve(request=request, by=second_dpo)
    client.force_login(dpo_user)
    page = client.get(f"/admin/dsr/datasubjectrequest/{request.pk}/change/").content.decode()
    assert "Waiting for deferred items" in page and "File 3 O 12/26" in page
    assert "Art. 17(3)(e)" in page and "no residual data" in page
    assert f"/admin/dsr/datasubjectrequest/{request.pk}/certificate/" in page
    assert "Run the erasure again" in page and "Run the residual-data scan" in page
    certificate = client.get(f"/admin/dsr/datasubjectrequest/{request.pk}/certificate/")
    assert certificate.status_code == 200 and b"Erasure certificate" in certificate.content
    scan = client.post(
        f"/admin/dsr/datasubjectrequest/{request.pk}/do/verify_erasure/", {"numbers": ""}
    )
    assert scan.status_code == 302
    assert request.events.filter(action="residual_scan").exists()

    home = client.get("/admin/").content.decode()
    assert "Deferred erasures" in home and f"#{request.pk}" in home


def test_the_home_page_lists_holds_expiring_soon(client, dpo_user, tenant_a):
    soon = LegalHoldFactory(tenant=tenant_a, expires_at=timezone.now() + timedelta(days=5))
    LegalHoldFactory(tenant=tenant_a, expires_at=timezone.now() + timedelta(days=60))
    client.force_login(dpo_user)
    home = client.get("/admin/").content.decode()
    assert "Legal holds expiring within 14 days" in home
    assert f"/admin/calls/legalhold/{soon.pk}/change/" in home
    assert Call.objects.count() == 0
