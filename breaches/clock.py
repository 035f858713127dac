"""The breach clocks: the one place that knows how breach deadlines are counted.

Art. 33(1): "not later than 72 hours after having become aware". The period is counted in
elapsed hours — nights, weekends, public holidays and daylight-saving changes do not stop or
stretch it — so the arithmetic is done in UTC. (Adding a timedelta to a datetime carrying a
zone such as Europe/Berlin adds *wall-clock* time and is an hour off across a DST change.)
Local time is only for display.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

NOTIFICATION_WINDOW = timedelta(hours=72)  # Art. 33(1)


def _utc(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        raise ValueError("Breach clocks need timezone-aware datetimes.")
    return moment.astimezone(UTC)


def notification_deadline(became_aware_at: datetime) -> datetime:
    """72 elapsed hours after awareness, in UTC."""
    return _utc(became_aware_at) + NOTIFICATION_WINDOW


def tenant_notice_target_hours() -> int:
    return int(getattr(settings, "BREACH_TENANT_NOTICE_TARGET_HOURS", 24))


def tenant_notice_target(became_aware_at: datetime) -> datetime:
    """Our own target for telling affected tenants (a setting, 24 hours by default).

    As processor we must tell them "without undue delay" (Art. 33(2)); the target leaves them
    most of their own 72 hours.
    """
    return _utc(became_aware_at) + timedelta(hours=tenant_notice_target_hours())


def time_left(deadline: datetime, at: datetime | None = None) -> timedelta:
    """Negative once the deadline has passed."""
    return _utc(deadline) - _utc(at or timezone.now())


def is_overdue(deadline: datetime, at: datetime | None = None) -> bool:
    return time_left(deadline, at) < timedelta(0)


def hours_and_minutes(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def describe_time_left(deadline: datetime, at: datetime | None = None) -> str:
    """``"41 h 20 min left"`` or ``"overdue by 3 h 05 min"``."""
    left = time_left(deadline, at)
    if left < timedelta(0):
        return f"overdue by {hours_and_minutes(left)}"
    return f"{hours_and_minutes(left)} left"


def local_time(moment: datetime, tz: str | zoneinfo.ZoneInfo) -> datetime:
    zone = zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz
    return _utc(moment).astimezone(zone)


def format_local(moment: datetime | None, tz: str | zoneinfo.ZoneInfo) -> str:
    """``"2025-03-31 11:00 CEST (UTC+02:00)"`` in the given zone."""
    if moment is None:
        return "—"
    local = local_time(moment, tz)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} (UTC{offset[:3]}:{offset[3:]})"


def format_utc(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return f"{_utc(moment):%Y-%m-%d %H:%M} UTC"
