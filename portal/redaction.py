"""Erasure support shared by every app: history redaction, residual-data scan, fingerprints.

Erasure must reach history (django-simple-history copies personal data into every historical
row) and must be provable without keeping the number. This module knows nothing of requests:
the erasure service in ``dsr`` decides what to erase and calls these functions.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import phonenumbers
from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast

REDACTED = "[erased]"
PROJECT_APPS = ("portal", "calls", "consent", "dsr", "breaches")
_TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.FileField)


def number_fingerprint(e164: str) -> str:
    """A keyed hash of a number (HMAC-SHA256 with TOMBSTONE_KEY): proves a number was erased
    without keeping it, and recognises it again after a backup restore."""
    return hmac.new(settings.TOMBSTONE_KEY.encode(), e164.encode(), hashlib.sha256).hexdigest()


def redaction_value(field: models.Field):
    """What replaces personal data in a column: NULL where allowed, else an empty value."""
    if field.null:
        return None
    if isinstance(field, models.JSONField):
        default = field.get_default()
        return type(default)() if isinstance(default, (list, dict)) else {}
    if isinstance(field, models.FileField):
        return ""
    if isinstance(field, (models.CharField, models.TextField)):
        max_length = getattr(field, "max_length", None)
        return REDACTED if max_length is None or max_length >= len(REDACTED) else ""
    raise ValueError(f"Cannot redact {field!r}")


def redact_history(
    model: type[models.Model], pks: Iterable, *, fields: Iterable[str], note: str | None
) -> int:
    """Blank ``fields`` in every historical row of the given objects and say why.

    The historical rows stay (the object existed, who changed it when), the personal data goes.
    Runs as a plain UPDATE on the history table: historical rows have no history of their own.
    ``note`` replaces each row's change reason; ``None`` keeps the reasons (where they are the
    record of what was decided, e.g. a request's transitions).
    """
    return redact_history_of(model, model._meta.pk.attname, pks, fields=fields, note=note)


def redact_history_of(
    model: type[models.Model],
    key: str,
    values: Iterable,
    *,
    fields: Iterable[str],
    note: str | None,
) -> int:
    """``redact_history`` for the historical rows whose column ``key`` is one of ``values``
    (e.g. every historical transcript of some calls: ``key="call_id"``). Set-based: one UPDATE
    per 500 values, however many rows they have."""
    history_model = model.history.model
    updates = {name: redaction_value(history_model._meta.get_field(name)) for name in fields}
    if note is not None:
        updates["history_change_reason"] = note[:100] if _reason_is_short(history_model) else note
    values = list(values)
    total = 0
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        total += history_model.objects.filter(**{f"{key}__in": chunk}).update(**updates)
    return total


def _reason_is_short(history_model) -> bool:
    field = history_model._meta.get_field("history_change_reason")
    return bool(getattr(field, "max_length", None))


@dataclass(frozen=True)
class ResidualHit:
    table: str
    column: str
    pk: object
    model: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column} (row {self.pk})"


_SEP = r"[-. ()/]*"


def _digits_pattern(digits: str) -> str:
    return _SEP.join(re.escape(d) for d in digits)


def _number_alternatives(e164: str) -> str:
    """The written forms of a number as one regular expression (without the boundaries)."""
    parsed = phonenumbers.parse(e164, None)
    country = str(parsed.country_code)
    significant = phonenumbers.national_significant_number(parsed)
    national = "".join(
        ch
        for ch in phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        if ch.isdigit()
    )
    international = (
        rf"(?:\+|00)?{_SEP}{_digits_pattern(country)}{_SEP}(?:\(0\){_SEP})?"
        rf"{_digits_pattern(significant)}"
    )
    # The national form (with its trunk prefix where the country has one: 030 123456; the bare
    # number where it has none: (201) 555-0123).
    return f"(?:{international}|{_digits_pattern(national or significant)})"


def _number_pattern(e164: str) -> str:
    """A regular expression matching the number however it is written (+49 30 123456,
    0049-30-123456, (030) 123 456, 4930123456 …), but not as part of a longer digit sequence,
    so that +4930123 does not match inside +49301234."""
    return rf"(^|[^0-9])(?:{_number_alternatives(e164)})([^0-9]|$)"


def numbers_regex(numbers: Iterable[str]) -> re.Pattern:
    """One compiled expression for every written form of ``numbers`` (for redacting text)."""
    alternatives = "|".join(_number_alternatives(n) for n in numbers if n)
    if not alternatives:
        return re.compile(r"(?!x)x")  # matches nothing
    return re.compile(rf"(?<![0-9])(?:{alternatives})(?![0-9])")


def redact_mentions(text: str, numbers: Iterable[str], *, also: Iterable[str] = ()) -> str:
    """``text`` with every written form of ``numbers`` (and the literal strings in ``also``,
    e.g. the subject's name and email) replaced by ``[erased]``; the rest stays readable."""
    if not text:
        return text
    text = numbers_regex(numbers).sub(REDACTED, text)
    for literal in also:
        if literal and len(literal.strip()) >= 3:
            text = re.sub(re.escape(literal.strip()), REDACTED, text, flags=re.IGNORECASE)
    return text


def redact_mentions_in(
    queryset, *, fields: Iterable[str], numbers: Iterable[str], also: Iterable[str] = ()
) -> int:
    """Redact mentions (``redact_mentions``) in text columns of the rows of ``queryset`` — live
    rows or historical rows alike. Writes only rows that change, with a plain UPDATE (no new
    historical row: the caller redacts history itself). Returns the rows changed."""
    fields = list(fields)
    numbers = list(numbers)
    also = [a for a in also if a]
    pk_name = queryset.model._meta.pk.attname
    changed = 0
    for row in queryset.values(pk_name, *fields).iterator():
        updates = {}
        for name in fields:
            value = row[name]
            if isinstance(value, str):
                redacted = redact_mentions(value, numbers, also=also)
                if redacted != value:
                    updates[name] = redacted
        if updates:
            queryset.model._base_manager.filter(**{pk_name: row[pk_name]}).update(**updates)
            changed += 1
    return changed


def scanned_models() -> list[type[models.Model]]:
    """Every concrete model of the project's apps, history tables included."""
    found = []
    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=False):
            if model._meta.managed and not model._meta.proxy:
                found.append(model)
    return found


def text_columns(model) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, _TEXT_FIELDS) and not field.choices
    ]


def residual_scan(
    numbers: Iterable[str],
    *,
    tenant_id: int | None = None,
    models_to_scan: Iterable[type[models.Model]] | None = None,
    exclude: Mapping[str, Q] | None = None,
) -> list[ResidualHit]:
    """Rows whose text or JSON columns still hold one of ``numbers`` in a common format.

    Scoped to one tenant's rows where a table has a tenant; tables without a tenant are scanned
    whole. JSON columns are scanned as text. ``exclude`` maps a model label (``calls.Call``,
    ``calls.HistoricalCall``) to the rows that are expected to hold the numbers (e.g. a call
    kept under a legal hold): those rows are not reported.
    """
    exclude = exclude or {}
    numbers = [n for n in numbers if n]
    if not numbers:
        return []
    pattern = "|".join(f"(?:{_number_pattern(n)})" for n in numbers)
    hits: list[ResidualHit] = []
    for model in models_to_scan or scanned_models():
        columns = text_columns(model)
        if not columns:
            continue
        queryset = model._base_manager.all()
        field_names = {f.name for f in model._meta.concrete_fields}
        if tenant_id is not None and "tenant" in field_names:
            queryset = queryset.filter(tenant_id=tenant_id)
        if model._meta.label in exclude:
            queryset = queryset.exclude(exclude[model._meta.label])
        annotations = {}
        condition = Q()
        for field in columns:
            if isinstance(field, models.JSONField):
                alias = f"_scan_{field.attname}"
                annotations[alias] = Cast(field.attname, models.TextField())
                condition |= Q(**{f"{alias}__regex": pattern})
            else:
                condition |= Q(**{f"{field.attname}__regex": pattern})
        rows = queryset.annotate(**annotations).filter(condition)
        compiled = re.compile(pattern)
        for row in rows.values(model._meta.pk.attname, *[f.attname for f in columns]):
            for field in columns:
                value = row.get(field.attname)
                if value is not None and compiled.search(str(value)):
                    hits.append(
                        ResidualHit(
                            model._meta.db_table,
                            field.column,
                            row[model._meta.pk.attname],
                            model._meta.label,
                        )
                    )
    return hits
