"""Template tags of the dashboard: charts, badges, table cells (``{% load dashboard %}``)."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from portal import charts

register = template.Library()

SEVERITIES = {"danger", "warning", "info", "ok", "muted"}


def _chart(chart: charts.Chart, label_heading: str, value_heading: str) -> dict:
    chart.label_heading = label_heading or chart.label_heading
    chart.value_heading = value_heading or chart.value_heading
    return {"chart": chart}


@register.inclusion_tag("dashboard/charts/columns.html")
def column_chart(data, title, desc="", unit="", label_heading="", value_heading=""):
    """Vertical bars: ``{% column_chart weeks title="Calls per week" unit="calls" %}``."""
    chart = charts.column_chart(data, title=title, desc=desc, unit=unit)
    return _chart(chart, label_heading, value_heading)


@register.inclusion_tag("dashboard/charts/line.html")
def line_chart(data, title, desc="", unit="", label_heading="", value_heading=""):
    chart = charts.line_chart(data, title=title, desc=desc, unit=unit)
    return _chart(chart, label_heading, value_heading)


@register.inclusion_tag("dashboard/charts/hbars.html")
def hbar_chart(data, title, desc="", unit="", max_value=None, label_heading="", value_heading=""):
    """Horizontal bars: ``{% hbar_chart rates title="Consent rate" max_value=100 unit="%" %}``."""
    chart = charts.hbar_chart(data, title=title, desc=desc, unit=unit, max_value=max_value)
    return _chart(chart, label_heading, value_heading)


@register.simple_tag
def badge(text, severity="info"):
    """A coloured pill; severity is danger, warning, info, ok or muted."""
    severity = severity if severity in SEVERITIES else "info"
    return format_html('<span class="badge badge-{}">{}</span>', severity, text)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def due_status(due, *, warn_days: int = 7, now: datetime | None = None) -> tuple[str, str]:
    """(text, severity) of a deadline: overdue → danger, within ``warn_days`` → warning.

    A date is compared by days in the current time zone (the tenant's on dashboard pages); a
    datetime by hours when less than two days are left (e.g. the 72-hour breach clock).
    """
    now = now or timezone.now()
    if isinstance(due, datetime):
        left = due - now
        hours = left.total_seconds() / 3600
        if abs(hours) < 48:
            whole = int(abs(hours))
            if hours < 0:
                return f"overdue by {_plural(max(whole, 1), 'hour')}", "danger"
            return (f"due in {_plural(whole, 'hour')}" if whole else "due within the hour"), (
                "warning"
            )
        days = (timezone.localtime(due).date() - timezone.localtime(now).date()).days
    else:
        days = (due - timezone.localtime(now).date()).days
    if days < 0:
        return f"overdue by {_plural(-days, 'day')}", "danger"
    if days == 0:
        return "due today", "warning"
    if days <= warn_days:
        return f"due in {_plural(days, 'day')}", "warning"
    return f"due {date_filter(due, 'j M Y')}", "info"


@register.simple_tag
def due_badge(due, warn_days=7):
    """``{% due_badge request.due_date %}``: the deadline as a badge, with the exact date."""
    if not due:
        return ""
    text, severity = due_status(due, warn_days=warn_days)
    if isinstance(due, datetime):
        stamp, exact = (
            timezone.localtime(due).isoformat(),
            date_filter(timezone.localtime(due), "j M Y, H:i"),
        )
    else:
        stamp, exact = due.isoformat(), date_filter(due, "j M Y")
    return format_html(
        '<time class="badge badge-{}" datetime="{}" title="Due {}">{}</time>',
        severity,
        stamp,
        exact,
        text,
    )


def resolve(obj, accessor):
    if callable(accessor):
        return accessor(obj)
    value = obj
    for part in accessor.split("."):
        if value is None:
            return None
        value = getattr(value, part)
        if callable(value):
            value = value()
    return value


@register.simple_tag
def cell(obj, column):
    """One cell of ``dashboard/includes/table.html`` (see ``portal.dashboard_lists.Column``)."""
    value = resolve(obj, column.accessor)
    if column.kind == "bool":
        html = "Yes" if value else "No"
    elif value is None or value == "":
        html = format_html('<span class="muted">{}</span>', column.empty)
    elif column.kind == "datetime":
        html = format_html(
            '<time datetime="{}">{}</time>',
            value.isoformat(),
            date_filter(timezone.localtime(value), "j M Y, H:i"),
        )
    elif column.kind == "date":
        if isinstance(value, datetime):
            value = timezone.localtime(value)
        html = format_html(
            '<time datetime="{}">{}</time>', value.isoformat(), date_filter(value, "j M Y")
        )
    elif column.kind == "due":
        html = due_badge(value) if isinstance(value, date) else value
    elif column.kind == "badge":
        html = badge(*value)
    elif column.kind == "code":
        html = format_html("<code>{}</code>", value)
    else:
        html = format_html("{}", value)
    if column.link:
        return format_html('<a href="{}">{}</a>', reverse(column.link, kwargs={"pk": obj.pk}), html)
    return html
