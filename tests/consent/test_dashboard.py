"""The consent pages of the tenant dashboard: ledger, subject, recording by hand, withdrawal,
purposes, privacy notices, SMS notices and the overview panel."""

import re
from datetime import UTC, datetime, time, timedelta
from html import escape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consent import services
from consent.models import ConsentEvent, ConsentState, PrivacyNotice, Purpose, SmsNotice
from portal.sms import MemorySmsBackend
from tests.factories import (
    CallFactory,
    ConsentEventFactory,
    PrivacyNoticeFactory,
    ProcessingRestrictionFactory,
    PurposeFactory,
    SmsNoticeFactory,
)

pytestmark = pytest.mark.django_db

NUMBER = "+49301234567"  # 030 1234567 in Germany, tenant A's country


@pytest.fixture
def agent_a(member_factory, tenant_a):
    return member_factory(tenant_a, "agent", "agent-a")


@pytest.fixture
def give(tenant_a, purposes_a, notice_a):
    """``give(number, purpose, **changes)``: a consent through the service, as the API records."""

    def record(number=NUMBER, purpose="marketing", **changes):
        kwargs = {
            "tenant": tenant_a,
            "number": number,
            "purpose": purpose,
            "lawful_basis": "consent",
            "method": "ivr_keypress",
            "notice_version": notice_a.version,
            "occurred_at": timezone.now() - timedelta(hours=1),
            "source": "api",
            **changes,
        }
        return services.consent_give(**kwargs)

    return record


@pytest.fixture
def record_form(purposes_a, notice_a):
    """A valid giving by hand, as the form posts it; tests change one thing at a time."""
    return {
        "action": "given",
        "number": "030 1234567",
        "purpose": "marketing",
        "lawful_basis": "consent",
        "method": "verbal",
        "notice_version": notice_a.version,
        "evidence_call_id": "",
        "evidence_message_id": "",
        "evidence_document": "Letter of 3 March, ref. L-17",
        "occurred_at": "",
    }


def table(page: str) -> str:
    """The rows of the page's last table (menus and messages left out)."""
    return page.rsplit("<tbody>", 1)[1].split("</tbody>")[0] if "<tbody>" in page else ""


def check(number, purpose, api):
    return api.get("/api/v1/consent/check/", {"number": number, "purpose": purpose}).json()


def field_invalid(page: str, name: str) -> bool:
    return bool(re.search(rf'name="{name}"[^>]*aria-invalid="true"', page))


# --- ledger ---------------------------------------------------------------------------------


def test_ledger_lists_events_newest_first_and_links_subject_and_event(client, viewer_a, give):
    first = give(occurred_at=timezone.now() - timedelta(days=2))
    second = give(purpose="training")
    client.force_login(viewer_a)
    page = client.get("/dashboard/consent/").content.decode()
    rows = table(page)
    assert rows.index(f"/dashboard/consent/events/{second.pk}/") < rows.index(
        f"/dashboard/consent/events/{first.pk}/"
    )
    assert "/dashboard/consent/subject/?number=%2B49301234567" in rows
    assert "Record by hand" not in page  # a viewer reads only


@pytest.mark.parametrize("typed", ["030 1234567", "+49 (0)30 123 4567", "0049301234567"])
def test_ledger_finds_a_number_typed_in_another_format(client, viewer_a, give, typed):
    mine = give()
    other = give(number="+49301111111")
    client.force_login(viewer_a)
    rows = table(client.get("/dashboard/consent/", {"number": typed}).content.decode())
    assert f"/events/{mine.pk}/" in rows and f"/events/{other.pk}/" not in rows


def test_ledger_filters_by_purpose_action_method_basis_and_dates(client, viewer_a, tenant_a, give):
    now = timezone.now()
    old = give(occurred_at=now - timedelta(days=10))
    training = give(purpose="training", method="web_form", occurred_at=now - timedelta(days=3))
    withdrawn = services.consent_withdraw(
        tenant=tenant_a, number=NUMBER, purpose="marketing", method="verbal", source="api"
    )
    contract = give(purpose="service_delivery", lawful_basis="contract", method="contract_clause")
    client.force_login(viewer_a)

    def listed(**params):
        rows = table(client.get("/dashboard/consent/", params).content.decode())
        return {e.pk for e in (old, training, withdrawn, contract) if f"/events/{e.pk}/" in rows}

    assert listed(purpose="training") == {training.pk}
    assert listed(action="withdrawn") == {withdrawn.pk}
    assert listed(method="web_form") == {training.pk}
    assert listed(lawful_basis="contract") == {contract.pk}
    # Days are the tenant's (Berlin): "to" includes its whole day.
    week_ago = (timezone.localtime(now, tenant_a.tzinfo) - timedelta(days=7)).date()
    assert listed(occurred_from=week_ago.isoformat()) == {training.pk, withdrawn.pk, contract.pk}
    assert listed(occurred_to=week_ago.isoformat()) == {old.pk}
    day = timezone.localtime(training.occurred_at, tenant_a.tzinfo).date().isoformat()
    assert listed(occurred_from=day, occurred_to=day) == {training.pk}


def test_ledger_dates_are_the_tenants_days(client, viewer_a, give):
    utc_day = (timezone.now() - timedelta(days=3)).date()
    late = datetime.combine(utc_day, time(23, 30), tzinfo=UTC)  # the next day in Berlin
    event = give(occurred_at=late)
    client.force_login(viewer_a)

    def listed(day):
        params = {"occurred_from": day.isoformat(), "occurred_to": day.isoformat()}
        return f"/events/{event.pk}/" in table(
            client.get("/dashboard/consent/", params).content.decode()
        )

    assert not listed(utc_day)
    assert listed(utc_day + timedelta(days=1))


def test_ledger_with_an_unreadable_number_says_so_on_the_field(client, viewer_a, give):
    give()
    client.force_login(viewer_a)
    response = client.get("/dashboard/consent/", {"number": "call me"})
    assert response.status_code == 200
    page = response.content.decode()
    assert field_invalid(page, "number") and "not a phone number we can read" in page
    assert "Nothing matches these filters" in page


def test_empty_ledger_explains_how_consent_gets_recorded(client, viewer_a, agent_a):
    client.force_login(viewer_a)
    page = client.get("/dashboard/consent/").content.decode()
    assert "No consent recorded yet" in page and "POST /api/v1/consents/" in page
    assert "Record a consent by hand" not in page
    client.force_login(agent_a)
    page = client.get("/dashboard/consent/").content.decode()
    assert 'href="/dashboard/consent/record/"' in page


def test_ledger_event_page(client, viewer_a, give, tenant_a):
    call = CallFactory(tenant=tenant_a, caller=NUMBER)
    event = give(evidence={"call_id": call.pk, "document": "IVR log 7"})
    client.force_login(viewer_a)
    page = client.get(f"/dashboard/consent/events/{event.pk}/").content.decode()
    assert f"Call {call.pk}" in page and "IVR log 7" in page and "IVR key press" in page
    assert "/dashboard/consent/subject/?number=%2B49301234567" in page


# --- a subject's page -----------------------------------------------------------------------


def test_subject_page_gives_the_apis_check_answer_for_every_purpose(
    client, viewer_a, tenant_a, give, api_a
):
    give(purpose="marketing")
    give(purpose="training", occurred_at=timezone.now() - timedelta(days=2))
    services.consent_withdraw(
        tenant=tenant_a, number=NUMBER, purpose="training", method="verbal", source="api"
    )
    ProcessingRestrictionFactory(tenant=tenant_a, number=NUMBER, kind="objection")
    client.force_login(viewer_a)
    response = client.get("/dashboard/consent/subject/", {"number": "030 123 4567"})
    answers = {row["code"]: row["answer"] for row in response.context["answers"]}
    assert set(answers) == {
        "complaint_handling",
        "marketing",
        "quality_assurance",
        "service_delivery",
        "training",
    }
    for code, answer in answers.items():
        expected = check("0049 30 1234567", code, api_a)
        since = answer.since.isoformat().replace("+00:00", "Z") if answer.since else None
        assert {
            "allowed": answer.allowed,
            "basis": answer.basis,
            "since": since,
            "event": answer.event_id,
            "reason": answer.reason,
            "code": answer.code,
            "compelling_grounds": answer.compelling_grounds,
        } == expected, code
    page = response.content.decode()
    for code, answer in answers.items():
        row = page.split(f'data-purpose="{code}"')[1].split("</tr>")[0]
        assert ("badge-ok" in row) is answer.allowed, code
        assert escape(answer.reason) in row
    assert "Objection to legitimate-interest processing (Art. 21) in force" in page
    # The whole history of the number, both purposes.
    assert len(response.context["object_list"]) == 3


def test_subject_page_shows_a_restriction_and_keeps_withdrawal_possible(
    client, agent_a, tenant_a, give
):
    event = give()
    ProcessingRestrictionFactory(tenant=tenant_a, number=NUMBER, reason="Accuracy contested")
    client.force_login(agent_a)
    response = client.get("/dashboard/consent/subject/", {"number": NUMBER})
    page = response.content.decode()
    assert "Restriction of processing (Art. 18) in force" in page and "Accuracy contested" in page
    marketing = page.split('data-purpose="marketing"')[1].split("</tr>")[0]
    assert "not allowed" in marketing
    # Consent is on record: the subject may still withdraw it during the restriction.
    assert f"/dashboard/consent/events/{event.pk}/withdraw/" in marketing


def test_subject_page_with_an_unreadable_number(client, viewer_a):
    client.force_login(viewer_a)
    page = client.get("/dashboard/consent/subject/", {"number": "call me"}).content.decode()
    assert field_invalid(page, "number") and "History" not in page
    page = client.get("/dashboard/consent/subject/").content.decode()
    assert "Look up" in page and "History" not in page


def test_subject_page_lists_sms_notices_sent_to_the_number(client, viewer_a, tenant_a, give):
    sent = SmsNoticeFactory(tenant=tenant_a, number=NUMBER, message_id="msg-for-subject")
    SmsNoticeFactory(tenant=tenant_a, number="+49301111111", message_id="msg-for-other")
    client.force_login(viewer_a)
    page = client.get("/dashboard/consent/subject/", {"number": NUMBER}).content.decode()
    assert "msg-for-subject" in page and "msg-for-other" not in page
    assert f"/dashboard/consent/sms/{sent.pk}/" in page


# --- recording by hand ----------------------------------------------------------------------


def test_give_then_withdraw_by_hand_reach_the_ledger_and_the_check(
    client, agent_a, record_form, api_a
):
    client.force_login(agent_a)
    response = client.post("/dashboard/consent/record/", record_form, follow=True)
    page = response.content.decode()
    assert "Recorded in the ledger: +49301234567 gave consent for marketing." in page
    assert response.redirect_chain[-1][0] == "/dashboard/consent/subject/?number=%2B49301234567"
    given = ConsentEvent.objects.get()
    assert (given.source, given.recorded_by, given.action) == ("dashboard", agent_a, "given")
    assert given.evidence_document == "Letter of 3 March, ref. L-17"
    assert check(NUMBER, "marketing", api_a)["allowed"] is True
    listing = api_a.get("/api/v1/consents/", {"number": "030 1234567"}).json()["results"]
    assert listing[0]["source"] == "dashboard"
    assert listing[0]["recorded_by"] == "user:agent-a"

    withdrawal = {**record_form, "action": "withdrawn", "method": "web_form"}
    client.post("/dashboard/consent/record/", withdrawal)
    withdrawn = ConsentEvent.objects.latest("id")
    assert (withdrawn.action, withdrawn.source) == ("withdrawn", "dashboard")
    answer = check(NUMBER, "marketing", api_a)
    assert answer["allowed"] is False and answer["event"] == withdrawn.pk


def test_occurred_at_is_read_in_the_tenants_time_zone(client, agent_a, record_form, tenant_a):
    when = (timezone.now() - timedelta(days=2)).replace(second=0, microsecond=0)
    typed = timezone.localtime(when, tenant_a.tzinfo).strftime("%Y-%m-%dT%H:%M")  # Berlin
    assert typed != when.strftime("%Y-%m-%dT%H:%M")
    client.force_login(agent_a)
    client.post("/dashboard/consent/record/", {**record_form, "occurred_at": typed})
    assert ConsentEvent.objects.get().occurred_at == when


def test_record_form_is_prefilled_from_links(client, agent_a, notice_a, purposes_a):
    client.force_login(agent_a)
    form = client.get(
        "/dashboard/consent/record/", {"number": NUMBER, "method": "sms_notice"}
    ).context["form"]
    assert form.initial["number"] == NUMBER and form.initial["method"] == "sms_notice"
    assert form.initial["notice_version"] == notice_a.version  # the version in effect


@pytest.mark.parametrize(
    ("changes", "fields", "message"),
    [
        ({"method": ""}, ("method",), "implied consent"),
        ({"purpose": ""}, ("purpose",), "Name the purpose"),
        ({"notice_version": ""}, ("notice_version",), "Name the privacy-notice version"),
        ({"lawful_basis": ""}, ("lawful_basis",), "Name the lawful basis"),
        (
            {"lawful_basis": "legitimate_interests"},
            ("lawful_basis", "method"),
            "dress it up as consent",
        ),
        (
            {"lawful_basis": "consent", "method": "contract_clause"},
            ("lawful_basis", "method"),
            "does not establish a consent basis",
        ),
        ({"number": "call me"}, ("number",), "not a phone number we can read"),
        ({"occurred_at": "2999-01-01T10:00"}, ("occurred_at",), "in the future"),
        ({"evidence_call_id": "424242"}, ("evidence_call_id",), "No call 424242"),
        ({"action": "withdrawn"}, ("purpose",), "never gave consent"),
        ({"action": "withdrawn", "lawful_basis": "contract"}, ("lawful_basis",), "Art. 7(3)"),
    ],
    ids=lambda v: str(v)[:40] if isinstance(v, dict) else "",
)
def test_every_rule_error_is_shown_on_its_field_and_nothing_is_written(
    client, agent_a, record_form, changes, fields, message
):
    client.force_login(agent_a)
    response = client.post("/dashboard/consent/record/", {**record_form, **changes})
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == set(fields), form.errors
    assert all(message in " ".join(form.errors[name]) for name in fields)
    page = response.content.decode()
    assert all(field_invalid(page, name) for name in fields)
    assert not ConsentEvent.objects.exists() and not ConsentState.objects.exists()


def test_rules_that_need_data_are_shown_on_their_fields(
    client, agent_a, tenant_a, tenant_b, record_form, purposes_a
):
    purposes_a["training"].is_active = False
    purposes_a["training"].save()
    PrivacyNoticeFactory(
        tenant=tenant_a, version="9.0", effective_from=timezone.now() + timedelta(days=5)
    )
    foreign_call = CallFactory(tenant=tenant_b, caller=NUMBER)
    other_call = CallFactory(tenant=tenant_a, caller="+49301111111")
    SmsNoticeFactory(tenant=tenant_a, number="+49301111111", message_id="sent-elsewhere")
    client.force_login(agent_a)
    for changes, field, message in [
        ({"purpose": "training"}, "purpose", "deactivated"),
        ({"notice_version": "9.0"}, "notice_version", "took effect only"),
        ({"evidence_call_id": foreign_call.pk}, "evidence_call_id", "No call"),
        ({"evidence_call_id": other_call.pk}, "evidence_call_id", "not with this number"),
        ({"evidence_message_id": "sent-elsewhere"}, "evidence_message_id", "another number"),
    ]:
        response = client.post("/dashboard/consent/record/", {**record_form, **changes})
        errors = response.context["form"].errors
        assert set(errors) == {field} and message in errors[field][0], (changes, errors)
    assert not ConsentEvent.objects.exists()


def test_withdraw_button_asks_then_withdraws_with_the_consent_methods(client, agent_a, give, api_a):
    given = give()
    client.force_login(agent_a)
    subject = client.get("/dashboard/consent/subject/", {"number": NUMBER}).content.decode()
    url = f"/dashboard/consent/events/{given.pk}/withdraw/"
    assert url in subject
    page = client.get(url).content.decode()
    assert "Withdraw this consent?" in page and "+49301234567 — marketing" in page
    methods = re.findall(r'<option value="(\w+)"', page)
    assert set(methods) == {"ivr_keypress", "verbal", "web_form", "signed_document", "sms_notice"}
    assert not ConsentEvent.objects.filter(action="withdrawn").exists()  # GET writes nothing

    before = timezone.now()
    response = client.post(url, {"method": "verbal", "occurred_at": ""}, follow=True)
    assert "Consent withdrawn: +49301234567 for marketing." in response.content.decode()
    withdrawn = ConsentEvent.objects.get(action="withdrawn")
    assert (withdrawn.source, withdrawn.recorded_by, withdrawn.method) == (
        "dashboard",
        agent_a,
        "verbal",
    )
    assert withdrawn.occurred_at >= before  # now, by default
    assert check(NUMBER, "marketing", api_a)["allowed"] is False
    subject = response.content.decode()
    assert url not in subject  # nothing left to withdraw

    response = client.post(url, {"method": "verbal"}, follow=True)  # a second click
    assert "nothing was recorded" in response.content.decode()
    assert ConsentEvent.objects.filter(action="withdrawn").count() == 1


def test_withdraw_button_only_for_consent(client, agent_a, give):
    contract = give(purpose="service_delivery", lawful_basis="contract", method="contract_clause")
    client.force_login(agent_a)
    subject = client.get("/dashboard/consent/subject/", {"number": NUMBER}).content.decode()
    assert "/withdraw/" not in subject
    url = f"/dashboard/consent/events/{contract.pk}/withdraw/"
    response = client.post(url, {"method": "verbal"}, follow=True)
    assert "not a consent given" in response.content.decode()
    assert ConsentEvent.objects.count() == 1


def test_withdrawal_time_cannot_be_in_the_future(client, agent_a, give):
    given = give()
    client.force_login(agent_a)
    response = client.post(
        f"/dashboard/consent/events/{given.pk}/withdraw/",
        {"method": "verbal", "occurred_at": "2999-01-01T10:00"},
    )
    assert response.status_code == 200
    assert "in the future" in response.context["form"].errors["occurred_at"][0]
    assert ConsentEvent.objects.count() == 1


# --- roles and tenants ----------------------------------------------------------------------


def test_viewer_reads_every_page_but_changes_nothing(
    client, viewer_a, tenant_a, give, record_form, notice_a
):
    event = give()
    purpose = Purpose.objects.get(tenant=tenant_a, code="training")
    sent = SmsNoticeFactory(tenant=tenant_a, number=NUMBER, purpose=purpose, notice=notice_a)
    client.force_login(viewer_a)
    for url in [
        "/dashboard/consent/",
        f"/dashboard/consent/events/{event.pk}/",
        f"/dashboard/consent/subject/?number=%2B{NUMBER[1:]}",
        "/dashboard/consent/purposes/",
        f"/dashboard/consent/purposes/{purpose.pk}/",
        "/dashboard/consent/notices/",
        f"/dashboard/consent/notices/{notice_a.pk}/",
        f"/dashboard/consent/sms/{sent.pk}/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert "/withdraw/" not in page and "/record/" not in page, url
        assert "/edit/" not in page and "/delete/" not in page, url
    for url, data in [
        ("/dashboard/consent/record/", record_form),
        (f"/dashboard/consent/events/{event.pk}/withdraw/", {"method": "verbal"}),
        ("/dashboard/consent/sms/", {"number": NUMBER, "purpose": "marketing"}),
        ("/dashboard/consent/purposes/new/", {"code": "x", "description": "x"}),
        (f"/dashboard/consent/purposes/{purpose.pk}/edit/", {"description": "taken"}),
        (f"/dashboard/consent/purposes/{purpose.pk}/activation/", {}),
        (f"/dashboard/consent/purposes/{purpose.pk}/delete/", {}),
        ("/dashboard/consent/notices/new/", {"version": "3", "url": "https://x.example"}),
        (f"/dashboard/consent/notices/{notice_a.pk}/edit/", {"version": "3"}),
        (f"/dashboard/consent/notices/{notice_a.pk}/delete/", {}),
    ]:
        assert client.post(url, data).status_code == 403, url
        assert client.get(url).status_code == 403, url  # no form they could not send
    assert ConsentEvent.objects.count() == 1 and not SmsNotice.objects.exclude(pk=sent.pk).exists()
    assert Purpose.objects.get(pk=purpose.pk).is_active
    assert Purpose.objects.filter(tenant=tenant_a).count() == 5
    assert PrivacyNotice.objects.get(pk=notice_a.pk).version == notice_a.version


def test_agents_record_but_do_not_define_purposes_or_notices(client, agent_a, purposes_a):
    client.force_login(agent_a)
    assert client.get("/dashboard/consent/record/").status_code == 200
    assert client.get("/dashboard/consent/sms/").status_code == 200
    assert client.get("/dashboard/consent/purposes/new/").status_code == 403
    assert client.get("/dashboard/consent/notices/new/").status_code == 403
    pk = purposes_a["marketing"].pk
    assert client.post(f"/dashboard/consent/purposes/{pk}/activation/").status_code == 403
    assert Purpose.objects.get(pk=pk).is_active


def test_another_tenants_objects_are_404(client, admin_a, tenant_b, purposes_a):
    event = ConsentEventFactory(tenant=tenant_b, number="+353861234567")
    purpose, notice = event.purpose, event.notice
    sent = SmsNoticeFactory(tenant=tenant_b)
    client.force_login(admin_a)
    for url in [
        f"/dashboard/consent/events/{event.pk}/",
        f"/dashboard/consent/events/{event.pk}/withdraw/",
        f"/dashboard/consent/purposes/{purpose.pk}/",
        f"/dashboard/consent/purposes/{purpose.pk}/edit/",
        f"/dashboard/consent/purposes/{purpose.pk}/activation/",
        f"/dashboard/consent/purposes/{purpose.pk}/delete/",
        f"/dashboard/consent/notices/{notice.pk}/",
        f"/dashboard/consent/notices/{notice.pk}/edit/",
        f"/dashboard/consent/notices/{notice.pk}/delete/",
        f"/dashboard/consent/sms/{sent.pk}/",
    ]:
        assert client.get(url).status_code == 404, url
        if "/sms/" not in url and url.count("/") > 6:
            assert client.post(url, {"method": "verbal", "description": "x"}).status_code == 404
    assert ConsentEvent.objects.filter(tenant=tenant_b).count() == 1
    assert Purpose.objects.filter(pk=purpose.pk, is_active=True).exists()
    # Lists and lookups do not show them either.
    assert event.number not in client.get("/dashboard/consent/").content.decode()
    page = client.get("/dashboard/consent/subject/", {"number": "+353861234567"})
    assert page.context["object_list"] == [] and purpose.code not in page.content.decode()
    assert purpose.code not in client.get("/dashboard/consent/purposes/").content.decode()


def test_the_isolation_suite_finds_the_consent_pages():
    from tests.isolation import dashboard_routes, route_model

    routes = {r.path: route_model(r) for r in dashboard_routes() if r.id_kwarg}
    assert routes["/dashboard/consent/events/<pk>/"] is ConsentEvent
    assert routes["/dashboard/consent/events/<pk>/withdraw/"] is ConsentEvent
    assert routes["/dashboard/consent/purposes/<pk>/edit/"] is Purpose
    assert routes["/dashboard/consent/notices/<pk>/edit/"] is PrivacyNotice
    assert routes["/dashboard/consent/sms/<pk>/"] is SmsNotice


# --- purposes -------------------------------------------------------------------------------


def test_admin_defines_edits_deactivates_and_reactivates_a_purpose(
    client, admin_a, tenant_a, api_a, notice_a
):
    client.force_login(admin_a)
    response = client.post(
        "/dashboard/consent/purposes/new/",
        {
            "code": "Fraud_Prevention",
            "description": "Spotting fraudulent callers.",
            "default_lawful_basis": "legitimate_interests",
        },
        follow=True,
    )
    assert "Purpose fraud_prevention defined." in response.content.decode()
    purpose = Purpose.objects.get(tenant=tenant_a, code="fraud_prevention")
    assert check(NUMBER, "fraud_prevention", api_a)["allowed"] is True  # default basis

    url = f"/dashboard/consent/purposes/{purpose.pk}/"
    client.post(
        f"{url}edit/",
        {"description": "Detecting fraud on calls.", "default_lawful_basis": "consent"},
    )
    purpose.refresh_from_db()
    assert (purpose.code, purpose.description) == ("fraud_prevention", "Detecting fraud on calls.")
    assert check(NUMBER, "fraud_prevention", api_a)["allowed"] is False  # consent now needed

    page = client.get(f"{url}activation/").content.decode()
    assert "Deactivate this purpose?" in page
    response = client.post(f"{url}activation/", follow=True)
    assert "Purpose fraud_prevention deactivated." in response.content.decode()
    assert Purpose.objects.get(pk=purpose.pk).is_active is False
    assert "deactivated" in check(NUMBER, "fraud_prevention", api_a)["reason"]
    assert "Reactivate this purpose?" in client.get(f"{url}activation/").content.decode()
    client.post(f"{url}activation/")
    assert Purpose.objects.get(pk=purpose.pk).is_active is True


@pytest.mark.parametrize("code", ["all", "*", "Any", "misc", "all-purposes"])
def test_a_catch_all_purpose_is_refused_with_the_services_message(client, admin_a, code):
    client.force_login(admin_a)
    response = client.post(
        "/dashboard/consent/purposes/new/",
        {"code": code, "description": "Everything", "default_lawful_basis": "consent"},
    )
    assert response.status_code == 200
    assert (
        "is a catch-all: a purpose must be specific" in response.context["form"].errors["code"][0]
    )
    assert field_invalid(response.content.decode(), "code")
    assert not Purpose.objects.exists()


def test_purpose_without_description_or_duplicate_is_refused(client, admin_a, purposes_a):
    client.force_login(admin_a)
    errors = (
        client.post(
            "/dashboard/consent/purposes/new/",
            {"code": "marketing", "description": "Again", "default_lawful_basis": "consent"},
        )
        .context["form"]
        .errors
    )
    assert "exists already" in errors["code"][0]
    errors = (
        client.post(
            "/dashboard/consent/purposes/new/",
            {"code": "surveys", "description": " ", "default_lawful_basis": "consent"},
        )
        .context["form"]
        .errors
    )
    assert "plain words" in errors["description"][0]
    assert Purpose.objects.count() == 5


def test_only_an_unused_purpose_can_be_deleted(client, admin_a, tenant_a, give, purposes_a):
    give(purpose="marketing")
    unused = purposes_a["training"]
    used = purposes_a["marketing"]
    client.force_login(admin_a)
    page = client.get(f"/dashboard/consent/purposes/{used.pk}/").content.decode()
    assert "/delete/" not in page and "cannot be deleted" in page
    response = client.post(f"/dashboard/consent/purposes/{used.pk}/delete/", follow=True)
    assert "cannot be deleted: deactivate it instead" in response.content.decode()
    assert Purpose.objects.filter(pk=used.pk).exists()

    page = client.get(f"/dashboard/consent/purposes/{unused.pk}/").content.decode()
    assert f"/dashboard/consent/purposes/{unused.pk}/delete/" in page
    response = client.post(f"/dashboard/consent/purposes/{unused.pk}/delete/", follow=True)
    assert "Purpose training deleted." in response.content.decode()
    assert not Purpose.objects.filter(pk=unused.pk).exists()


def test_empty_purposes_page_says_what_to_do(client, admin_a, viewer_a):
    client.force_login(viewer_a)
    page = client.get("/dashboard/consent/purposes/").content.decode()
    assert "No purposes yet" in page and "/purposes/new/" not in page
    client.force_login(admin_a)
    assert "/purposes/new/" in client.get("/dashboard/consent/purposes/").content.decode()


# --- privacy notices ------------------------------------------------------------------------


def test_admin_publishes_and_corrects_a_notice_not_yet_shown(client, admin_a, tenant_a):
    client.force_login(admin_a)
    response = client.post(
        "/dashboard/consent/notices/new/",
        {
            "version": "3.0",
            "url": "https://privacy.example.com/v3",
            "effective_from": "2025-01-01T00:00",
            "text": "We record calls.",
        },
        follow=True,
    )
    assert "Privacy notice v3.0 published." in response.content.decode()
    notice = PrivacyNotice.objects.get(tenant=tenant_a)
    assert notice.effective_from.isoformat() == "2024-12-31T23:00:00+00:00"  # Berlin time
    assert len(notice.text_sha256) == 64

    edit = f"/dashboard/consent/notices/{notice.pk}/edit/"
    page = client.get(edit).content.decode()
    assert 'value="2025-01-01T00:00"' in page
    client.post(
        edit,
        {
            "version": "3.0",
            "url": "https://privacy.example.com/v3.0",
            "effective_from": "2025-01-01T00:00",
            "text": "We record calls.",
        },
    )
    assert PrivacyNotice.objects.get(pk=notice.pk).url == "https://privacy.example.com/v3.0"

    errors = (
        client.post(
            "/dashboard/consent/notices/new/",
            {"version": "3.0", "url": "https://x.example", "effective_from": "2025-02-01T00:00"},
        )
        .context["form"]
        .errors
    )
    assert "exists already" in errors["version"][0]
    errors = (
        client.post(
            "/dashboard/consent/notices/new/",
            {
                "version": "4.0",
                "url": "https://x.example",
                "effective_from": "2025-02-01T00:00",
                "text": "abc",
                "text_sha256": "0" * 64,
            },
        )
        .context["form"]
        .errors
    )
    assert "not the SHA-256 of the text" in errors["text_sha256"][0]
    assert PrivacyNotice.objects.count() == 1


def test_a_notice_shown_to_subjects_cannot_be_edited_or_deleted(client, admin_a, give, notice_a):
    give()
    client.force_login(admin_a)
    page = client.get(f"/dashboard/consent/notices/{notice_a.pk}/").content.decode()
    assert "was shown to subjects" in page and "/edit/" not in page and "/delete/" not in page
    edit = f"/dashboard/consent/notices/{notice_a.pk}/edit/"
    assert "cannot be changed" in client.get(edit).content.decode()
    response = client.post(
        edit,
        {
            "version": notice_a.version,
            "url": "https://evil.example",
            "effective_from": "2020-01-01T00:00",
        },
    )
    assert "cannot be changed" in response.context["form"].non_field_errors()[0]
    response = client.post(f"/dashboard/consent/notices/{notice_a.pk}/delete/", follow=True)
    assert "cannot be deleted" in response.content.decode()
    assert PrivacyNotice.objects.get(pk=notice_a.pk).url == notice_a.url


def test_notice_list_marks_the_version_in_effect(client, viewer_a, tenant_a):
    now = timezone.now()
    PrivacyNoticeFactory(tenant=tenant_a, version="1.0", effective_from=now - timedelta(days=60))
    PrivacyNoticeFactory(tenant=tenant_a, version="2.0", effective_from=now - timedelta(days=6))
    PrivacyNoticeFactory(tenant=tenant_a, version="3.0", effective_from=now + timedelta(days=6))
    client.force_login(viewer_a)
    rows = table(client.get("/dashboard/consent/notices/").content.decode()).split("</tr>")
    states = {
        version: re.search(r'class="badge badge-\w+">([^<]+)<', row).group(1)
        for row in rows
        for version in ("1.0", "2.0", "3.0")
        if f">{version}<" in row
    }
    assert states == {"1.0": "superseded", "2.0": "in effect", "3.0": "not yet in effect"}


# --- SMS consent notices --------------------------------------------------------------------


def test_agent_sends_an_sms_notice_once_and_records_the_answer(
    client, agent_a, purposes_a, notice_a, api_a
):
    MemorySmsBackend.outbox.clear()
    client.force_login(agent_a)
    form = client.get("/dashboard/consent/sms/", {"number": "0151 23456789"}).content.decode()
    token = re.search(r'name="once" value="([^"]+)"', form).group(1)
    data = {"number": "0151 23456789", "purpose": "marketing", "notice_version": "", "once": token}
    response = client.post("/dashboard/consent/sms/", data, follow=True)
    [message] = MemorySmsBackend.outbox
    sent = SmsNotice.objects.get()
    assert response.redirect_chain[-1][0] == f"/dashboard/consent/sms/{sent.pk}/"
    page = response.content.decode()
    assert message["id"] in page and sent.message_id == message["id"]
    assert "No consent has been recorded" in page and not ConsentEvent.objects.exists()

    client.post("/dashboard/consent/sms/", data)  # sent again (reload, double click)
    assert len(MemorySmsBackend.outbox) == 1 and SmsNotice.objects.count() == 1

    record = response.context["record_url"]
    initial = client.get(record).context["form"].initial
    assert initial["method"] == "sms_notice" and initial["evidence_message_id"] == sent.message_id
    client.post(
        "/dashboard/consent/record/",
        {
            **{k: initial.get(k, "") for k in ("number", "purpose", "lawful_basis", "method")},
            "action": "given",
            "notice_version": initial["notice_version"],
            "evidence_message_id": initial["evidence_message_id"],
        },
    )
    event = ConsentEvent.objects.get()
    assert event.evidence_message_id == sent.message_id and event.method == "sms_notice"
    assert check("+4915123456789", "marketing", api_a)["allowed"] is True


def test_sms_notice_errors_are_shown_on_the_form(client, agent_a, tenant_a, purposes_a):
    MemorySmsBackend.outbox.clear()
    client.force_login(agent_a)
    token = client.get("/dashboard/consent/sms/").context["form"].initial["once"]
    response = client.post(
        "/dashboard/consent/sms/",
        {"number": "0151 23456789", "purpose": "marketing", "once": token},
    )
    assert "Publish a privacy notice first" in response.context["form"].errors["notice_version"][0]
    # The token survived the refusal: the corrected form can be sent.
    PrivacyNoticeFactory(tenant=tenant_a, version="1.0")
    response = client.post(
        "/dashboard/consent/sms/",
        {"number": "0151 23456789", "purpose": "marketing", "once": token},
    )
    assert response.status_code == 302 and len(MemorySmsBackend.outbox) == 1


# --- overview and menu ----------------------------------------------------------------------


def test_overview_shows_the_consent_rate_per_purpose(client, viewer_a, tenant_a, give):
    give(number="+49301000001")
    give(number="+49301000002")
    give(number="+49301000003")
    services.consent_withdraw(
        tenant=tenant_a, number="+49301000003", purpose="marketing", method="verbal", source="api"
    )
    give(number="+49301000004", purpose="training")
    ProcessingRestrictionFactory(tenant=tenant_a, number="+49301000004")
    client.force_login(viewer_a)
    page = client.get("/dashboard/").content.decode()
    assert 'id="panel-consent-rate">Consent rate per purpose<' in page
    assert re.search(r"marketing \(2 of 3\)</td><td>66.7%</td>", page)
    assert re.search(r"training \(0 of 1\)</td><td>0%</td>", page)  # restricted: not allowed
    assert "Nothing recorded yet for complaint_handling, quality_assurance, service_delivery" in (
        page
    )


def test_overview_panel_says_what_to_do_without_data(client, viewer_a, tenant_a):
    client.force_login(viewer_a)
    assert "No purposes defined" in client.get("/dashboard/").content.decode()
    PurposeFactory(tenant=tenant_a, code="marketing")
    assert "No consent recorded yet" in client.get("/dashboard/").content.decode()


def test_menu_has_the_consent_section(client, viewer_a):
    client.force_login(viewer_a)
    page = client.get("/dashboard/consent/purposes/").content.decode()
    nav = page.split('class="sidebar"')[1].split("</nav>")[0]
    assert '<h2 class="nav-section">Consent</h2>' in nav
    labels = re.findall(r'<a href="/dashboard/consent/[^"]*"[^>]*>([^<]+)</a>', nav)
    assert labels == ["Ledger", "Subject lookup", "Purposes", "Notices"]
    assert 'href="/dashboard/consent/purposes/" aria-current="page"' in nav


# --- pages stay cheap -----------------------------------------------------------------------


def _queries(client, url, params=None) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/dashboard/consent/", {}),
        ("/dashboard/consent/", {"number": "030 1234567", "purpose": "marketing"}),
        ("/dashboard/consent/subject/", {"number": "030 1234567"}),
        ("/dashboard/consent/purposes/", {}),
        ("/dashboard/consent/notices/", {}),
        ("/dashboard/", {}),
    ],
)
def test_pages_cost_the_same_queries_for_3_or_30_events(
    client, admin_a, tenant_a, give, url, params
):
    def add(n):
        for i in range(n):
            give(purpose="marketing" if i % 2 else "training")
            PrivacyNoticeFactory(tenant=tenant_a)
            PurposeFactory(tenant=tenant_a)

    client.force_login(admin_a)
    add(3)
    few = len(_queries(client, url, params))
    add(27)
    assert len(_queries(client, url, params)) == few


def test_ledger_pages_without_counting_the_table(client, admin_a, give, monkeypatch):
    from consent.views.ledger import LedgerView

    for _ in range(55):
        give()
    client.force_login(admin_a)
    queries = _queries(client, "/dashboard/consent/")
    counts = [q for q in queries if "COUNT(" in q.upper()]
    assert counts and all("LIMIT" in q.upper() for q in counts), counts
    page = client.get("/dashboard/consent/").content.decode()
    assert "1–50 of 55" in page and 'rel="next" href="?page=2"' in page
    monkeypatch.setattr(LedgerView, "count_cap", 20)
    assert "1–50 of more than 20" in client.get("/dashboard/consent/").content.decode()


def test_subject_answers_for_all_purposes_in_one_query(tenant_a, give, api_a):
    from consent.selectors import consent_check, consent_check_all

    give()
    with CaptureQueriesContext(connection) as captured:
        answers = consent_check_all(tenant_a, "030 1234567")
    assert len(captured) == 1
    for row in answers:
        assert row.answer == consent_check(tenant_a, NUMBER, row.code)
