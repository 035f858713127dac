"""The one place that knows how a data-subject request's deadline is counted.

The rules, each written once:

* Art. 12(3) GDPR: the controller answers "without undue delay and in any event within one
  month of receipt of the request". The period may be extended "by two further months where
  necessary", i.e. to at most three months from receipt, provided the subject is told of the
  extension and its reasons within the first month.
* Regulation (EEC, Euratom) No 1182/71, which the Court of Justice applies to time limits in EU
  law:
  - Art. 3(1) second subparagraph: the day on which the event happens (the receipt) is not
    counted; the period starts at the beginning of the next day.
  - Art. 3(2)(c): a period expressed in months ends with the expiry of the last hour of the day
    in the last month that bears the same date as the day of receipt; where that date does not
    exist in the last month (31 August → 30 September, 31 January → 28/29 February), it ends
    with the expiry of the last hour of that month's last day.
  - Art. 3(3): Saturdays, Sundays and public holidays inside the period are counted, so a
    request received on a weekend starts the clock like any other.
  - Art. 3(4): where the last day is a public holiday, a Saturday or a Sunday, the period ends
    with the expiry of the last hour of the following working day.
* Days are the tenant's days: the receipt date is the date in the tenant's time zone, the
  public holidays are those of the tenant's country (the ``holidays`` package, national
  holidays only — regional holidays vary inside a country and we do not know the region), and
  the period ends at midnight in the tenant's time zone.
* Clock pauses (waiting for the subject's answer to an identity question, Art. 12(6)) move the
  deadline by whole calendar days: each midnight (tenant time) that passes while the clock is
  stopped adds one day. A pause that starts and ends on the same day moves nothing. Days are the
  unit in which Regulation 1182/71 counts, and counting midnights never gives the controller more
  time than the subject actually waited. The days are added to the raw end of the period before
  the weekend/holiday rule is applied, so the result is again a working day.
"""

from __future__ import annotations

import calendar
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

# Art. 12(3): one month, extendable by two further months.
FIRST_PERIOD_MONTHS = 1
MAX_PERIOD_MONTHS = 3


def _zone(tz: str | zoneinfo.ZoneInfo) -> zoneinfo.ZoneInfo:
    return tz if isinstance(tz, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(tz)


def local_date(moment: datetime, tz: str | zoneinfo.ZoneInfo) -> date:
    """The calendar date of ``moment`` in the tenant's time zone."""
    return moment.astimezone(_zone(tz)).date()


def add_months(day: date, months: int) -> date:
    """Same date ``months`` later, or that month's last day (Reg. 1182/71 Art. 3(2)(c))."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


@lru_cache(maxsize=256)
def _holidays(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays.country_holidays(country, years=year).keys())
    except NotImplementedError:
        # A country the package does not know: weekends still count as non-working days.
        return frozenset()


def is_working_day(day: date, country: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(country, day.year)


def next_working_day(day: date, country: str) -> date:
    """``day`` itself if it is a working day, else the next one (Reg. 1182/71 Art. 3(4))."""
    while not is_working_day(day, country):
        day += timedelta(days=1)
    return day


def end_of_day(day: date, tz: str | zoneinfo.ZoneInfo) -> datetime:
    """The expiry of the last hour of ``day`` in the tenant's time zone (Art. 3(2)(c))."""
    return datetime.combine(day, time.max, tzinfo=_zone(tz))


@dataclass(frozen=True)
class Pause:
    started_at: datetime
    ended_at: datetime | None  # None: the clock is still stopped


def paused_days(
    pauses: Iterable[Pause], tz: str | zoneinfo.ZoneInfo, *, until: datetime | None = None
) -> int:
    """Calendar days the clock stood still: midnights passed during each pause.

    An open pause counts up to ``until`` (normally now), so a deadline shown while the clock is
    stopped moves on day by day.
    """
    total = 0
    for pause in pauses:
        end = pause.ended_at or until
        if end is None or end <= pause.started_at:
            continue
        total += (local_date(end, tz) - local_date(pause.started_at, tz)).days
    return total


def last_day(
    received_at: datetime,
    *,
    tz: str | zoneinfo.ZoneInfo,
    country: str,
    months: int = FIRST_PERIOD_MONTHS,
    pause_days: int = 0,
) -> date:
    """The last day of a period of ``months`` from receipt, paused days included."""
    if not 1 <= months <= MAX_PERIOD_MONTHS:
        raise ValueError(f"A request's period is 1 to {MAX_PERIOD_MONTHS} months, not {months}.")
    received = local_date(received_at, tz)  # the day of receipt itself is not counted
    raw_end = add_months(received, months) + timedelta(days=pause_days)
    return next_working_day(raw_end, country)


def deadline(
    received_at: datetime,
    *,
    tz: str | zoneinfo.ZoneInfo,
    country: str,
    months: int = FIRST_PERIOD_MONTHS,
    pause_days: int = 0,
) -> datetime:
    """When a period of ``months`` from receipt expires (an aware datetime, tenant time)."""
    day = last_day(received_at, tz=tz, country=country, months=months, pause_days=pause_days)
    return end_of_day(day, tz)


def extension_refusal(*, months: int, now: datetime, first_due_at: datetime) -> str | None:
    """Why an extension to ``months`` from receipt is not allowed now, or None if it is.

    Art. 12(3): by two further months at most (three months from receipt), and decided while
    the first month runs (the subject must be told within that month).
    """
    if not FIRST_PERIOD_MONTHS < months <= MAX_PERIOD_MONTHS:
        return (
            f"A deadline can be extended to at most {MAX_PERIOD_MONTHS} months from receipt "
            f"(Art. 12(3)); {months} month(s) is not allowed."
        )
    if now > first_due_at:
        return (
            "The first one-month period has already expired: an extension must be decided, "
            "and the subject told, before it ends (Art. 12(3))."
        )
    return None
