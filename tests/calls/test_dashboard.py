"""The calls pages of the tenant dashboard: list and search, the call page with logged playback
and transcript, deletion through the service, retention rules, menu and overview panel."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from calls import services
from calls.models import Call, Recording, RecordingAccess, RetentionRule, Transcript
from calls.views.pages import CallListView
from consent.models import ConsentEvent
from consent.selectors import REASON_DEFAULT, REASON_NO_CONSENT
from tests.calls.conftest import give_consent, media_rows
from tests.factories import (
    CallFactory,
    PurposeFactory,
    RecordingAccessFactory,
    RetentionRuleFactory,
)
from tests.isolation import dashboard_routes

pytestmark = pytest.mark.django_db

LIST = "/dashboard/calls/"
RULES = "/dashboard/calls/retention-rules/"


@pytest.fixture
def agent_a(member_factory, tenant_a):
    return member_factory(tenant_a, "agent", "agent-a")


@pytest.fixture
def owner_a(member_factory, tenant_a):
    return member_factory(tenant_a, "owner", "owner-a")


@pytest.fixture
def complaint_rule(tenant_a):
    """Complaints are kept five years (a statute of limitations), deleted after about 5.5."""
    return RetentionRuleFactory(
        tenant=tenant_a,
        category="complaint",
        max_age_days=2000,
        min_age_days=1825,
        legal_reference="§ 195 BGB",
    )


def detail(call) -> str:
    return f"/dashboard/calls/{call.pk}/"


def listed(client, **params) -> set[int]:
    response = client.get(LIST, params)
    assert response.status_code == 200
    return {call.pk for call in response.context["object_list"]}


def with_media(call, wav, transcript="Guten Tag, hier ist Acme."):
    services.recording_attach(call=call, file=io.BytesIO(wav), content_type="audio/wav")
    if transcript:
        services.transcript_set(call=call, language="de-DE", text=transcript)
    return call


def consult(client, call, what="recording", purpose="quality_review", query="", **extra):
    return client.post(f"{detail(call)}{query}", {"what": what, "purpose": purpose, **extra})


def link_token(response, what="recording") -> str:
    assert response.status_code == 302, response.content[:500]
    return parse_qs(urlsplit(response["Location"]).query)[what][0]


def stream(client, call, token=None):
    params = {"access": token} if token else {}
    return client.get(f"{detail(call)}recording/", params)


# --- the list: search, filters, badges, pagination -----------------------------------------


@pytest.mark.parametrize("written", ["+49 30 1234567", "030 1234567", "0049301234567"])
def test_a_number_written_any_way_finds_calls_as_caller_or_callee(
    client, admin_a, tenant_a, written
):
    as_caller = CallFactory(tenant=tenant_a, caller="+49301234567")
    as_callee = CallFactory(tenant=tenant_a, direction="outbound", callee="+49301234567")
    CallFactory(tenant=tenant_a, caller="+49301234568")
    client.force_login(admin_a)
    assert listed(client, number=written) == {as_caller.pk, as_callee.pk}


def test_a_national_number_is_read_in_the_tenants_country(client, admin_b, tenant_b):
    dublin = CallFactory(tenant=tenant_b, caller="+35312345678")
    CallFactory(tenant=tenant_b, caller="+49312345678")
    client.force_login(admin_b)
    assert listed(client, number="01 234 5678") == {dublin.pk}


def test_an_unreadable_number_is_an_error_on_the_number_field(client, admin_a, tenant_a):
    CallFactory(tenant=tenant_a)
    client.force_login(admin_a)
    response = client.get(LIST, {"number": "call me maybe"})
    page = response.content.decode()
    assert response.status_code == 200 and not response.context["object_list"]
    assert re.search(r'name="number"[^>]*aria-invalid="true"', page)
    assert "not a phone number we can read" in page


def test_filters_by_dates_purpose_category_direction_flag_and_restriction(
    client, admin_a, tenant_a
):
    tz = tenant_a.tzinfo
    marketing = PurposeFactory(tenant=tenant_a, code="marketing")
    PurposeFactory(tenant=tenant_a, code="service_delivery")
    # 23:30 local on 9 March: still the 9th in the tenant's time zone (22:30 UTC).
    late = CallFactory(
        tenant=tenant_a,
        started_at=datetime(2026, 3, 9, 23, 30, tzinfo=tz),
        category="sales",
        gate_flags=["marketing"],
    )
    late.purposes.add(marketing)
    early = CallFactory(
        tenant=tenant_a,
        started_at=datetime(2026, 3, 10, 0, 30, tzinfo=tz),
        direction="outbound",
        is_restricted=True,
    )
    client.force_login(admin_a)
    assert listed(client, started_before="2026-03-09") == {late.pk}
    assert listed(client, started_after="2026-03-10") == {early.pk}
    assert listed(client, started_after="2026-03-09", started_before="2026-03-10") == {
        late.pk,
        early.pk,
    }
    assert listed(client, purpose="marketing") == {late.pk}
    assert listed(client, category="sales") == {late.pk}
    assert listed(client, category=" Sales ") == {late.pk}
    assert listed(client, direction="outbound") == {early.pk}
    assert listed(client, flagged="on") == {late.pk}
    assert listed(client, restricted="on") == {early.pk}
    assert listed(client) == {late.pk, early.pk}
    page = client.get(LIST, {"started_after": "2026-03-10", "started_before": "2026-03-09"})
    assert "The end of the range is before its start." in page.content.decode()


def test_purpose_choices_are_the_tenants_own(client, admin_a, tenant_a, tenant_b):
    PurposeFactory(tenant=tenant_a, code="ours")
    PurposeFactory(tenant=tenant_b, code="theirs")
    client.force_login(admin_a)
    response = client.get(LIST, {"purpose": "theirs"})
    page = response.content.decode()
    assert 'value="ours"' in page and 'value="theirs"' not in page
    assert "Select a valid choice" in page


def test_restricted_and_flagged_calls_carry_badges(client, admin_a, tenant_a):
    CallFactory(tenant=tenant_a, is_restricted=True)
    CallFactory(tenant=tenant_a, gate_flags=["marketing", "training"])
    client.force_login(admin_a)
    page = client.get(LIST).content.decode()
    assert '<span class="badge badge-danger">restricted</span>' in page
    assert '<span class="badge badge-warning">no basis: marketing, training</span>' in page


def test_empty_states_say_what_to_do(client, admin_a, tenant_a):
    client.force_login(admin_a)
    page = client.get(LIST).content.decode()
    assert "No calls yet" in page and "POST /api/v1/calls/" in page
    CallFactory(tenant=tenant_a, direction="inbound")
    page = client.get(LIST, {"direction": "outbound"}).content.decode()
    assert "Nothing matches these filters" in page and "Clear filters" in page


def test_pages_without_counting_the_whole_table(client, admin_a, tenant_a, monkeypatch):
    for i in range(60):
        CallFactory(tenant=tenant_a, started_at=timezone.now() - timedelta(minutes=i))
    client.force_login(admin_a)
    with CaptureQueriesContext(connection) as queries:
        first = client.get(LIST)
    assert len(first.context["object_list"]) == 50
    assert "1–50 of 60" in first.content.decode() and 'rel="next"' in first.content.decode()
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts
    second = client.get(LIST, {"page": 2})
    assert len(second.context["object_list"]) == 10
    assert not set(first.context["object_list"]) & set(second.context["object_list"])
    assert client.get(LIST, {"page": 3}).status_code == 404
    monkeypatch.setattr(CallListView, "count_cap", 55)
    assert "1–50 of more than 55" in client.get(LIST).content.decode()


@pytest.mark.parametrize("rows", [3, 30])
def test_the_list_costs_a_fixed_number_of_queries(
    client, admin_a, tenant_a, rows, django_assert_max_num_queries
):
    purposes = [PurposeFactory(tenant=tenant_a, code=c) for c in ("service_delivery", "training")]
    RetentionRuleFactory(tenant=tenant_a, category="support")
    for i in range(rows):
        call = CallFactory(tenant=tenant_a, gate_flags=["training"] if i % 2 else [])
        call.purposes.add(*purposes)
        media_rows(call)
    client.force_login(admin_a)
    client.get(LIST)  # warm up (session)
    with django_assert_max_num_queries(10):
        response = client.get(LIST, {"purpose": "training"})
    assert len(response.context["object_list"]) == rows
    assert response.content.decode().count(">recording</span>") == rows
    with django_assert_max_num_queries(10):
        client.get(LIST, {"number": "030 1234567", "flagged": "on"})


# --- menu and overview ---------------------------------------------------------------------


def test_menu_has_calls_and_retention_rules_for_every_role(client, viewer_a):
    client.force_login(viewer_a)
    page = client.get("/dashboard/").content.decode()
    section = page.split('<h2 class="nav-section">Calls</h2>')[1].split("</ul>")[0]
    assert f'href="{LIST}"' in section and f'href="{RULES}"' in section
    assert client.get(RULES).content.decode().count('aria-current="page"') == 2  # wide + narrow


def test_overview_panel_counts_calls_per_week_and_consultations(client, viewer_a, tenant_a):
    client.force_login(viewer_a)
    assert "No calls in the last 12 weeks" in client.get("/dashboard/").content.decode()
    now = timezone.now()
    for days in (0, 1, 8, 15, 200):
        CallFactory(tenant=tenant_a, started_at=now - timedelta(days=days))
    flagged = CallFactory(tenant=tenant_a, started_at=now - timedelta(days=2), gate_flags=["x"])
    RecordingAccessFactory(tenant=tenant_a, call=flagged)
    RecordingAccessFactory(tenant=tenant_a, call=flagged, what="transcript")
    RecordingAccessFactory(
        tenant=tenant_a, call=flagged, accessed_at=now - timedelta(days=10)
    )  # not this week
    response = client.get("/dashboard/")
    panel = next(p for p in response.context["panels"] if p.key == "calls-per-week")
    assert panel.wide and panel.data["total"] == 5
    assert panel.data["consulted"] == {"recordings": 1, "transcripts": 1}
    assert panel.data["flagged"] == 1
    page = response.content.decode()
    assert 'aria-labelledby="panel-calls-per-week"' in page and "Calls per week" in page
    assert "?flagged=on" in page


# --- the call page -------------------------------------------------------------------------


def test_call_page_shows_details_and_the_lawful_basis_at_the_time(client, viewer_a, tenant_a):
    marketing = PurposeFactory(tenant=tenant_a, code="marketing", default_lawful_basis="consent")
    service = PurposeFactory(tenant=tenant_a, code="service_delivery")
    started = timezone.now() - timedelta(days=3)
    # Outbound: the subject is the callee. Consent given by the callee before the call and
    # withdrawn after it: at the time of the call it was given.
    call = CallFactory(
        tenant=tenant_a,
        direction="outbound",
        caller="+49301234560",
        callee="+491511234567",
        started_at=started,
        category="sales",
    )
    call.purposes.add(marketing, service)
    give_consent(marketing, "+491511234567", at=started - timedelta(days=1))
    give_consent(
        marketing,
        "+491511234567",
        at=started + timedelta(hours=1),
        action=ConsentEvent.Action.WITHDRAWN,
    )
    client.force_login(viewer_a)
    page = client.get(detail(call)).content.decode()
    assert "+49 1511234567" in page and "+49 30 1234560" in page
    assert "callee of an outbound" in page
    rows = page.split('id="basis-title"')[1].split("</table>")[0]
    marketing_row = rows.split("<code>marketing</code>")[1].split("</tr>")[0]
    assert "badge-ok" in marketing_row and "Consent — Art. 6(1)(a)" in marketing_row
    service_row = rows.split("<code>service_delivery</code>")[1].split("</tr>")[0]
    assert "badge-ok" in service_row and escape(REASON_DEFAULT) in service_row
    assert "Kept under legal hold" not in page  # (a held call says so: tests/dsr/test_holds.py)

    # The caller's consent would not count for an outbound call.
    other = CallFactory(
        tenant=tenant_a, direction="outbound", caller="+491511234567", started_at=started
    )
    other.purposes.add(marketing)
    rows = client.get(detail(other)).content.decode().split('id="basis-title"')[1]
    assert "not allowed" in rows.split("</table>")[0]
    assert REASON_NO_CONSENT in rows


@pytest.mark.parametrize("accesses", [3, 30])
def test_the_call_page_costs_a_fixed_number_of_queries(
    client, agent_a, tenant_a, wav, accesses, django_assert_max_num_queries
):
    call = with_media(CallFactory(tenant=tenant_a), wav)
    call.purposes.add(PurposeFactory(tenant=tenant_a, code="service_delivery"))
    for _ in range(accesses):
        RecordingAccessFactory(tenant=tenant_a, call=call, user=agent_a)
    client.force_login(agent_a)
    url = consult(client, call)["Location"]
    with django_assert_max_num_queries(13):
        page = client.get(url).content.decode()
    assert "<audio" in page
    assert page.split('id="access-log"')[1].count("<tr>") == accesses + 2  # + head, + this one


def test_call_page_shows_gate_flags_retention_and_restriction(
    client, viewer_a, tenant_a, complaint_rule
):
    call = CallFactory(
        tenant=tenant_a, category="complaint", gate_flags=["marketing"], is_restricted=True
    )
    client.force_login(viewer_a)
    page = client.get(detail(call)).content.decode()
    assert "No lawful basis at the call's start for: <code>marketing</code>" in page
    assert "Deleted by the retention sweep after 2000 days." in page
    assert "Kept at least 1825 days (§ 195 BGB)." in page
    assert "Processing is restricted (Art. 18)" in page


def test_playback_logs_one_access_with_the_chosen_purpose_then_streams(
    client, agent_a, tenant_a, wav
):
    call = with_media(CallFactory(tenant=tenant_a), wav)
    client.force_login(agent_a)
    page = client.get(detail(call)).content.decode()
    assert "<audio" not in page and 'name="purpose"' in page
    assert RecordingAccess.objects.count() == 0

    response = consult(client, call, purpose="other", details="Ticket 4711")
    token = link_token(response)
    access = RecordingAccess.objects.get()
    assert (access.what, access.how, access.purpose) == (
        "recording",
        "playback",
        "Other (say which): Ticket 4711",
    )
    assert access.user == agent_a and access.call == call and access.ip_address == "127.0.0.1"
    assert response["Location"].endswith("#recording")

    page = client.get(response["Location"]).content.decode()
    src = re.search(r'<audio[^>]* src="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "Ticket 4711" in page
    played = client.get(src)
    assert played.status_code == 200 and played["Content-Type"] == "audio/wav"
    assert b"".join(played.streaming_content) == wav
    assert played["Cache-Control"] == "private, no-store"
    assert stream(client, call, token).status_code == 200  # the player's second request
    assert RecordingAccess.objects.count() == 1  # one consultation, however often fetched
    # The access log on the page shows it, with the user's name.
    log = client.get(detail(call)).content.decode().split('id="access-log"')[1]
    assert "Other (say which): Ticket 4711" in log and "agent-a" in log and "Playback" in log


def test_the_stream_refuses_without_a_logged_consultation(client, agent_a, admin_a, tenant_a, wav):
    call = with_media(CallFactory(tenant=tenant_a), wav)
    other_call = with_media(CallFactory(tenant=tenant_a), wav)
    client.force_login(agent_a)
    assert stream(client, call).status_code == 403
    assert stream(client, call, "forged:token").status_code == 403
    token = link_token(consult(client, call))
    transcript_token = link_token(consult(client, call, what="transcript"), "transcript")
    assert stream(client, call, transcript_token).status_code == 403  # logged for the text only
    assert stream(client, other_call, token).status_code == 403  # logged for another call
    client.force_login(admin_a)
    assert stream(client, call, token).status_code == 403  # logged by someone else
    client.force_login(agent_a)
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert stream(client, call, token).status_code == 403  # expired
    assert stream(client, call, token).status_code == 200
    assert RecordingAccess.objects.count() == 2


def test_choosing_no_purpose_logs_nothing_and_says_so_on_the_field(client, agent_a, tenant_a, wav):
    call = with_media(CallFactory(tenant=tenant_a), wav)
    client.force_login(agent_a)
    response = consult(client, call, purpose="")
    assert response.status_code == 200
    assert re.search(r'name="purpose"[^>]*aria-invalid="true"', response.content.decode())
    response = consult(client, call, purpose="other")
    assert "Say for what purpose you consult it." in response.content.decode()
    assert not RecordingAccess.objects.exists()
    assert "<audio" not in response.content.decode()


def test_the_transcript_is_shown_after_its_own_logged_consultation(client, agent_a, tenant_a, wav):
    call = with_media(CallFactory(tenant=tenant_a), wav, transcript="Ich möchte kündigen.")
    client.force_login(agent_a)
    assert "Ich möchte kündigen." not in client.get(detail(call)).content.decode()
    played = consult(client, call)
    # Sent from the page with the player: both links are kept.
    query = "?" + urlsplit(played["Location"]).query
    response = consult(client, call, what="transcript", purpose="complaint", query=query)
    assert parse_qs(urlsplit(response["Location"]).query).keys() == {"recording", "transcript"}
    page = client.get(response["Location"]).content.decode()
    assert "Ich möchte kündigen." in page and "<audio" in page
    transcript_access = RecordingAccess.objects.get(what="transcript")
    assert transcript_access.purpose == "Handling a complaint"
    assert transcript_access.how == "playback"
    assert RecordingAccess.objects.count() == 2


def test_a_restricted_call_cannot_be_played_and_says_why(client, agent_a, tenant_a, wav):
    call = with_media(CallFactory(tenant=tenant_a), wav)
    client.force_login(agent_a)
    token = link_token(consult(client, call))
    Call.objects.filter(pk=call.pk).update(is_restricted=True)
    page = client.get(f"{detail(call)}?recording={token}").content.decode()
    assert "This call cannot be played." in page and "Art. 18" in page
    assert "<audio" not in page and 'name="purpose"' not in page
    assert stream(client, call, token).status_code == 403  # restricted since it was logged
    response = consult(client, call)
    assert (
        response.status_code == 200 and "only the platform&#x27;s DPO" in response.content.decode()
    )
    assert RecordingAccess.objects.count() == 1


def test_a_call_without_media_says_so(client, agent_a, tenant_a):
    call = CallFactory(tenant=tenant_a)
    client.force_login(agent_a)
    page = client.get(detail(call)).content.decode()
    assert "This call has no recording and no transcript." in page
    response = consult(client, call)
    assert (
        response.status_code == 200 and "This call has no recording." in response.content.decode()
    )
    assert stream(client, call).status_code == 403


# --- roles ---------------------------------------------------------------------------------


def test_a_viewer_reads_but_cannot_consult_delete_or_change_rules(client, viewer_a, tenant_a, wav):
    call = with_media(CallFactory(tenant=tenant_a), wav)
    rule = RetentionRuleFactory(tenant=tenant_a, category="support")
    client.force_login(viewer_a)
    for url in (LIST, detail(call), RULES):
        assert client.get(url).status_code == 200, url
    page = client.get(detail(call)).content.decode()
    assert "Your role (viewer) does not allow playing recordings" in page
    assert 'name="purpose"' not in page and "/delete/" not in page
    assert "Add a rule" not in client.get(RULES).content.decode()
    for url in (
        f"{detail(call)}recording/",
        f"{detail(call)}delete/",
        f"{RULES}new/",
        f"{RULES}{rule.pk}/edit/",
        f"{RULES}{rule.pk}/delete/",
    ):
        assert client.get(url).status_code == 403, url
    posts = [
        (detail(call), {"what": "recording", "purpose": "quality_review"}),
        (f"{detail(call)}delete/", {"reason": "x"}),
        (LIST, {}),
        (RULES, {}),
        (f"{RULES}new/", {"category": "sales", "max_age_days": 30}),
        (f"{RULES}{rule.pk}/edit/", {"category": "support", "max_age_days": 1}),
        (f"{RULES}{rule.pk}/delete/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert Call.objects.filter(pk=call.pk).exists() and not RecordingAccess.objects.exists()
    assert RetentionRule.objects.get(pk=rule.pk).max_age_days == 365
    assert RetentionRule.objects.count() == 1


def test_an_agent_consults_but_only_admins_and_owners_delete_and_manage_rules(
    client, agent_a, admin_a, owner_a, tenant_a, wav
):
    call = with_media(CallFactory(tenant=tenant_a), wav)
    client.force_login(agent_a)
    assert consult(client, call).status_code == 302
    assert "/delete/" not in client.get(detail(call)).content.decode()
    assert client.get(f"{detail(call)}delete/").status_code == 403
    assert client.post(f"{detail(call)}delete/", {"reason": "x"}).status_code == 403
    assert client.get(f"{RULES}new/").status_code == 403
    for user in (admin_a, owner_a):
        client.force_login(user)
        assert f'href="{detail(call)}delete/"' in client.get(detail(call)).content.decode()
        assert client.get(f"{detail(call)}delete/").status_code == 200
        assert client.get(f"{RULES}new/").status_code == 200
        assert "Add a rule" in client.get(RULES).content.decode()


def test_another_tenants_call_and_rule_are_404_on_every_page(client, admin_a, tenant_b, wav):
    call = with_media(CallFactory(tenant=tenant_b), wav)
    rule = RetentionRuleFactory(tenant=tenant_b, category="support")
    client.force_login(admin_a)
    for method, url, data in [
        ("get", detail(call), {}),
        ("post", detail(call), {"what": "recording", "purpose": "quality_review"}),
        ("get", f"{detail(call)}recording/", {}),
        ("get", f"{detail(call)}delete/", {}),
        ("post", f"{detail(call)}delete/", {"reason": "mine now"}),
        ("get", f"{RULES}{rule.pk}/edit/", {}),
        ("post", f"{RULES}{rule.pk}/edit/", {"category": "support", "max_age_days": 1}),
        ("get", f"{RULES}{rule.pk}/delete/", {}),
        ("post", f"{RULES}{rule.pk}/delete/", {}),
    ]:
        assert getattr(client, method)(url, data).status_code == 404, (method, url)
    assert Call.objects.filter(pk=call.pk).exists() and not RecordingAccess.objects.exists()
    assert RetentionRule.objects.get(pk=rule.pk).max_age_days == 365
    assert call.pk not in listed(client)
    assert rule not in client.get(RULES).context["object_list"]


def test_the_isolation_suite_walks_every_calls_page():
    paths = {route.path for route in dashboard_routes() if route.id_kwarg}
    assert {
        "/dashboard/calls/<pk>/",
        "/dashboard/calls/<pk>/recording/",
        "/dashboard/calls/<pk>/delete/",
        "/dashboard/calls/retention-rules/<pk>/edit/",
        "/dashboard/calls/retention-rules/<pk>/delete/",
    } <= paths


# --- deleting a call -----------------------------------------------------------------------


def test_admin_deletes_a_call_with_a_reason_through_the_service(
    client, admin_a, tenant_a, wav, django_capture_on_commit_callbacks
):
    call = with_media(CallFactory(tenant=tenant_a, external_id="crm-1"), wav)
    client.force_login(admin_a)
    page = client.get(f"{detail(call)}delete/").content.decode()
    assert "Delete this call?" in page and 'name="reason"' in page
    response = client.post(f"{detail(call)}delete/", {"reason": "  "})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert Call.objects.filter(pk=call.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{detail(call)}delete/", {"reason": "Ticket 99: test call"})
    assert response.status_code == 302 and response["Location"] == LIST
    assert not Call.objects.filter(pk=call.pk).exists()
    assert not Recording.objects.exists() and not Transcript.objects.exists()
    last = Call.history.filter(id=call.pk).order_by("-history_id").first()
    assert (
        last.history_type == "-" and last.history_change_reason == "dashboard: Ticket 99: test call"
    )
    assert (
        "Deleted Call crm-1 with its recording and transcript." in client.get(LIST).content.decode()
    )


@pytest.mark.parametrize("blocked_by", ["min_age", "restricted"])
def test_a_refused_deletion_shows_the_reason_and_keeps_the_call(
    client, admin_a, tenant_a, complaint_rule, blocked_by
):
    call = CallFactory(
        tenant=tenant_a,
        category="complaint" if blocked_by == "min_age" else "support",
        is_restricted=blocked_by == "restricted",
    )
    expected = "must be kept 1825 days" if blocked_by == "min_age" else "restricted (Art. 18)"
    client.force_login(admin_a)
    confirm = client.get(f"{detail(call)}delete/").content.decode()
    assert "This call must be kept now" in confirm and expected in confirm
    response = client.post(f"{detail(call)}delete/", {"reason": "clean-up"}, follow=True)
    assert response.redirect_chain[-1][0] == detail(call)
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1 and messages[0].startswith("This call cannot be deleted now:")
    assert expected in messages[0]
    assert Call.objects.filter(pk=call.pk).exists()


# --- retention rules -----------------------------------------------------------------------


def test_admin_adds_edits_and_deletes_a_rule(client, admin_a, tenant_a):
    client.force_login(admin_a)
    assert "No retention rules yet" in client.get(RULES).content.decode()
    response = client.post(
        f"{RULES}new/",
        {
            "category": "complaint",
            "max_age_days": "2190",
            "min_age_days": "1825",
            "legal_ground": "art_17_3_e",
            "legal_reference": "§ 195 BGB",
        },
    )
    assert response.status_code == 302 and response["Location"] == RULES
    rule = RetentionRule.objects.get(tenant=tenant_a)
    assert (rule.category, rule.max_age_days, rule.min_age_days) == ("complaint", 2190, 1825)
    page = client.get(RULES).content.decode()
    assert "Retention rule for “complaint” added." in page
    assert "2190 days (about 6 years)" in page and "§ 195 BGB" in page

    edit = f"{RULES}{rule.pk}/edit/"
    assert 'value="2190"' in client.get(edit).content.decode()
    form = {
        "category": "complaint",
        "max_age_days": "2555",
        "min_age_days": "1825",
        "legal_ground": "art_17_3_e",
    }
    response = client.post(edit, {**form, "legal_reference": "§ 195 BGB"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.max_age_days == 2555
    client.post(edit, {**form, "legal_reference": "§ 195 BGB"})
    assert "Nothing changed." in client.get(RULES).content.decode()

    assert "Delete this retention rule?" in client.get(f"{RULES}{rule.pk}/delete/").content.decode()
    response = client.post(f"{RULES}{rule.pk}/delete/")
    assert response.status_code == 302 and not RetentionRule.objects.exists()


def field_errors(response, field: str) -> str:
    """The errors shown with ``field`` on the page."""
    page = response.content.decode()
    start = rf'<div class="field has-error">\s*<label for="id_{field}">'
    end = r'(?=<div class="field|<div class="actions")'
    match = re.search(rf"{start}.*?</div>\s*{end}", page, re.S)
    return match.group(0) if match else ""


@pytest.mark.parametrize(
    "data, field, message",
    [
        (
            {"category": "complaint", "min_age_days": "1825", "legal_ground": "art_17_3_e"},
            "legal_reference",
            "Name the law behind the minimum",
        ),
        (
            {"category": "complaint", "min_age_days": "1825", "legal_reference": "§ 195 BGB"},
            "legal_ground",
            "Name the Art. 17(3) ground behind the minimum",
        ),
        (
            {
                "category": "complaint",
                "max_age_days": "30",
                "min_age_days": "60",
                "legal_ground": "art_17_3_b",
                "legal_reference": "x",
            },
            "min_age_days",
            "The minimum cannot be longer than the maximum.",
        ),
        ({"category": "Complaints!", "max_age_days": "30"}, "category", "Use lower-case letters"),
        ({"category": "support", "max_age_days": "30"}, "category", "There is a rule for category"),
        ({"category": "sales", "max_age_days": "0"}, "max_age_days", "Keep calls at least one day"),
        ({"category": "sales", "max_age_days": "-3"}, "max_age_days", "greater than or equal to 0"),
    ],
)
def test_rule_errors_land_on_the_right_field(client, admin_a, tenant_a, data, field, message):
    RetentionRuleFactory(tenant=tenant_a, category="support")
    client.force_login(admin_a)
    response = client.post(f"{RULES}new/", data)
    assert response.status_code == 200
    assert message in field_errors(response, field), response.content.decode()
    assert RetentionRule.objects.count() == 1


def test_the_rules_page_shows_categories_without_a_rule(client, admin_a, tenant_a):
    RetentionRuleFactory(tenant=tenant_a, category="sales", max_age_days=90)
    CallFactory(tenant=tenant_a, category="sales")
    CallFactory(tenant=tenant_a, category="support")
    CallFactory(tenant=tenant_a, category="support")
    client.force_login(admin_a)
    page = client.get(RULES).content.decode()
    assert "Categories without a rule" in page
    assert "<code>support</code>: 2 calls" in page and "<code>sales</code>: " not in page
    assert "deleted after 365 days" in page
