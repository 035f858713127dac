"""The tenant dashboard's requests: open, list with due badges, request page, confirm, package."""

import io
import re
import zipfile
import zoneinfo
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dsr import services
from dsr.models import AccessPackage, DataSubjectRequest, PackageDownload
from dsr.services import packages
from dsr.tasks import package_expire_due
from dsr.views import RequestListView
from tests.conftest import make_member
from tests.dsr.conftest import SUBJECT, SUBJECT_2
from tests.factories import CallFactory, DataSubjectRequestFactory
from tests.isolation import dashboard_routes, route_model

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
LIST = "/dashboard/requests/"
NEW = "/dashboard/requests/new/"
# A Monday morning: every deadline below is counted from here.
NOW = datetime(2025, 6, 2, 10, 0, tzinfo=BERLIN)


def detail_url(obj) -> str:
    return f"{LIST}{obj.pk}/"


def confirm_url(obj) -> str:
    return f"{LIST}{obj.pk}/confirm/"


def package_url(obj) -> str:
    return f"{LIST}{obj.pk}/package/"


def table(page: str) -> str:
    return page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""


def row_of(page: str, obj) -> str:
    rows = [r for r in table(page).split("<tr>") if f'href="{detail_url(obj)}"' in r]
    assert len(rows) == 1, f"request #{obj.pk} is not listed once"
    return rows[0]


def form_errors(response) -> dict:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


@pytest.fixture
def agent_a(tenant_a):
    return make_member(tenant_a, "agent", "agent-a")


def verify_and_approve(request, dpo):
    services.request_verify(request=request, by=dpo, method="callback")
    return services.request_approve(request=request, by=dpo)


# --- opening a request -----------------------------------------------------------------------


def open_request(client, **data):
    """GET the form (its one-time token), then POST it."""
    token = client.get(NEW).context["form"]["once"].value()
    return client.post(NEW, {"once": token, **data})


def test_an_agent_opens_a_request_with_numbers_in_national_formats(client, agent_a, tenant_a):
    with time_machine.travel(datetime(2024, 3, 20, 12, 0, tzinfo=BERLIN), tick=False):
        client.force_login(agent_a)
        form = client.get(NEW)
        assert form.status_code == 200
        page = form.content.decode()
        assert "read as a number of DE" in page and 'type="datetime-local"' in page
        assert 'max="2024-03-20T12:00"' in page  # no receipt in the future
        response = open_request(
            client,
            kind="access",
            numbers="0151 12345678\n\n  +49 (176) 1234-5678 \n0151/12345678",
            name="Erika Mustermann",
            email="erika@example.com",
            details="A copy of my calls, please.",
            received_at="2024-03-05T09:30",  # by letter, two weeks ago, Berlin time
        )
        created = DataSubjectRequest.objects.get()
        assert response.status_code == 302 and response["Location"] == detail_url(created)
        page = client.get(response["Location"]).content.decode()
    assert created.channel == "dashboard" and created.kind == "access"
    assert created.numbers == [SUBJECT, SUBJECT_2]  # normalised in DE, duplicates merged
    assert created.opened_by == agent_a and created.confirmed_by == agent_a
    assert created.received_at == datetime(2024, 3, 5, 9, 30, tzinfo=BERLIN)
    assert created.due_at.astimezone(BERLIN).date().isoformat() == "2024-04-05"
    assert f"Request #{created.pk} (Access (Art. 15)) opened. It is due 5 April 2024" in page
    assert "Friday 5 April 2024" in page
    assert f"<code>{SUBJECT}</code>, <code>{SUBJECT_2}</code>" in page
    assert [e.action for e in created.events.all()] == ["opened", "confirmed"]
    assert all(e.user == agent_a for e in created.events.all())
    assert created.history.last().history_user == agent_a


def test_a_bad_number_is_named_by_its_line_and_nothing_is_written(client, agent_a):
    client.force_login(agent_a)
    response = open_request(
        client, kind="erasure", numbers=f"{SUBJECT}\nabc\n\n1234567890123456789"
    )
    assert response.status_code == 200
    errors = form_errors(response)["numbers"]
    assert len(errors) == 2
    assert errors[0].startswith("Line 2: 'abc' is not a phone number")
    assert errors[1].startswith("Line 4: '1234567890123456789' is not")
    page = response.content.decode()
    assert "Line 2: &#x27;abc&#x27;" in page and 'aria-invalid="true"' in page
    assert f"{SUBJECT}\nabc\n\n1234567890123456789" in page  # kept, for correcting
    assert not DataSubjectRequest.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"numbers": SUBJECT}, "kind", "Choose what the caller asks for."),
        ({"kind": "access", "numbers": " \n "}, "numbers", "Give at least one phone number"),
        ({"kind": "access", "numbers": "\n".join(["0151 1234567"] * 21)}, "numbers", "At most 20"),
        ({"kind": "access", "numbers": SUBJECT, "email": "nope"}, "email", "valid email"),
        ({"kind": "access", "numbers": SUBJECT, "received_at": "soon"}, "received_at", "e.g."),
    ],
)
def test_bad_input_is_refused_on_its_field(client, agent_a, data, field, message):
    client.force_login(agent_a)
    response = open_request(client, **data)
    assert response.status_code == 200
    assert any(message in error for error in form_errors(response)[field]), form_errors(response)
    assert not DataSubjectRequest.objects.exists()


def test_a_receipt_in_the_future_is_refused_and_the_corrected_form_goes_through(client, agent_a):
    with time_machine.travel(NOW, tick=False):
        client.force_login(agent_a)
        token = client.get(NEW).context["form"]["once"].value()
        data = {"once": token, "kind": "objection", "numbers": SUBJECT}
        response = client.post(NEW, {**data, "received_at": "2025-06-03T09:00"})
        assert response.status_code == 200
        assert form_errors(response)["received_at"] == [
            "received_at is in the future: give the time the request actually reached you."
        ]
        assert not DataSubjectRequest.objects.exists()
        # The same form, corrected: the one-time token was given back.
        response = client.post(NEW, {**data, "received_at": "2025-06-01T18:00"})
        assert response.status_code == 302
    created = DataSubjectRequest.objects.get()
    assert created.received_at == datetime(2025, 6, 1, 18, 0, tzinfo=BERLIN)


def test_a_form_sent_twice_opens_one_request(client, agent_a):
    client.force_login(agent_a)
    token = client.get(NEW).context["form"]["once"].value()
    data = {"once": token, "kind": "access", "numbers": SUBJECT}
    assert client.post(NEW, data).status_code == 302
    again = client.post(NEW, data, follow=True)
    assert "opened once, not twice" in again.content.decode()
    assert DataSubjectRequest.objects.count() == 1


# --- the list --------------------------------------------------------------------------------


@pytest.fixture
def requests_on_the_clock(tenant_a, dpo_user):
    """Requests in every state a list must tell apart, as of NOW."""
    with time_machine.travel(NOW, tick=False):
        made = {
            "fresh": DataSubjectRequestFactory(tenant=tenant_a),
            "soon": DataSubjectRequestFactory(
                tenant=tenant_a, kind="erasure", received_at=datetime(2025, 5, 6, tzinfo=BERLIN)
            ),
            "late": DataSubjectRequestFactory(
                tenant=tenant_a,
                kind="rectification",
                numbers=["+4917699999999"],
                received_at=datetime(2025, 4, 10, 11, 0, tzinfo=BERLIN),
            ),
            "closed": DataSubjectRequestFactory(
                tenant=tenant_a, kind="objection", received_at=datetime(2025, 4, 10, tzinfo=BERLIN)
            ),
            "extended": DataSubjectRequestFactory(
                tenant=tenant_a, received_at=datetime(2025, 5, 20, tzinfo=BERLIN)
            ),
            "paused": DataSubjectRequestFactory(
                tenant=tenant_a, received_at=datetime(2025, 4, 20, tzinfo=BERLIN)
            ),
            "forwarded": DataSubjectRequestFactory(
                tenant=tenant_a, channel="direct_to_processor", by=dpo_user
            ),
        }
        verify_and_approve(made["closed"], dpo_user)
        services.request_extend(
            request=made["extended"], by=dpo_user, reason="Many recordings.", months=3
        )
        services.request_start_verification(
            request=made["paused"], by=dpo_user, pause_reason="Asked for the call dates."
        )
    return made


def test_the_list_shows_due_badges_overdue_in_red(client, viewer_a, requests_on_the_clock):
    r = requests_on_the_clock
    with time_machine.travel(NOW, tick=False):
        client.force_login(viewer_a)
        response = client.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    late = row_of(page, r["late"])
    assert "badge-danger" in late and "overdue by 21 days" in late  # due Mon 12 May
    assert 'datetime="2025-05-12"' in late
    soon = row_of(page, r["soon"])
    assert "badge-warning" in soon and "due in 4 days" in soon  # due Fri 6 June
    fresh = row_of(page, r["fresh"])
    assert "badge-info" in fresh and "due 2 Jul 2025" in fresh
    extended = row_of(page, r["extended"])
    assert "due 20 Aug 2025" in extended and "extended" in extended
    paused = row_of(page, r["paused"])
    assert "clock paused" in paused and "badge-danger" not in paused
    closed = row_of(page, r["closed"])
    assert "closed 2 Jun 2025" in closed and "badge" not in closed.split("Completed")[1]
    assert "to confirm" in row_of(page, r["forwarded"])
    assert f"Erika Mustermann ({SUBJECT})" in fresh and "Rectification (Art. 16)" in late
    # Open requests first, nearest deadline first; closed ones last.
    listed = list(response.context["object_list"])
    # (A paused clock keeps its date until it restarts.)
    assert listed[:3] == [r["late"], r["paused"], r["soon"]] and listed[-1] == r["closed"]
    assert 'aria-current="page">Requests' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=open", {"fresh", "soon", "late", "extended", "paused", "forwarded"}),
        ("status=closed", {"closed"}),
        ("status=completed", {"closed"}),
        ("status=verifying", {"paused"}),
        ("status=to_confirm", {"forwarded"}),
        ("kind=erasure", {"soon"}),
        ("deadline=overdue", {"late"}),
        ("deadline=soon", {"soon"}),
        ("deadline=paused", {"paused"}),
        ("deadline=extended", {"extended"}),
        ("channel=direct_to_processor", {"forwarded"}),
        ("number=0176 99999999", {"late"}),
        ("status=open&kind=access&deadline=extended", {"extended"}),
    ],
)
def test_the_list_filters(client, viewer_a, requests_on_the_clock, query, expected):
    names = {obj.pk: name for name, obj in requests_on_the_clock.items()}
    with time_machine.travel(NOW, tick=False):
        client.force_login(viewer_a)
        response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    assert {names[obj.pk] for obj in response.context["object_list"]} == expected


def test_a_filter_that_matches_nothing_says_so(client, viewer_a, requests_on_the_clock):
    client.force_login(viewer_a)
    page = client.get(f"{LIST}?kind=portability").content.decode()
    assert "Nothing matches these filters" in page and "Clear filters" in page


def test_the_empty_list_explains_requests_and_how_to_open_one(client, viewer_a, agent_a):
    client.force_login(agent_a)
    page = client.get(LIST).content.decode()
    assert "No data-subject requests yet" in page
    assert "one month from receipt" in page and "POST /api/v1/requests/" in page
    assert f'href="{NEW}">Open a request' in page
    client.force_login(viewer_a)
    page = client.get(LIST).content.decode()
    assert "No data-subject requests yet" in page and f'href="{NEW}"' not in page


def _queries(client, url: str) -> tuple[list[str], str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return [q["sql"] for q in captured.captured_queries], response.content.decode()


def test_the_list_costs_a_fixed_number_of_queries_and_never_counts_the_table(
    client, admin_a, tenant_a
):
    client.force_login(admin_a)
    for _ in range(3):
        DataSubjectRequestFactory(tenant=tenant_a, numbers=[SUBJECT, SUBJECT_2])
    few, _ = _queries(client, LIST)
    DataSubjectRequestFactory.create_batch(27, tenant=tenant_a, numbers=[SUBJECT, SUBJECT_2])
    assert len(_queries(client, LIST)[0]) == len(few)
    assert len(_queries(client, f"{LIST}?status=open&number=0151 12345678")[0]) == len(few)
    # Past one page: the total, counted only up to a cap (never the table), and no more
    # reads of the rows: a page full of open requests needs no read of the closed ones.
    DataSubjectRequestFactory.create_batch(30, tenant=tenant_a)
    many, page = _queries(client, LIST)
    assert len(many) == len(few)
    counts = [sql for sql in many if "COUNT(" in sql.upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts
    assert "1–50 of 60" in page and 'rel="next"' in page
    # A page that runs from the open requests into the closed ones reads both.
    assert len(_queries(client, f"{LIST}?page=2")[0]) == len(few) + 1


def test_pages_run_from_the_open_requests_into_the_closed_ones_without_gaps(
    client, viewer_a, tenant_a, monkeypatch
):
    monkeypatch.setattr(RequestListView, "paginate_by", 10)
    with time_machine.travel(NOW, tick=False):
        open_ones = [
            DataSubjectRequestFactory(tenant=tenant_a, received_at=NOW - timedelta(days=i))
            for i in range(13)
        ]
        closed = [
            DataSubjectRequestFactory(tenant=tenant_a, received_at=NOW - timedelta(days=20 + i))
            for i in range(12)
        ]
        # Test data only: closed without the services (and without history).
        DataSubjectRequest.objects.filter(pk__in=[r.pk for r in closed]).update(status="completed")
        client.force_login(viewer_a)
        pages = [client.get(f"{LIST}?page={n}") for n in (1, 2, 3)]
        assert client.get(f"{LIST}?page=4").status_code == 404
    listed = [obj.pk for response in pages for obj in response.context["object_list"]]
    open_order = sorted(open_ones, key=lambda r: (r.effective_due_at, r.pk))
    closed_order = sorted(closed, key=lambda r: r.received_at, reverse=True)
    assert listed == [r.pk for r in open_order + closed_order]
    last = pages[2].content.decode()
    assert "21–25 of 25" in last and 'rel="next"' not in last and 'rel="prev"' in last


# --- the request page ------------------------------------------------------------------------


def test_the_request_page_explains_the_deadline(client, viewer_a, tenant_a, dpo_user):
    with time_machine.travel(datetime(2025, 4, 10, 11, 0, tzinfo=BERLIN), tick=False) as clock:
        request = DataSubjectRequestFactory(tenant=tenant_a)  # a month later is a Saturday
        services.request_start_verification(
            request=request, by=dpo_user, pause_reason="Asked for the dates of their calls."
        )
        clock.move_to(datetime(2025, 4, 13, 9, 0, tzinfo=BERLIN))  # three midnights later
        services.request_resume_clock(request=request, by=dpo_user)
        services.request_extend(request=request, by=dpo_user, reason="Many recordings.", months=2)
        client.force_login(viewer_a)
        page = client.get(detail_url(request)).content.decode()
    assert "Received <strong>Thu 10 Apr 2025, 11:00 CEST</strong>" in page
    assert "One month later: <strong>Sat 10 May 2025</strong>" in page
    assert "Asked for the dates of their calls." in page and ": 3 days" in page
    assert "The deadline moves by 3 days: <strong>Tue 13 May 2025</strong>" in page
    assert "First deadline: <strong>Tue 13 May 2025</strong>" in page
    # Two months from receipt plus the pause: 13 June 2025, a Friday.
    assert "Extended 13 Apr 2025 to 2 months from receipt" in page
    assert "<strong>Fri 13 Jun 2025</strong>" in page and "Many recordings." in page
    assert "the last day is <strong>Friday 13 June 2025</strong>" in page
    # What the subject was told about the extension.
    assert "What the caller was told" in page and "Extension of the deadline" in page


def test_a_deadline_on_a_weekend_or_a_missing_date_is_explained(client, viewer_a, tenant_a):
    client.force_login(viewer_a)
    with time_machine.travel(datetime(2024, 9, 1, 9, 0, tzinfo=BERLIN), tick=False):
        clamped = DataSubjectRequestFactory(
            tenant=tenant_a, received_at=datetime(2024, 8, 31, 10, 0, tzinfo=BERLIN)
        )
        page = client.get(detail_url(clamped)).content.decode()
    assert "One month later: <strong>Mon 30 Sep 2024</strong>" in page
    assert "that month has no 31st, so its last day counts" in page
    with time_machine.travel(datetime(2025, 4, 10, 11, 0, tzinfo=BERLIN), tick=False):
        weekend = DataSubjectRequestFactory(tenant=tenant_a)
        page = client.get(detail_url(weekend)).content.decode()
    assert (
        "Sat 10 May 2025 is a Saturday, so the period ends on the next working day: "
        "<strong>Mon 12 May 2025</strong>"
    ) in page


def test_the_request_page_shows_timeline_actors_and_discovery(
    client, viewer_a, tenant_a, subject, dpo_user, key_a, django_capture_on_commit_callbacks
):
    from tests.conftest import api_client_for

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(key_a).post(
            "/api/v1/requests/",
            {"kind": "restriction", "numbers": ["0151 12345678", "0176 12345678"]},
            format="json",
        )
    request = DataSubjectRequest.objects.get(pk=response.json()["id"])
    with django_capture_on_commit_callbacks(execute=True):
        verify_and_approve(request, dpo_user)
    client.force_login(viewer_a)
    page = client.get(detail_url(request)).content.decode()
    timeline = page.split('id="timeline"')[1]
    assert f"API key {key_a.prefix}…" in timeline  # opened and confirmed by the integration
    assert "dpo (platform staff)" in timeline and "In review → Approved" in timeline
    # Discovery: what was found, and what happens to it, as the admin shows it.
    discovery = page.split('id="discovery"')[1].split("</section>")[0]
    assert "Calls: 3" in discovery and "Restricted: stored only" in discovery
    assert "Recordings: 2" in discovery and "Consent events: 2" in discovery
    assert "Quality review of call handling" in discovery
    assert f'href="/dashboard/calls/{subject.calls[0].pk}/"' in discovery  # the call's page
    assert subject.foreign_calls[0].external_id not in page  # another caller's call
    # The restriction's result.
    result = page.split('id="result"')[1].split("</section>")[0]
    assert "in force" in result and "3 calls marked as stored only" in result
    assert SUBJECT in result and SUBJECT_2 in result


def test_rectification_and_objection_results(client, viewer_a, tenant_a, subject, dpo_user):
    rectify = DataSubjectRequestFactory(tenant=tenant_a, kind="rectification")
    verify_and_approve(rectify, dpo_user)
    services.request_rectify(
        request=rectify, by=dpo_user, statement="The caller's name is Meier, not Maier."
    )
    objection = DataSubjectRequestFactory(tenant=tenant_a, kind="objection")
    verify_and_approve(objection, dpo_user)
    client.force_login(viewer_a)
    page = client.get(detail_url(rectify)).content.decode()
    result = page.split('id="result"')[1].split("</section>")[0]
    assert "The caller&#x27;s name is Meier, not Maier." in result
    assert "to 2 calls" in result  # SUBJECT's two calls
    assert "answered in time" in page
    page = client.get(detail_url(objection)).content.decode()
    assert "Processing on legitimate interests has stopped" in page


def test_the_request_page_costs_a_fixed_number_of_queries(client, viewer_a, tenant_a, dpo_user):
    request = DataSubjectRequestFactory(tenant=tenant_a)
    CallFactory(tenant=tenant_a, caller=SUBJECT)
    client.force_login(viewer_a)
    few, _ = _queries(client, detail_url(request))
    CallFactory.create_batch(30, tenant=tenant_a, caller=SUBJECT)
    services.request_start_verification(request=request, by=dpo_user, pause_reason="ID?")
    services.request_resume_clock(request=request, by=dpo_user)
    services.request_extend(request=request, by=dpo_user, reason="Complex.", months=3)
    assert len(_queries(client, detail_url(request))[0]) == len(few)


# --- confirming a forwarded request ----------------------------------------------------------


@pytest.fixture
def forwarded(tenant_a, support_user):
    return DataSubjectRequestFactory(
        tenant=tenant_a, channel="direct_to_processor", by=support_user
    )


def test_an_agent_confirms_a_forwarded_request_after_a_confirmation_page(
    client, agent_a, forwarded
):
    due = forwarded.effective_due_at
    client.force_login(agent_a)
    page = client.get(detail_url(forwarded)).content.decode()
    assert "What you need to do" in page and f'href="{confirm_url(forwarded)}"' in page
    confirm = client.get(confirm_url(forwarded))
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "Confirm this request as controller?" in text
    assert "The deadline does not change" in text and 'name="note"' in text
    forwarded.refresh_from_db()
    assert forwarded.confirmed_at is None

    response = client.post(confirm_url(forwarded), {"note": "Ticket 4711"}, follow=True)
    assert response.redirect_chain[-1][0] == detail_url(forwarded)
    page = response.content.decode()
    assert f"Request #{forwarded.pk} confirmed." in page
    forwarded.refresh_from_db()
    assert forwarded.confirmed_by == agent_a and forwarded.confirmed_at is not None
    assert forwarded.effective_due_at == due  # runs from the first receipt
    event = forwarded.events.get(action="confirmed")
    assert event.user == agent_a and event.note == "Ticket 4711"
    assert forwarded.history.first().history_user == agent_a
    assert f'href="{confirm_url(forwarded)}"' not in page and "Ticket 4711" in page

    again = client.get(confirm_url(forwarded), follow=True)
    assert "needs no confirmation" in again.content.decode()
    response = client.post(confirm_url(forwarded), follow=True)
    assert "is confirmed already" in response.content.decode()
    assert forwarded.events.filter(action="confirmed").count() == 1


def test_a_viewer_reads_a_forwarded_request_but_cannot_confirm_it(client, viewer_a, forwarded):
    client.force_login(viewer_a)
    page = client.get(detail_url(forwarded)).content.decode()
    assert "An agent, admin or owner of your organisation confirms it here" in page
    assert f'href="{confirm_url(forwarded)}"' not in page
    assert client.get(confirm_url(forwarded)).status_code == 403
    assert client.post(confirm_url(forwarded)).status_code == 403
    forwarded.refresh_from_db()
    assert forwarded.confirmed_at is None


# --- the package -----------------------------------------------------------------------------


def test_progress_while_the_package_is_built_then_a_logged_download(
    client, viewer_a, tenant_a, subject, dpo_user, django_capture_on_commit_callbacks
):
    request = DataSubjectRequestFactory(tenant=tenant_a, numbers=[SUBJECT, SUBJECT_2])
    client.force_login(viewer_a)
    page = client.get(detail_url(request)).content.decode()
    assert "The package is built as soon as the request is approved" in page
    assert 'http-equiv="refresh"' not in page
    not_yet = client.get(package_url(request))
    assert not_yet.status_code == 200 and "No package to download yet" in not_yet.content.decode()

    verify_and_approve(request, dpo_user)  # the build is queued on commit: not run yet
    page = client.get(detail_url(request)).content.decode()
    assert '<meta http-equiv="refresh" content="5">' in page
    assert "<progress" in page and "Waiting for the build to start" in page

    packages.package_build(request_id=request.pk)
    page = client.get(detail_url(request)).content.decode()
    assert 'http-equiv="refresh"' not in page
    assert f'href="{package_url(request)}"' in page and "Download the package (ZIP)" in page
    assert not PackageDownload.objects.exists()

    response = client.get(package_url(request), REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert f"request-{request.pk}-package.zip" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "manifest.json" in archive.namelist() and "cover_letter.html" in archive.namelist()
    package = AccessPackage.objects.get(request=request)
    assert response["X-Content-SHA256"] == package.sha256
    [download] = PackageDownload.objects.all()
    assert (download.package, download.user, download.api_key) == (package, viewer_a, None)
    assert download.ip_address == "192.0.2.7"
    page = client.get(detail_url(request)).content.decode()
    downloads = page.split("<caption>Downloads</caption>")[1].split("</table>")[0]
    assert "viewer-a" in downloads
    assert "Package downloaded" in page.split('id="timeline"')[1]


def test_an_expired_package_is_refused_with_a_clear_message(
    client, admin_a, tenant_a, subject, dpo_user, django_capture_on_commit_callbacks
):
    request = DataSubjectRequestFactory(tenant=tenant_a)
    verify_and_approve(request, dpo_user)
    package = packages.package_build(request_id=request.pk)
    later = package.expires_at + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        client.force_login(admin_a)
        # Past its time but not swept yet: refused all the same.
        response = client.get(package_url(request))
        assert response.status_code == 410
        assert "The package has expired and was deleted." in response.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            assert package_expire_due() == 1
        response = client.get(package_url(request))
        page = client.get(detail_url(request)).content.decode()
    assert response.status_code == 410
    assert "ask the platform's Data Protection Officer to build it again" in (
        response.content.decode()
    )
    assert not PackageDownload.objects.exists()
    assert "expired" in page and f'href="{package_url(request)}"' not in page


def test_kinds_without_a_package_say_so(client, viewer_a, tenant_a):
    request = DataSubjectRequestFactory(tenant=tenant_a, kind="erasure")
    client.force_login(viewer_a)
    page = client.get(detail_url(request)).content.decode()
    assert 'id="package"' not in page
    response = client.get(package_url(request))
    assert "Only access and portability requests" in response.content.decode()


# --- roles and tenants -----------------------------------------------------------------------


def test_a_viewer_reads_but_changes_nothing(client, viewer_a, tenant_a, forwarded):
    client.force_login(viewer_a)
    assert client.get(LIST).status_code == 200
    assert client.get(detail_url(forwarded)).status_code == 200
    page = client.get("/dashboard/").content.decode()
    assert f'href="{LIST}"' in page and f'href="{NEW}"' not in page
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {"kind": "access", "numbers": SUBJECT}).status_code == 403
    for url in (LIST, detail_url(forwarded), confirm_url(forwarded), package_url(forwarded)):
        assert client.post(url).status_code == 403, url
    assert DataSubjectRequest.objects.count() == 1
    forwarded.refresh_from_db()
    assert forwarded.confirmed_at is None


def test_another_tenants_request_is_a_404_on_every_page(
    client, admin_a, tenant_b, subject, dpo_user
):
    foreign = DataSubjectRequestFactory(
        tenant=tenant_b, channel="direct_to_processor", name="Brid Foreign"
    )
    answered = DataSubjectRequestFactory(tenant=tenant_b)
    verify_and_approve(answered, dpo_user)
    packages.package_build(request_id=answered.pk)
    client.force_login(admin_a)
    for obj in (foreign, answered):
        for url in (detail_url(obj), confirm_url(obj), package_url(obj)):
            response = client.get(url)
            assert response.status_code == 404, url
            assert "Brid Foreign" not in response.content.decode()
        assert client.post(confirm_url(obj)).status_code == 404
        for read_only in (detail_url(obj), package_url(obj)):  # GET only
            assert client.post(read_only).status_code == 405
    assert "Brid Foreign" not in client.get(LIST).content.decode()
    assert "Brid Foreign" not in client.get("/dashboard/").content.decode()
    foreign.refresh_from_db()
    assert foreign.confirmed_at is None and not PackageDownload.objects.exists()


def test_the_isolation_suite_walks_the_request_pages():
    routes = {r.path: r for r in dashboard_routes()}
    for path in (
        "/dashboard/requests/<pk>/",
        "/dashboard/requests/<pk>/confirm/",
        "/dashboard/requests/<pk>/package/",
    ):
        assert route_model(routes[path]) is DataSubjectRequest, path
    assert route_model(routes["/dashboard/requests/"]) is DataSubjectRequest


# --- overview panel --------------------------------------------------------------------------


def test_the_overview_counts_open_requests_and_shows_the_nearest_deadlines(
    client, viewer_a, requests_on_the_clock
):
    r = requests_on_the_clock
    with time_machine.travel(NOW, tick=False):
        client.force_login(viewer_a)
        page = client.get("/dashboard/").content.decode()
    panel = page.split('id="panel-open-requests"')[1].split("</section>")[0]
    assert "Open requests" in page
    figures = re.sub(r"\s+", " ", panel.split("</ul>")[0])
    assert (
        '<span class="figure">6</span> <a href="/dashboard/requests/?status=open">open' in figures
    )
    assert 'figure-danger">1</span> <a href="/dashboard/requests/?deadline=overdue">' in figures
    assert 'figure-warning">1</span> <a href="/dashboard/requests/?deadline=soon">' in figures
    assert "?status=to_confirm" in figures
    assert 'role="img"' in panel and "Verifying identity" in panel  # counts by status
    nearest = panel.split("Nearest deadlines")[1]
    assert nearest.index(detail_url(r["late"])) < nearest.index(detail_url(r["soon"]))
    assert "overdue by 21 days" in nearest and "badge-danger" in nearest
    assert detail_url(r["closed"]) not in nearest and detail_url(r["paused"]) not in nearest


def test_the_overview_panel_when_nothing_is_open(client, viewer_a, agent_a):
    client.force_login(agent_a)
    page = client.get("/dashboard/").content.decode()
    panel = page.split('id="panel-open-requests"')[1].split("</section>")[0]
    assert "No open requests" in panel and f'href="{NEW}"' in panel
    client.force_login(viewer_a)
    panel = client.get("/dashboard/").content.decode().split('id="panel-open-requests"')[1]
    assert "No open requests" in panel.split("</section>")[0]
    assert f'href="{NEW}"' not in panel.split("</section>")[0]


def test_the_overview_costs_the_same_queries_for_few_or_many_requests(client, admin_a, tenant_a):
    client.force_login(admin_a)
    DataSubjectRequestFactory.create_batch(2, tenant=tenant_a)
    few, _ = _queries(client, "/dashboard/")
    DataSubjectRequestFactory.create_batch(20, tenant=tenant_a, kind="erasure")
    assert len(_queries(client, "/dashboard/")[0]) == len(few)
