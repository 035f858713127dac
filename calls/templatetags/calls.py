"""Template helpers of the calls pages (``{% load calls %}``)."""

from __future__ import annotations

import phonenumbers
from django import template

register = template.Library()


@register.filter
def phone(e164: str) -> str:
    """An E.164 number written for people: ``+49301234567`` → ``+49 30 1234567``."""
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
