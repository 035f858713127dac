"""The DPO's workplace: queues, list, search, the request page, transitions, Support's limits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dsr import services
from dsr.models import DataSubjectRequest
from tests.dsr.conftest import SUBJECT
from tests.dsr.flow import admin_post
from tests.factories import DataSubjectRequestFactory

pytestmark = pytest.mark.django_db
LIST = "/admin/dsr/datasubjectrequest/"


def page(client, url, params=None):
    response = client.get(url, params)
    assert response.status_code == 200, url
    return response.content.decode()


def change_url(request):
    return f"{LIST}{request.pk}/change/"


def test_the_home_page_shows_the_request_queues_with_counts(client, dpo_user, tenant_a):
    late = DataSubjectRequestFactory(
        tenant=tenant_a, received_at=timezone.now() - timedelta(days=40)
    )
    DataSubjectRequestFactory(tenant=tenant_a, received_at=timezone.now() - timedelta(days=27))
    in_review = DataSubjectRequestFactory(tenant=tenant_a)
    services.request_verify(request=in_review, by=dpo_user, method="callback")
    client.force_login(dpo_user)
    home = page(client, "/admin/")
    for title in (
        "Overdue requests",
        "Requests due within 7 days",
        "Awaiting identity verification",
        "Awaiting approval",
        "Packages ready for download",
    ):
        assert title in home
    assert f"#{late.pk} Access (Art. 15)" in home
    assert "portal-queue-danger" in home  # overdue comes first, in red


def test_the_list_shows_badges_and_filters(client, dpo_user, tenant_a, tenant_b):
    late = DataSubjectRequestFactory(
        tenant=tenant_a, received_at=timezone.now() - timedelta(days=40)
    )
    fresh = DataSubjectRequestFactory(tenant=tenant_b, kind="erasure")
    client.force_login(dpo_user)
    listing = page(client, LIST)
    assert "portal-badge-danger" in listing and "overdue since" in listing
    overdue = page(client, f"{LIST}?due=overdue")
    assert change_url(late) in overdue and change_url(fresh) not in overdue
    for query in (
        "kind__exact=erasure",
        f"tenant__id__exact={tenant_b.pk}",
        "status__exact=received",
    ):
        assert change_url(fresh) in page(client, f"{LIST}?{query}")
    assert change_url(late) not in page(client, f"{LIST}?kind__exact=erasure")
    assert change_url(late) in page(client, f"{LIST}?channel__exact=api")


@pytest.mark.parametrize(
    "term", ["0151 12345678", "+49 151 1234 5678", "0049-151-12345678", SUBJECT]
)
def test_search_finds_a_request_by_any_written_form_of_the_number(client, dpo_user, tenant_a, term):
    wanted = DataSubjectRequestFactory(tenant=tenant_a, numbers=["015112345678"])
    other = DataSubjectRequestFactory(tenant=tenant_a, numbers=["+4917099999999"])
    client.force_login(dpo_user)
    found = page(client, LIST, {"q": term})
    assert change_url(wanted) in found and change_url(other) not in found
    assert change_url(other) in page(client, f"{LIST}?q=%23{other.pk}")


def test_the_request_page_shows_discovery_timeline_and_actions(client, dpo_user, subject, tenant_a):
    request = DataSubjectRequestFactory(tenant=tenant_a, numbers=[SUBJECT])
    client.force_login(dpo_user)
    html = page(client, change_url(request))
    assert "Discovery" in html
    assert "Calls: 2" in html and "Recordings: 1" in html and "Consent events: 2" in html
    assert "included in the package" in html
    assert "Timeline" in html and "opened" in html
    for label in (
        "Record identity verification",
        "Ask for identity information",
        "Reject",
        "Assign",
    ):
        assert label in html
    assert ">Approve<" not in html  # not verified yet
    assert 'name="_save"' not in html  # everything happens through the transitions


def test_support_prepares_but_cannot_approve_or_reject(client, support_user, dpo_user, tenant_a):
    request = DataSubjectRequestFactory(tenant=tenant_a)
    client.force_login(support_user)
    admin_post(client, request.pk, "verify", {"method": "callback", "note": ""})
    admin_post(client, request.pk, "assign", {"assignee": support_user.pk})
    html = page(client, change_url(request))
    assert ">Approve<" not in html and ">Reject<" not in html
    for action, data in (
        ("approve", {"reasons": "ok"}),
        ("reject", {"ground": "excessive", "reasons": "no"}),
        ("extend", {"months": 3, "reason": "busy"}),
    ):
        response = client.post(f"{LIST}{request.pk}/do/{action}/", data)
        assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == "in_review" and request.assignee == support_user
    # The DPO can.
    client.force_login(dpo_user)
    assert ">Approve<" in page(client, change_url(request))
    admin_post(client, request.pk, "approve", {"reasons": ""})
    request.refresh_from_db()
    assert request.status in ("approved", "processing", "completed")
    assert request.decided_by == dpo_user


def test_support_sees_only_the_tenants_it_serves(client, support_user, tenant_a, tenant_b):
    mine = DataSubjectRequestFactory(tenant=tenant_a)
    foreign = DataSubjectRequestFactory(tenant=tenant_b)
    client.force_login(support_user)
    listing = page(client, LIST)
    assert change_url(mine) in listing and change_url(foreign) not in listing
    assert "Tenant B" not in listing  # not even in the tenant filter
    assert client.get(change_url(foreign)).status_code == 302  # "doesn't exist" redirect
    response = client.post(f"{LIST}{foreign.pk}/do/verify/", {"method": "callback"})
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "received"


def test_a_refused_transition_shows_the_reason_on_the_confirmation_page(client, dpo_user, tenant_a):
    request = DataSubjectRequestFactory(
        tenant=tenant_a, received_at=timezone.now() - timedelta(days=40)
    )
    client.force_login(dpo_user)
    confirm = page(client, f"{LIST}{request.pk}/do/extend/")
    assert "Extend the deadline" in confirm and "Art. 12(3)" in confirm
    response = client.post(f"{LIST}{request.pk}/do/extend/", {"months": 3, "reason": "Busy."})
    assert response.status_code == 400
    assert "already expired" in response.content.decode()
    response = client.post(f"{LIST}{request.pk}/do/reject/", {"ground": "excessive", "reasons": ""})
    assert response.status_code == 400  # reasons are required
    request.refresh_from_db()
    assert request.status == "received" and request.extended_due_at is None


def test_staff_take_in_a_request_sent_to_the_platform(client, support_user, tenant_a):
    client.force_login(support_user)
    form = page(client, f"{LIST}add/")
    assert "Take in a data-subject request" in form
    response = client.post(
        f"{LIST}add/",
        {
            "tenant": tenant_a.pk,
            "kind": "erasure",
            "channel": "direct_to_processor",
            "numbers": "0151 12345678\n+49 176 12345678",
            "name": "Erika",
            "received_at": (timezone.now() - timedelta(days=2)).strftime("%Y-%m-%d %H:%M"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    created = DataSubjectRequest.objects.get()
    assert created.numbers == [SUBJECT, "+4917612345678"]
    assert created.forwarded_at is not None and created.confirmed_at is None
    assert created.opened_by == support_user
    bad = client.post(
        f"{LIST}add/",
        {"tenant": tenant_a.pk, "kind": "access", "channel": "admin", "numbers": "hello"},
    )
    assert bad.status_code == 200 and "not a phone number" in bad.content.decode()
    assert DataSubjectRequest.objects.count() == 1
