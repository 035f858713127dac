"""Bounds on every input that would otherwise be unbounded (no GDPR article of its own: Art. 5(1)(d)
accuracy and Art. 32 integrity of processing — a year-9999 date or a million-day period is a
typing error, not a record, and it must not stop the jobs that apply the rules for everyone).

One place for the limits; models' ``clean()``, services and API fields call these.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

# Retention and hold periods: at most 100 years.
MAX_PERIOD_DAYS = 36_500
# No call, consent or request predates the portal's telephony records.
EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)
# SMS text: ten concatenated segments at most.
MAX_SMS_CHARACTERS = 1_600
SMS_PLACEHOLDERS = ("tenant", "purpose", "url")


def period_days_validate(value: int | None) -> None:
    if value is not None and value > MAX_PERIOD_DAYS:
        raise ValidationError(f"At most {MAX_PERIOD_DAYS} days (100 years).", code="max_value")


def latest_timestamp(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(days=MAX_PERIOD_DAYS)


def timestamp_validate(value: datetime | None) -> None:
    """Between 2000-01-01 and 100 years from now."""
    if value is None:
        return
    if value < EARLIEST_TIMESTAMP:
        raise ValidationError("Give a date from 2000-01-01 on.", code="min_value")
    if value > latest_timestamp():
        raise ValidationError(
            f"Give a date at most {MAX_PERIOD_DAYS} days (100 years) from now.", code="max_value"
        )


def message_template_validate(
    template: str, *, placeholders: tuple[str, ...] = SMS_PLACEHOLDERS
) -> None:
    """A message template may name its placeholders and nothing else: no format specs or
    conversions (``{url:>1000000}`` would pad the text to a megabyte), no attribute or index
    access (``{tenant.__class__}``), and at most ``MAX_SMS_CHARACTERS`` characters."""
    if len(template) > MAX_SMS_CHARACTERS:
        raise ValidationError(
            f"At most {MAX_SMS_CHARACTERS} characters (this has {len(template)}).",
            code="max_length",
        )
    allowed = ", ".join("{" + name + "}" for name in placeholders)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValidationError(
            f"The template cannot be filled in ({exc}); use {allowed}.", code="invalid"
        ) from None
    for _text, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in placeholders or spec or conversion:
            shown = (
                "{"
                + name
                + ("!" + conversion if conversion else "")
                + (":" + spec if spec else "")
                + "}"
            )
            raise ValidationError(
                f"{shown} is not a placeholder: use only {allowed}, without formatting.",
                code="invalid",
            )
