"""The DPO's breach register in the admin; support staff read-only and scoped."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from breaches import services
from breaches.models import BreachIncident, BreachNotification
from tests.breaches.conftest import make_call, open_incident

pytestmark = pytest.mark.django_db

LIST = "/admin/breaches/breachincident/"


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def change_url(incident, action=""):
    return f"{LIST}{incident.pk}/{action + '/' if action else 'change/'}"


@pytest.fixture
def overdue(tenant_a):
    aware = timezone.now() - timedelta(hours=80)
    incident = open_incident(
        title="Overdue incident",
        became_aware_at=aware,
        detected_at=aware,
        occurred_from=aware - timedelta(hours=5),
        occurred_to=aware,
    )
    services.incident_link_calls(incident=incident, call_ids=[make_call(tenant_a).pk])
    return incident


@pytest.fixture
def only_b(tenant_b):
    incident = open_incident(title="Only B incident")
    services.incident_link_calls(incident=incident, call_ids=[make_call(tenant_b).pk])
    return incident


def test_list_shows_the_clock_risk_and_status(client, dpo_user, overdue, two_tenant_incident):
    services.incident_assess(incident=two_tenant_incident, risk_level="risk", reasoning="x")
    client.force_login(dpo_user)
    html = page(client.get(LIST))
    assert "Overdue incident" in html and two_tenant_incident.title in html
    assert re.search(r'portal-badge-danger">overdue by 8 h 0\d min', html)
    assert re.search(r'portal-badge-danger">69 h 5\d min left|portal-badge-warning">69 h', html)
    assert 'portal-badge-danger">not assessed' in html  # the overdue one is unrated
    assert 'portal-badge-warning">Risk' in html
    assert "2 not notified" in html and "target in 21 h" in html
    assert "Export register (CSV)" in html


def test_list_filters_by_clock_and_status(client, dpo_user, overdue, two_tenant_incident, incident):
    services.incident_notify_tenants(incident=two_tenant_incident)
    client.force_login(dpo_user)
    overdue_only = page(client.get(f"{LIST}?clock=overdue"))
    assert "Overdue incident" in overdue_only and two_tenant_incident.title not in overdue_only
    pending = page(client.get(f"{LIST}?clock=tenants_pending"))
    assert "Overdue incident" in pending and f"{two_tenant_incident}" not in pending
    stopped = page(client.get(f"{LIST}?clock=stopped"))
    assert f"{two_tenant_incident}" in stopped and "Overdue incident" not in stopped
    assert "Overdue incident" in page(client.get(f"{LIST}?status=open"))


def test_incident_page_shows_tenants_counts_timeline_and_actions(
    client, dpo_user, two_tenant_incident, tenant_b
):
    services.incident_notify_tenants(incident=two_tenant_incident)
    client.force_login(dpo_user)
    html = page(client.get(change_url(two_tenant_incident)))
    assert "Affected tenants and counts" in html
    assert "Tenant A" in html and "Tenant B" in html
    assert "Notification timeline" in html and "Tenant (controller)" in html
    # Each tenant's deadline in its own time zone (B is in Dublin).
    deadline = two_tenant_incident.deadline_at.astimezone(tenant_b.tzinfo)
    assert f"{deadline:%Y-%m-%d %H:%M} {deadline.tzname()}" in html
    for action in ("assess", "notify-tenants", "add-phase", "authority", "subjects", "close"):
        assert change_url(two_tenant_incident, action) in html
    assert page(client.get(f"{change_url(two_tenant_incident)[:-7]}history/"))


def test_add_an_incident_in_the_admin(client, dpo_user):
    client.force_login(dpo_user)
    aware = timezone.now() - timedelta(hours=1)
    response = client.post(
        f"{LIST}add/",
        {
            "title": "Phishing of a support account",
            "description": "A support engineer's password was phished.",
            "became_aware_at_0": aware.strftime("%Y-%m-%d"),
            "became_aware_at_1": aware.strftime("%H:%M:%S"),
            "data_categories": ["account_data", "numbers"],
            "dpo_contact": "dpo@platform.example",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    incident = BreachIncident.objects.get()
    assert incident.data_categories == ["numbers", "account_data"]
    assert incident.opened_by == dpo_user and incident.detected_at == incident.became_aware_at


def test_assess_high_in_the_admin_notifies_at_once(
    client, dpo_user, two_tenant_incident, django_capture_on_commit_callbacks
):
    client.force_login(dpo_user)
    url = change_url(two_tenant_incident, "assess")
    assert "EDPB Guidelines 9/2022" in page(client.get(url))
    html = page(client.post(url, {"risk_level": "high", "reasoning": ""}))
    assert "This field is required" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"risk_level": "high", "reasoning": "Voices leaked."})
    assert response.status_code == 302
    assert BreachNotification.objects.filter(recipient="tenant").count() == 2


def test_notify_tenants_page_confirms_and_asks_the_delay_reason_when_late(
    client, dpo_user, overdue, admin_a
):
    client.force_login(dpo_user)
    url = change_url(overdue, "notify-tenants")
    html = page(client.get(url))
    assert "Tenants to be notified now" in html and "Tenant A" in html
    assert "admin-a@example.com" in html
    assert "Reasons for the delay" in html
    html = page(client.post(url, {}))
    assert "This field is required" in html
    assert not BreachNotification.objects.exists()
    response = client.post(url, {"delay_reason": "The logs were only analysed on day four."})
    assert response.status_code == 302
    [notice] = BreachNotification.objects.all()
    assert notice.delay_reason == "The logs were only analysed on day four."
    assert notice.sent_by == dpo_user


def test_the_service_refusal_shows_on_the_action_page(client, dpo_user, incident):
    client.force_login(dpo_user)
    html = page(client.post(change_url(incident, "notify-tenants"), {}))
    assert "touches no tenant&#x27;s data" in html


def test_link_phase_authority_subjects_contain_and_close_from_the_admin(
    client, dpo_user, incident, tenant_a
):
    client.force_login(dpo_user)
    call = make_call(tenant_a)
    assert (
        client.post(change_url(incident, "link-calls"), {"call_ids": f"{call.pk}"}).status_code
        == 302
    )
    assert incident.affected_calls.get() == call
    client.post(change_url(incident, "assess"), {"risk_level": "unlikely", "reasoning": "x"})
    client.post(change_url(incident, "notify-tenants"), {})
    response = client.post(
        change_url(incident, "add-phase"), {"phase": "final", "update": "All clear."}
    )
    assert response.status_code == 302
    response = client.post(
        change_url(incident, "authority"),
        {"decision": "not_notified", "channel": "other", "reasoning": "Tenants are controllers."},
    )
    assert response.status_code == 302
    response = client.post(
        change_url(incident, "subjects"),
        {"decision": "not_told", "channel": "email", "ground": "not_high_risk", "reasoning": "x"},
    )
    assert response.status_code == 302
    html = page(client.post(change_url(incident, "close"), {"note": ""}))
    assert "This field is required" in html
    assert (
        client.post(change_url(incident, "contain"), {"measures_taken": "Fixed."}).status_code
        == 302
    )
    assert client.post(change_url(incident, "close"), {"note": "Done."}).status_code == 302
    incident.refresh_from_db()
    assert incident.status == "closed"
    assert incident.authority_not_notified_reasoning == "Tenants are controllers."
    assert incident.subjects_not_notified_ground == "not_high_risk"
    assert [n.phase for n in incident.notifications.order_by("id")] == ["initial", "final"]
    html = page(client.get(change_url(incident)))
    assert change_url(incident, "assess") not in html  # closed: no more actions
    assert client.get(change_url(incident, "assess")).status_code == 200  # page, but...
    assert "closed" in page(
        client.post(change_url(incident, "assess"), {"risk_level": "high", "reasoning": "y"})
    )


def test_support_sees_incidents_of_its_tenants_read_only(
    client, support_user, two_tenant_incident, only_b
):
    services.incident_notify_tenants(incident=two_tenant_incident)
    client.force_login(support_user)
    html = page(client.get(LIST))
    assert two_tenant_incident.title in html and "Only B incident" not in html
    assert "Export register (CSV)" not in html
    html = page(client.get(change_url(two_tenant_incident)))
    assert "Tenant A" in html and "Tenant B" not in html
    assert "1 other tenant(s) affected" in html
    assert change_url(two_tenant_incident, "assess") not in html
    assert client.get(change_url(two_tenant_incident, "assess")).status_code == 403
    assert client.post(change_url(two_tenant_incident, "close"), {"note": "x"}).status_code == 403
    assert client.get(f"{LIST}export/").status_code == 403
    assert client.get(change_url(only_b)).status_code in (302, 404)
    assert client.get(f"{LIST}{only_b.pk}/history/").status_code == 404
    notices = page(client.get("/admin/breaches/breachnotification/"))
    assert "Tenant A" in notices and "Tenant B" not in notices


def test_export_selected_incidents_as_csv(client, dpo_user, two_tenant_incident):
    other = open_incident(title="Another incident")
    client.force_login(dpo_user)
    response = client.post(
        LIST, {"action": "export_register", "_selected_action": [two_tenant_incident.pk]}
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert two_tenant_incident.reference in text and other.reference not in text
    header = text.splitlines()[0]
    for item in ("Art. 33(3)(a)", "Art. 33(3)(b)", "Art. 33(3)(c)", "Art. 33(3)(d)"):
        assert item in header


def test_csv_cells_cannot_run_as_formulas(client, dpo_user):
    open_incident(title='=HYPERLINK("http://evil")', description="-2+3")
    client.force_login(dpo_user)
    text = b"".join(client.get(f"{LIST}export/").streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'-2+3" in text


def test_admin_home_shows_breaches_on_the_clock_first(client, dpo_user, overdue, incident):
    client.force_login(dpo_user)
    html = page(client.get("/admin/"))
    clock_at = html.index("Breaches on the 72-hour clock")
    assert clock_at < html.index("Tenants not yet notified (target 24 h)")
    assert "portal-queue-danger" in html[html.rfind("<div", 0, clock_at) : clock_at]
    assert "overdue by 8 h" in html and "target missed by 56 h" in html
    assert str(incident) in html  # no tenant data yet: the authority decision is owed


def test_support_home_queues_are_scoped(client, support_user, only_b):
    client.force_login(support_user)
    html = page(client.get("/admin/"))
    assert "Breaches on the 72-hour clock" in html and "Only B incident" not in html


def test_impact_list_shows_each_tenants_clock(client, dpo_user, overdue, two_tenant_incident):
    services.incident_notify_tenants(incident=two_tenant_incident)
    client.force_login(dpo_user)
    html = page(client.get("/admin/breaches/breachtenantimpact/"))
    assert 'portal-badge-danger">overdue by 8 h' in html
    assert html.count('portal-badge-ok">notified') == 2


def test_edits_in_the_admin_go_through_the_service_and_stop_once_closed(client, dpo_user, incident):
    client.force_login(dpo_user)
    form = client.get(change_url(incident)).context["adminform"].form
    data = {
        name: form[name].value() if form[name].value() is not None else "" for name in form.fields
    }
    for name in ("occurred_from", "occurred_to", "detected_at", "became_aware_at"):
        moment = getattr(incident, name)
        data.pop(name)
        data[f"{name}_0"], data[f"{name}_1"] = f"{moment:%Y-%m-%d}", f"{moment:%H:%M:%S}"
    data["measures_taken"] = "Bucket made private; keys rotated; CDN cache purged."
    response = client.post(change_url(incident), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    incident.refresh_from_db()
    assert incident.measures_taken.endswith("CDN cache purged.")
    assert incident.history.first().history_user == dpo_user

    services.incident_assess(incident=incident, risk_level="unlikely", reasoning="x")
    services.incident_decide_authority_not_notified(incident=incident, reasoning="Unlikely.")
    services.incident_close(incident=incident, note="Done.")
    html = page(client.get(change_url(incident)))
    assert 'name="measures_taken"' not in html  # read-only once closed
    assert client.post(change_url(incident), {}).status_code == 302
