"""Phone numbers: one normaliser for every entry point (phonenumbers, E.164)."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import shortnumberinfo

from portal.errors import BusinessRuleError

# What a written number may contain: digits and the usual separators. Letters are refused
# rather than read as keypad letters ("0800-FLOWERS"), and so are extensions, so that no
# character the caller typed is silently converted or dropped.
NUMBER_CHARACTERS = re.compile(r"^\+?[0-9 ()./-]+$")
# Short codes and emergency numbers are not a subscriber's number: 112, 911, 3-5 digit codes.
MIN_SUBSCRIBER_DIGITS = 6


def _refuse(message: str, field: str) -> BusinessRuleError:
    return BusinessRuleError(message, code="invalid_number", field=field)


def normalize_number(raw: str, *, country: str | None, field: str = "number") -> str:
    """Return ``raw`` in E.164. A number without a country code is read in ``country``.

    Refused (400): letters or other characters than digits, spaces, ``+ ( ) . / -``; short
    codes and emergency numbers; a number from which the parser would drop a digit.
    """
    text = (raw or "").strip()
    if not text:
        raise _refuse("A phone number is required.", field)
    if not NUMBER_CHARACTERS.match(text):
        raise _refuse(
            f"{raw!r} is not a phone number we can read: use digits, spaces and + ( ) . / - "
            "only (no letters, no extension).",
            field,
        )
    if text.startswith("00"):
        text = "+" + text[2:]
    region = None if text.startswith("+") else (country or None)
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise _refuse(f"{raw!r} is not a phone number we can read ({exc}).", field) from None
    national = phonenumbers.national_significant_number(parsed)
    if len(national) < MIN_SUBSCRIBER_DIGITS or (
        region and shortnumberinfo.is_emergency_number(text, region)
    ):
        raise _refuse(
            f"{raw!r} is a short code or an emergency number, not a subscriber's number.", field
        )
    if not phonenumbers.is_possible_number(parsed):
        raise _refuse(f"{raw!r} is not a possible phone number.", field)
    digits = "".join(ch for ch in text if ch.isdigit())
    # Only a country code and a trunk prefix ("0", "(0)") may come before the national number.
    if (
        not digits.endswith(national)
        or len(digits) - len(national) > len(str(parsed.country_code)) + 1
    ):
        raise _refuse(f"{raw!r} has digits that are not part of a phone number.", field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_normalize_number(raw: str, *, country: str | None) -> str | None:
    try:
        return normalize_number(raw, country=country)
    except BusinessRuleError:
        return None


def number_variants(e164: str) -> set[str]:
    """Common written forms of a number, for scanning free text for residual data."""
    parsed = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    digits = e164.lstrip("+")
    national_digits = "".join(ch for ch in national if ch.isdigit())
    return {
        e164,
        digits,
        "00" + digits,
        national,
        international,
        national_digits,
        international.replace(" ", "-"),
    } - {""}
