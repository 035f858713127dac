"""Phone numbers: one normaliser for every entry point (phonenumbers, E.164)."""

from __future__ import annotations

import phonenumbers

from portal.errors import BusinessRuleError


def normalize_number(raw: str, *, country: str | None, field: str = "number") -> str:
    """Return ``raw`` in E.164. A number without a country code is read in ``country``."""
    text = (raw or "").strip()
    if not text:
        raise BusinessRuleError("A phone number is required.", code="invalid_number", field=field)
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else (country or None))
    except phonenumbers.NumberParseException as exc:
        raise BusinessRuleError(
            f"{raw!r} is not a phone number we can read ({exc}).",
            code="invalid_number",
            field=field,
        ) from None
    if not phonenumbers.is_possible_number(parsed):
        raise BusinessRuleError(
            f"{raw!r} is not a possible phone number.", code="invalid_number", field=field
        )
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
