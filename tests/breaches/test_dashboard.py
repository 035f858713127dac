"""The tenant dashboard's breach notices: list, notice page, acknowledgement, overview panel."""

import re
import zoneinfo
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from breaches import services
from breaches.models import BreachIncident, BreachNotification
from tests.breaches.conftest import make_call, open_incident
from tests.conftest import make_member
from tests.factories import BreachIncidentFactory
from tests.isolation import dashboard_routes, route_model

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
LIST = "/dashboard/breaches/"


def detail_url(incident) -> str:
    return f"{LIST}{incident.pk}/"


def ack_url(incident) -> str:
    return f"{LIST}{incident.pk}/acknowledge/"


def table(page: str) -> str:
    return page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""


def row_of(page: str, incident) -> str:
    rows = [r for r in table(page).split("<tr>") if incident.reference in r]
    assert len(rows) == 1, f"{incident.reference} is not listed once"
    return rows[0]


@pytest.fixture
def notified(two_tenant_incident):
    """Linked to 3 calls of A (2 callers) and 1 of B, rated "risk", notified to both."""
    services.incident_assess(
        incident=two_tenant_incident,
        risk_level="risk",
        reasoning="Numbers were exposed, recordings encrypted.",
    )
    services.incident_notify_tenants(incident=two_tenant_incident)
    return two_tenant_incident


@pytest.fixture
def b_only(tenant_b):
    """An incident that touched tenant B only, notified to B."""
    incident = open_incident(title="Transcripts of one customer exposed")
    services.incident_link_calls(
        incident=incident, call_ids=[make_call(tenant_b, caller="+353851234567").pk]
    )
    services.incident_notify_tenants(incident=incident)
    return incident


@pytest.fixture
def owner_a(tenant_a):
    return make_member(tenant_a, "owner", "owner-a")


@pytest.fixture
def agent_a(tenant_a):
    return make_member(tenant_a, "agent", "agent-a")


def notices_of(incident, tenant):
    return BreachNotification.objects.filter(incident=incident, tenant=tenant)


# --- list ------------------------------------------------------------------------------------


def test_list_shows_only_incidents_notified_to_the_tenant(
    client, viewer_a, tenant_a, notified, b_only
):
    not_yet = open_incident(title="Affects A but not notified yet")
    services.incident_link_calls(incident=not_yet, call_ids=[make_call(tenant_a).pk])
    client.force_login(viewer_a)
    response = client.get(LIST)
    assert response.status_code == 200
    assert list(response.context["object_list"]) == [notified]
    page = response.content.decode()
    row = row_of(page, notified)
    assert f'href="{detail_url(notified)}"' in row
    assert "Risk" in row and "badge-warning" in row  # our risk advice
    assert "Assessing" in row  # incident status
    assert "to acknowledge" in row
    assert "Initial" in row  # the latest notice's phase
    for hidden in ("Transcripts of one customer", "Affects A but not notified", "Tenant B"):
        assert hidden not in page
    assert 'aria-current="page">Breach notices' in page  # the menu entry, current


def test_the_clock_is_the_tenants_own_72_hours_in_hours_near_the_end(client, admin_a, tenant_a):
    told = datetime(2025, 1, 17, 16, 30, tzinfo=BERLIN)  # a Friday afternoon
    with time_machine.travel(told, tick=False) as traveller:
        incident = open_incident(
            became_aware_at=told - timedelta(hours=20),
            detected_at=told - timedelta(hours=21),
            occurred_from=told - timedelta(days=2),
            occurred_to=told - timedelta(hours=21),
        )
        services.incident_link_calls(incident=incident, call_ids=[make_call(tenant_a).pk])
        services.incident_notify_tenants(incident=incident)
        client.force_login(admin_a)

        # Our own awareness was 20 h earlier; the tenant's 72 hours run from our notice.
        row = row_of(client.get(LIST).content.decode(), incident)
        assert 'datetime="2025-01-20T16:30:00+01:00"' in row and "due in 3 days" in row

        traveller.move_to(datetime(2025, 1, 19, 12, 0, tzinfo=BERLIN))  # Sunday: it runs on
        row = row_of(client.get(LIST).content.decode(), incident)
        assert "due in 28 hours" in row and "badge-warning" in row

        traveller.move_to(datetime(2025, 1, 20, 19, 0, tzinfo=BERLIN))  # not acknowledged
        row = row_of(client.get(LIST).content.decode(), incident)
        assert "overdue by 2 hours" in row and "badge-danger" in row

        services.incident_acknowledge(incident=incident, tenant=tenant_a, user=admin_a)
        row = row_of(client.get(LIST).content.decode(), incident)
        assert "overdue" not in row and "ended 20 Jan 2025, 16:30" in row
        assert "acknowledged" in row and "to acknowledge" not in row


def test_filters_by_acknowledgement_status_and_risk(client, admin_a, tenant_a, notified):
    second = BreachIncidentFactory(tenant=tenant_a, title="Second incident", status="contained")
    services.incident_acknowledge(incident=second, tenant=tenant_a, user=admin_a)
    client.force_login(admin_a)

    def listed(query: str) -> list:
        return list(client.get(f"{LIST}?{query}").context["object_list"])

    assert listed("acknowledgement=unacknowledged") == [notified]
    assert listed("acknowledgement=acknowledged") == [second]
    assert listed("status=contained") == [second]
    assert listed("status=assessing") == [notified]
    assert listed("risk_level=risk") == [notified]
    page = client.get(f"{LIST}?status=closed").content.decode()
    assert "Nothing matches these filters" in page and "Clear filters" in page


def test_the_empty_list_says_what_the_page_is_for(client, viewer_a):
    client.force_login(viewer_a)
    page = client.get(LIST).content.decode()
    assert "No breach notices" in page
    assert "within 72 hours whether to notify your supervisory authority" in page


def _list_queries(client, query: str = "") -> tuple[list[str], str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{LIST}{query}")
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries], response.content.decode()


def test_the_list_costs_a_fixed_number_of_queries(client, admin_a, tenant_a):
    client.force_login(admin_a)
    for _ in range(3):
        BreachIncidentFactory(tenant=tenant_a)
    few, _ = _list_queries(client)
    incidents = BreachIncidentFactory.create_batch(27, tenant=tenant_a)
    services.incident_add_phase(incident=incidents[0], phase="follow_up", update="More news.")
    services.incident_acknowledge(incident=incidents[1], tenant=tenant_a, user=admin_a)
    assert len(_list_queries(client)[0]) == len(few)
    assert len(_list_queries(client, "?acknowledgement=unacknowledged")[0]) == len(few)

    # Past one page, one more query: the total, counted only up to a cap (never the table).
    BreachIncidentFactory.create_batch(30, tenant=tenant_a)
    many, page = _list_queries(client)
    assert len(many) == len(few) + 1
    counts = [sql for sql in many if "COUNT(" in sql.upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts
    assert "1–50 of 60" in page and 'rel="next"' in page


# --- the notice page -------------------------------------------------------------------------


def test_notice_page_shows_every_art_33_3_item_and_the_tenants_own_counts(
    client, viewer_a, tenant_a, notified
):
    client.force_login(viewer_a)
    page = client.get(detail_url(notified)).content.decode()
    # The notice as received, with every Art. 33(3) item and our advice labelled as such.
    content = notices_of(notified, tenant_a).get().content
    for item in (
        "1. NATURE OF THE BREACH (Art. 33(3)(a))",
        "2. CONTACT POINT FOR MORE INFORMATION (Art. 33(3)(b))",
        "3. LIKELY CONSEQUENCES (Art. 33(3)(c))",
        "4. MEASURES TAKEN OR PROPOSED",
        "5. OUR RISK ASSESSMENT (advice: as controller, the decision is yours)",
    ):
        assert item in content and item in page
    # The items as they stand now, and this tenant's counts (3 calls, 2 callers) only.
    for text in (
        notified.description,
        "Dana DPO, dpo@platform.example, +49 30 1111",
        "Callers&#x27; voices and numbers may have been copied.",
        "Bucket made private; access keys rotated.",
        "Bucket policy checks in CI.",
        "Call recordings, Phone numbers and call metadata",
        'Our risk assessment <span class="muted">— advice</span>',
        "Numbers were exposed, recordings encrypted.",
    ):
        assert text in page, text
    assert re.search(r"Data subjects \(approximate\)</dt><dd>2 ", page)
    assert "Records (approximate)</dt><dd>7 " in page
    for leak in ("Tenant B", "+353", "+4915100000001"):
        assert leak not in page
    # What to do next: the controller's own decision, within its 72 hours.
    assert "Decide whether to notify your supervisory authority" in page
    assert "Test Supervisory Authority" in page and "Art. 33(1)" in page


def test_notice_page_shows_each_phase_as_received(client, admin_a, tenant_a, notified):
    services.incident_add_phase(
        incident=notified, phase="follow_up", update="Forensics found no copies of recordings."
    )
    services.incident_add_phase(incident=notified, phase="final", update="Closed: no misuse.")
    client.force_login(admin_a)
    page = client.get(detail_url(notified)).content.decode()
    headings = re.findall(r"<h3 id=\"notice-\d+\">(\w[\w-]*) notice", page)
    assert headings == ["Initial", "Follow-up", "Final"]
    assert "Forensics found no copies of recordings." in page
    assert "Closed: no misuse." in page
    assert page.count("not acknowledged") >= 3
    row = row_of(client.get(LIST).content.decode(), notified)
    assert "3 to acknowledge" in row and "Final" in row


def test_another_tenants_incident_is_a_404_even_when_it_touched_this_tenant(
    client, admin_a, tenant_a, two_tenant_incident, b_only
):
    client.force_login(admin_a)
    # Touches A's data, but A has not been told yet: not visible until it is.
    for incident in (two_tenant_incident, b_only):
        for url in (detail_url(incident), ack_url(incident)):
            response = client.get(url)
            assert response.status_code == 404
            assert incident.title not in response.content.decode()
        assert client.post(ack_url(incident)).status_code == 404
    assert not BreachNotification.objects.filter(acknowledged_at__isnull=False).exists()
    services.incident_notify_tenants(incident=two_tenant_incident)
    assert client.get(detail_url(two_tenant_incident)).status_code == 200


def test_the_isolation_suite_walks_the_breach_pages():
    routes = {r.path: r for r in dashboard_routes()}
    for path in ("/dashboard/breaches/<pk>/", "/dashboard/breaches/<pk>/acknowledge/"):
        assert route_model(routes[path]) is BreachIncident


# --- acknowledging ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_a", "owner_a"])
def test_admin_or_owner_acknowledges_after_confirming(client, request, who, tenant_a, notified):
    user = request.getfixturevalue(who)
    client.force_login(user)
    page = client.get(detail_url(notified)).content.decode()
    assert f'href="{ack_url(notified)}"' in page

    confirm = client.get(ack_url(notified))
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "Acknowledge this breach notice?" in text and "Initial notice, sent" in text
    assert "does not notify your supervisory authority" in text
    assert not notices_of(notified, tenant_a).filter(acknowledged_at__isnull=False).exists()

    response = client.post(ack_url(notified), follow=True)
    assert response.redirect_chain[-1][0] == detail_url(notified)
    page = response.content.decode()
    assert f"Acknowledged the notice of {notified.reference}." in page
    notice = notices_of(notified, tenant_a).get()
    assert notice.acknowledged_at is not None and notice.acknowledged_by == user
    assert notice.history.first().history_user == user
    assert f'href="{ack_url(notified)}"' not in page
    assert f"by {user.username}" in page
    # B's notice of the same incident is B's to acknowledge.
    assert notices_of(notified, notified.impacts.get(tenant__slug="tenant-b").tenant).get(
        acknowledged_at__isnull=True
    )

    again = client.post(ack_url(notified), follow=True).content.decode()
    assert "every notice had been acknowledged already" in again
    assert notices_of(notified, tenant_a).get().acknowledged_at == notice.acknowledged_at


@pytest.mark.parametrize("who", ["viewer_a", "agent_a"])
def test_viewer_and_agent_read_but_cannot_acknowledge(client, request, who, tenant_a, notified):
    client.force_login(request.getfixturevalue(who))
    page = client.get(detail_url(notified)).content.decode()
    assert notified.title in page
    assert f'href="{ack_url(notified)}"' not in page
    assert "An admin or owner of your organisation does this here" in page
    assert client.get(ack_url(notified)).status_code == 403
    assert client.post(ack_url(notified)).status_code == 403
    assert client.post(detail_url(notified)).status_code == 403
    assert not notices_of(notified, tenant_a).filter(acknowledged_at__isnull=False).exists()


# --- overview panel --------------------------------------------------------------------------


def test_overview_panel_counts_notices_to_acknowledge_nearest_deadline_first(
    client, admin_a, tenant_a
):
    now = datetime(2025, 6, 2, 9, 0, tzinfo=BERLIN)
    with time_machine.travel(now - timedelta(hours=50), tick=False):
        older = BreachIncidentFactory(tenant=tenant_a, title="Older incident")
    with time_machine.travel(now - timedelta(hours=2), tick=False):
        newer = BreachIncidentFactory(tenant=tenant_a, title="Newer incident")
    with time_machine.travel(now, tick=False):
        client.force_login(admin_a)
        page = client.get("/dashboard/").content.decode()
        panel = page.split('id="panel-breach-notices"')[1].split("</section>")[0]
        assert "Breach notices to acknowledge" in page
        assert '<span class="figure figure-warning">2</span> notices not yet acknowledged' in panel
        assert panel.index("Older incident") < panel.index("Newer incident")
        assert "due in 22 hours" in panel and "due in 3 days" in panel
        assert f'href="{detail_url(older)}"' in panel

        services.incident_acknowledge(incident=older, tenant=tenant_a, user=admin_a)
        services.incident_acknowledge(incident=newer, tenant=tenant_a, user=admin_a)
        page = client.get("/dashboard/").content.decode()
        assert "Nothing to acknowledge" in page


def test_a_viewer_sees_the_panel_too(client, viewer_a, tenant_a):
    BreachIncidentFactory(tenant=tenant_a, title="Seen by viewers")
    client.force_login(viewer_a)
    page = client.get("/dashboard/").content.decode()
    assert "Breach notices to acknowledge" in page and "Seen by viewers" in page
