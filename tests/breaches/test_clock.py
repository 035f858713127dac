"""The 72-hour clock: elapsed hours, whatever the weekday or the daylight-saving change."""

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from breaches import clock, services
from breaches.models import BreachNotification
from breaches.selectors import incident_clock
from portal.errors import BusinessRuleError
from tests.breaches.conftest import make_call, open_incident

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
DUBLIN = zoneinfo.ZoneInfo("Europe/Dublin")
pytestmark = pytest.mark.django_db


def test_deadline_runs_through_the_weekend():
    aware = datetime(2025, 1, 17, 16, 30, tzinfo=BERLIN)  # a Friday afternoon
    deadline = clock.notification_deadline(aware)
    assert deadline == datetime(2025, 1, 20, 15, 30, tzinfo=UTC)  # Monday, same wall time
    assert clock.format_local(deadline, BERLIN) == "2025-01-20 16:30 CET (UTC+01:00)"
    sunday_noon = datetime(2025, 1, 19, 12, 0, tzinfo=BERLIN)
    assert clock.describe_time_left(deadline, sunday_noon) == "28 h 30 min left"


def test_frozen_clock_over_a_weekend_in_the_tenant_api(tenant_a, api_a):
    aware = datetime(2025, 1, 17, 16, 30, tzinfo=BERLIN)  # Friday
    with time_machine.travel(aware, tick=False) as traveller:
        incident = open_incident(
            became_aware_at=aware, detected_at=aware, occurred_from=aware, occurred_to=aware
        )
        services.incident_link_calls(incident=incident, call_ids=[make_call(tenant_a).pk])
        services.incident_notify_tenants(incident=incident)
        traveller.move_to(datetime(2025, 1, 19, 12, 0, tzinfo=BERLIN))  # Sunday noon
        [item] = api_a.get("/api/v1/breaches/").json()["results"]
        assert item["hours_left"] == 28.5  # the weekend counts
        assert item["notification_deadline"] == "2025-01-20T15:30:00Z"
        assert item["notification_deadline_local"] == "2025-01-20 16:30 CET (UTC+01:00)"
        assert incident_clock(incident).label == "tenants notified"
        traveller.move_to(datetime(2025, 1, 20, 17, 30, tzinfo=BERLIN))  # Monday, an hour on
        [item] = api_a.get("/api/v1/breaches/").json()["results"]
        assert item["hours_left"] == -1.0


@pytest.mark.parametrize(
    ("aware", "deadline_utc", "berlin", "dublin"),
    [
        # Spring forward (30 March 2025): 72 elapsed hours end at 11:00 Berlin wall time.
        (
            datetime(2025, 3, 28, 10, 0, tzinfo=BERLIN),
            datetime(2025, 3, 31, 9, 0, tzinfo=UTC),
            "2025-03-31 11:00 CEST (UTC+02:00)",
            "2025-03-31 10:00 IST (UTC+01:00)",
        ),
        # Fall back (26 October 2025): they end at 11:00, an hour *before* the wall time.
        (
            datetime(2025, 10, 24, 12, 0, tzinfo=BERLIN),
            datetime(2025, 10, 27, 10, 0, tzinfo=UTC),
            "2025-10-27 11:00 CET (UTC+01:00)",
            "2025-10-27 10:00 GMT (UTC+00:00)",
        ),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_deadline_is_72_elapsed_hours_across_a_dst_change(aware, deadline_utc, berlin, dublin):
    deadline = clock.notification_deadline(aware)
    assert deadline == deadline_utc
    assert (deadline - aware).total_seconds() == 72 * 3600
    # Adding 72 h to the Berlin wall clock would be an hour off: this is why we work in UTC.
    assert aware + timedelta(hours=72) != deadline
    assert clock.format_local(deadline, BERLIN) == berlin
    assert clock.format_local(deadline, DUBLIN) == dublin


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2060, 1, 1),
        timezones=st.sampled_from([BERLIN, DUBLIN, zoneinfo.ZoneInfo("America/New_York")]),
    )
)
def test_deadline_is_always_exactly_72_hours_later(aware):
    assert clock.notification_deadline(aware).timestamp() - aware.timestamp() == 72 * 3600


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        clock.notification_deadline(datetime(2025, 3, 28, 10, 0))


def test_clock_frozen_across_the_spring_dst_weekend(tenant_a, api_a):
    aware = datetime(2025, 3, 28, 10, 0, tzinfo=BERLIN)
    with time_machine.travel(aware, tick=False) as traveller:
        incident = open_incident(
            became_aware_at=aware,
            detected_at=aware - timedelta(minutes=30),
            occurred_from=aware - timedelta(days=1),
            occurred_to=aware - timedelta(hours=1),
        )
        services.incident_link_calls(
            incident=incident,
            call_ids=[make_call(tenant_a, started_at=aware - timedelta(hours=5)).pk],
        )
        assert incident_clock(incident).label == "72 h 00 min left"

        # Monday 10:59 CEST: 71 h 59 min of wall-clock time, but 70 h 59 min elapsed.
        traveller.move_to(datetime(2025, 3, 31, 9, 59, tzinfo=BERLIN))
        state = incident_clock(incident)
        assert state.running and not state.overdue
        assert state.label == "1 h 01 min left"

        traveller.move_to(datetime(2025, 3, 31, 10, 59, tzinfo=BERLIN))
        assert incident_clock(incident).label == "0 h 01 min left"

        traveller.move_to(datetime(2025, 3, 31, 11, 0, 1, tzinfo=BERLIN))
        state = incident_clock(incident)
        assert state.overdue and state.severity == "danger"
        assert state.label == "overdue by 0 h 00 min"

        with pytest.raises(BusinessRuleError) as refused:
            services.incident_notify_tenants(incident=incident)
        assert refused.value.status_code == 400
        assert refused.value.code == "delay_reason_required"
        assert refused.value.field == "delay_reason"
        assert "2025-03-31 09:00 UTC" in refused.value.message
        assert "Art. 33(1)" in refused.value.message
        assert not BreachNotification.objects.exists()

        [notice] = services.incident_notify_tenants(
            incident=incident, delay_reason="The affected calls were identified only on Monday."
        )
        [item] = api_a.get("/api/v1/breaches/").json()["results"]
        assert item["notification_deadline"] == "2025-03-31T09:00:00Z"
        assert item["notification_deadline_local"] == "2025-03-31 11:00 CEST (UTC+02:00)"
        assert item["hours_left"] == 0.0
    assert notice.is_late
    assert notice.delay_reason == "The affected calls were identified only on Monday."
    assert "REASONS FOR THE DELAY" in notice.content
    # The tenant (Berlin) reads the deadline in its own time.
    assert "deadline 2025-03-31 11:00 CEST (UTC+02:00)" in notice.content
    assert "We became aware:      2025-03-28 10:00 CET (UTC+01:00)" in notice.content


def test_a_notice_just_inside_the_72_hours_needs_no_reason(tenant_b):
    aware = datetime(2025, 10, 24, 12, 0, tzinfo=BERLIN)
    with time_machine.travel(aware, tick=False) as traveller:
        incident = open_incident(
            became_aware_at=aware,
            detected_at=aware,
            occurred_from=aware - timedelta(days=1),
            occurred_to=aware,
        )
        services.incident_link_calls(incident=incident, call_ids=[make_call(tenant_b).pk])
        # 10:59 CET on Monday is 71 h 59 min after 12:00 CEST on Friday.
        traveller.move_to(datetime(2025, 10, 27, 10, 59, tzinfo=BERLIN))
        [notice] = services.incident_notify_tenants(incident=incident)
    assert not notice.is_late and notice.delay_reason == ""
    # Tenant B is in Dublin: its notice shows Dublin time.
    assert "Sent: 2025-10-27 09:59 GMT (UTC+00:00)" in notice.content


def test_follow_up_phases_after_72_hours_need_no_delay_reason(tenant_a):
    aware = datetime(2025, 1, 17, 16, 30, tzinfo=BERLIN)
    with time_machine.travel(aware, tick=False) as traveller:
        incident = open_incident(
            became_aware_at=aware, detected_at=aware, occurred_from=aware, occurred_to=aware
        )
        services.incident_link_calls(incident=incident, call_ids=[make_call(tenant_a).pk])
        services.incident_notify_tenants(incident=incident)
        traveller.shift(timedelta(days=5))
        # Art. 33(4): later phases follow "without undue further delay", not within 72 hours.
        [follow_up] = services.incident_add_phase(
            incident=incident, phase="follow_up", update="Forensics found no download."
        )
    assert follow_up.phase == "follow_up" and follow_up.delay_reason == ""


def test_tenant_notice_target_is_a_setting(settings):
    aware = datetime(2025, 1, 17, 16, 30, tzinfo=UTC)
    assert clock.tenant_notice_target(aware) == aware + timedelta(hours=24)
    settings.BREACH_TENANT_NOTICE_TARGET_HOURS = 6
    assert clock.tenant_notice_target(aware) == aware + timedelta(hours=6)
