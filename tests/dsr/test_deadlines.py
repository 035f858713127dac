"""The deadline rules (Art. 12(3) GDPR, Regulation 1182/71 Art. 3): worked examples and
properties that hold for every receipt time, country and pause."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsr.services import deadlines

BERLIN = ZoneInfo("Europe/Berlin")


def received(day: str, hour: int = 10, tz=BERLIN) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour), tzinfo=tz)


@pytest.mark.parametrize(
    ("receipt", "country", "last_day", "why"),
    [
        ("2024-03-05", "DE", "2024-04-05", "same date one month later"),
        ("2024-08-31", "DE", "2024-09-30", "31 September does not exist: month's last day"),
        ("2024-01-31", "DE", "2024-02-29", "leap year: 29 February"),
        ("2023-01-31", "DE", "2023-02-28", "common year: 28 February"),
        ("2025-01-31", "FR", "2025-02-28", "common year, another country"),
        ("2025-03-05", "DE", "2025-04-07", "5 April 2025 is a Saturday: Monday 7 April"),
        ("2024-05-04", "IE", "2024-06-04", "4 June 2024 is a Tuesday, no holiday"),
        ("2024-03-02", "DE", "2024-04-02", "received on a Saturday: the clock starts anyway"),
        ("2024-02-29", "DE", "2024-04-02", "Good Friday, weekend, Easter Monday → Tuesday"),
        # DE: German Unity Day, Easter, Christmas.
        ("2024-09-03", "DE", "2024-10-04", "3 October (German Unity Day) → Friday 4 October"),
        ("2025-03-18", "DE", "2025-04-22", "Good Friday, weekend, Easter Monday → Tuesday"),
        ("2024-11-25", "DE", "2024-12-27", "Christmas Day and Second Day of Christmas"),
        # FR: Bastille Day, Victory Day, All Saints' Day.
        ("2025-06-14", "FR", "2025-07-15", "14 July (National Day) → 15 July"),
        ("2025-04-08", "FR", "2025-05-09", "8 May (Victory Day) → 9 May"),
        ("2025-10-01", "FR", "2025-11-03", "1 November is a Saturday → Monday 3 November"),
        # IE: St Patrick's Day, bank holidays, St Stephen's Day.
        ("2025-02-17", "IE", "2025-03-18", "17 March (St Patrick's Day) → 18 March"),
        ("2025-07-04", "IE", "2025-08-05", "August Bank Holiday → Tuesday 5 August"),
        ("2025-11-25", "IE", "2025-12-29", "Christmas, St Stephen's Day, weekend → Monday 29th"),
        ("2025-01-03", "IE", "2025-02-04", "St Brigid's Day (3 February 2025) → 4 February"),
        # The same receipt date gives different deadlines in different countries.
        ("2025-06-14", "DE", "2025-07-14", "14 July is a working day in Germany"),
        ("2025-02-17", "DE", "2025-03-17", "17 March is a working day in Germany"),
    ],
)
def test_worked_examples(receipt, country, last_day, why):
    due = deadlines.deadline(received(receipt), tz=BERLIN, country=country)
    assert due.date() == date.fromisoformat(last_day), why
    assert due.timetz() == time.max.replace(tzinfo=BERLIN)  # the end of the last day


def test_the_receipt_date_is_taken_in_the_tenants_time_zone():
    # 23:30 UTC on 31 January is already 1 February in Berlin, still 31 January in Dublin.
    moment = datetime(2024, 1, 31, 23, 30, tzinfo=UTC)
    berlin = deadlines.deadline(moment, tz="Europe/Berlin", country="DE")
    dublin = deadlines.deadline(moment, tz="Europe/Dublin", country="IE")
    assert berlin.date() == date(2024, 3, 1)
    assert dublin.date() == date(2024, 2, 29)
    assert dublin.tzinfo == ZoneInfo("Europe/Dublin")


def test_extension_to_three_months_uses_the_same_rules():
    start = received("2024-08-31")
    # 31 August + 3 months = 30 November 2024, a Saturday → Monday 2 December.
    assert deadlines.last_day(start, tz=BERLIN, country="DE", months=3) == date(2024, 12, 2)
    start = received("2024-09-30")
    assert deadlines.last_day(start, tz=BERLIN, country="DE", months=3) == date(2024, 12, 30)


def test_extension_rules():
    first_due = received("2024-04-05", 23)
    before, after = first_due - timedelta(hours=1), first_due + timedelta(minutes=1)
    assert deadlines.extension_refusal(months=3, now=before, first_due_at=first_due) is None
    assert deadlines.extension_refusal(months=2, now=before, first_due_at=first_due) is None
    assert "at most 3 months" in deadlines.extension_refusal(
        months=4, now=before, first_due_at=first_due
    )
    assert "already expired" in deadlines.extension_refusal(
        months=3, now=after, first_due_at=first_due
    )


def test_pauses_count_the_midnights_they_span():
    pause = deadlines.Pause
    monday = received("2024-03-04", 9)
    same_day = pause(monday, monday + timedelta(hours=5))
    three_nights = pause(monday, monday + timedelta(days=3, hours=1))
    assert deadlines.paused_days([same_day], BERLIN) == 0
    assert deadlines.paused_days([three_nights], BERLIN) == 3
    assert deadlines.paused_days([same_day, three_nights], BERLIN) == 3
    # An open pause counts up to "until".
    assert deadlines.paused_days([pause(monday, None)], BERLIN, until=monday + timedelta(2)) == 2
    # Paused 3 days: 5 April 2024 + 3 = Monday 8 April.
    due = deadlines.deadline(received("2024-03-05"), tz=BERLIN, country="DE", pause_days=3)
    assert due.date() == date(2024, 4, 8)


def test_periods_outside_one_to_three_months_are_refused():
    with pytest.raises(ValueError):
        deadlines.deadline(received("2024-03-05"), tz=BERLIN, country="DE", months=4)


# --- properties ------------------------------------------------------------------------------

COUNTRIES = st.sampled_from(["DE", "FR", "IE", "AT", "NL", "ES"])
ZONES = st.sampled_from(["Europe/Berlin", "Europe/Dublin", "Europe/Paris", "UTC"])
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(moment=MOMENTS, tz=ZONES, country=COUNTRIES, months=st.integers(1, 3))
def test_the_deadline_is_the_first_working_day_on_or_after_the_raw_end(moment, tz, country, months):
    receipt = deadlines.local_date(moment, tz)
    raw_end = deadlines.add_months(receipt, months)
    last = deadlines.last_day(moment, tz=tz, country=country, months=months)
    assert last >= raw_end > receipt
    assert deadlines.is_working_day(last, country)
    # Every day skipped was a weekend day or a public holiday.
    day = raw_end
    while day < last:
        assert not deadlines.is_working_day(day, country)
        day += timedelta(days=1)
    assert (last - raw_end).days <= 6  # no country has a week of holidays back to back


@settings(max_examples=300, deadline=None)
@given(moment=MOMENTS, tz=ZONES, months=st.integers(1, 3))
def test_the_raw_end_is_the_same_date_or_the_months_last_day(moment, tz, months):
    receipt = deadlines.local_date(moment, tz)
    raw_end = deadlines.add_months(receipt, months)
    months_between = (raw_end.year - receipt.year) * 12 + raw_end.month - receipt.month
    assert months_between == months
    if raw_end.day != receipt.day:
        assert raw_end.day < receipt.day
        assert (raw_end + timedelta(days=1)).day == 1  # the last day of that month


@settings(max_examples=200, deadline=None)
@given(moment=MOMENTS, later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)))
def test_a_later_receipt_never_gives_an_earlier_deadline(moment, later):
    first = deadlines.deadline(moment, tz=BERLIN, country="DE")
    second = deadlines.deadline(moment + later, tz=BERLIN, country="DE")
    assert second >= first


@settings(max_examples=200, deadline=None)
@given(moment=MOMENTS, country=COUNTRIES, pause=st.integers(0, 60))
def test_pauses_only_ever_move_the_deadline_later_and_by_at_least_the_paused_days(
    moment, country, pause
):
    plain = deadlines.last_day(moment, tz=BERLIN, country=country)
    paused = deadlines.last_day(moment, tz=BERLIN, country=country, pause_days=pause)
    assert paused >= plain
    raw = deadlines.add_months(deadlines.local_date(moment, BERLIN), 1)
    assert paused >= raw + timedelta(days=pause)


@settings(max_examples=200, deadline=None)
@given(moment=MOMENTS, country=COUNTRIES)
def test_the_extended_deadline_is_later_and_within_three_months_plus_a_rollover(moment, country):
    first = deadlines.last_day(moment, tz=BERLIN, country=country, months=1)
    extended = deadlines.last_day(moment, tz=BERLIN, country=country, months=3)
    assert extended > first
    receipt = deadlines.local_date(moment, BERLIN)
    assert extended - deadlines.add_months(receipt, 3) <= timedelta(days=6)
