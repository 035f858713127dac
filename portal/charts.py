"""Server-side charts for the dashboard: geometry computed here, SVG drawn by templates.

No JavaScript and no build step. Every chart takes a list of ``(label, value)`` pairs and
returns a plain object for ``templates/dashboard/charts/*.html`` (drawn through the template
tags ``column_chart``, ``line_chart`` and ``hbar_chart`` in ``portal.templatetags.dashboard``).
The SVG carries a <title> and <desc> and every chart comes with its data as a table, so the
figures reach people who cannot see the picture.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import Count
from django.db.models.functions import TruncWeek
from django.utils import timezone

_ids = itertools.count(1)


def format_value(value: float, unit: str = "") -> str:
    """``12``, ``12.5``, ``80%``, ``3 calls``; ``unit="call,calls"`` gives ``1 call``."""
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if not unit:
        return text
    if unit == "%":
        return f"{text}%"
    singular, _, plural = unit.partition(",")
    return f"{text} {singular if value == 1 or not plural else plural}"


def nice_scale(maximum: float, ticks: int = 4) -> tuple[float, list[float]]:
    """A round top for the axis and the tick values from 0 to it (steps of 1, 2 or 5 × 10^n)."""
    if maximum <= 0:
        return 1.0, [0.0, 1.0]
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if maximum >= 1:
        step = max(step, 1)  # counts: no half ticks
    steps = math.ceil(maximum / step - 1e-9)
    return step * steps, [step * i for i in range(steps + 1)]


@dataclass
class Datum:
    label: str
    value: float
    display: str


@dataclass
class Mark:
    """One bar or point, in viewBox coordinates."""

    datum: Datum
    x: float
    y: float
    width: float
    height: float
    cx: float  # centre: label anchor for columns, the point of a line
    label_y: float
    show_label: bool
    value_y: float = 0  # baseline of the figure beside a horizontal bar


@dataclass
class Tick:
    value: str
    pos: float  # y for vertical axes, x for horizontal ones


@dataclass
class Chart:
    id: str
    title: str
    desc: str
    unit: str
    width: int
    height: int
    data: list[Datum]
    marks: list[Mark] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    plot_left: float = 0
    plot_right: float = 0
    plot_top: float = 0
    plot_bottom: float = 0
    line_points: str = ""
    label_heading: str = "Label"
    value_heading: str = "Value"

    @property
    def is_empty(self) -> bool:
        return not any(d.value for d in self.data)

    @property
    def axis_label_x(self) -> float:
        return self.plot_left - 6

    @property
    def summary(self) -> str:
        """A sentence for <desc> when the caller gave none: range, highest and latest value."""
        if self.is_empty:
            return "No data yet."
        highest = max(self.data, key=lambda d: d.value)
        return (
            f"{len(self.data)} values from {self.data[0].label} to {self.data[-1].label}; "
            f"highest {highest.display} ({highest.label}), latest {self.data[-1].display}."
        )


def _data(pairs, unit: str) -> list[Datum]:
    return [
        Datum(str(label), float(value or 0), format_value(value or 0, unit))
        for label, value in pairs
    ]


def _vertical(pairs, *, title, desc, unit, width, height, max_labels) -> Chart:
    data = _data(pairs, unit)
    chart = Chart(f"chart-{next(_ids)}", title, desc, unit, width, height, data)
    left, right, top, bottom = 44, width - 8, 10, height - 26
    chart.plot_left, chart.plot_right, chart.plot_top, chart.plot_bottom = left, right, top, bottom
    top_value, tick_values = nice_scale(max((d.value for d in data), default=0))
    plot_h = bottom - top
    chart.ticks = [Tick(format_value(v), bottom - v / top_value * plot_h) for v in tick_values]
    if not data:
        return chart
    slot = (right - left) / len(data)
    every = max(1, math.ceil(len(data) / max_labels))
    for i, datum in enumerate(data):
        h = datum.value / top_value * plot_h
        chart.marks.append(
            Mark(
                datum,
                x=round(left + i * slot + slot * 0.15, 2),
                y=round(bottom - h, 2),
                width=round(slot * 0.7, 2),
                height=round(h, 2),
                cx=round(left + (i + 0.5) * slot, 2),
                label_y=bottom + 17,
                show_label=(len(data) - 1 - i) % every == 0,  # always label the latest
            )
        )
    chart.line_points = " ".join(f"{m.cx},{m.y}" for m in chart.marks)
    return chart


def column_chart(
    pairs,
    *,
    title: str,
    desc: str = "",
    unit: str = "",
    width: int = 480,
    height: int = 220,
    max_labels: int = 7,
) -> Chart:
    """Vertical bars, e.g. calls per week."""
    return _vertical(
        pairs, title=title, desc=desc, unit=unit, width=width, height=height, max_labels=max_labels
    )


def line_chart(
    pairs,
    *,
    title: str,
    desc: str = "",
    unit: str = "",
    width: int = 480,
    height: int = 220,
    max_labels: int = 7,
) -> Chart:
    """A line through the points (same geometry as the columns: ``line_points``)."""
    return _vertical(
        pairs, title=title, desc=desc, unit=unit, width=width, height=height, max_labels=max_labels
    )


def hbar_chart(
    pairs,
    *,
    title: str,
    desc: str = "",
    unit: str = "",
    max_value: float | None = None,
    width: int = 480,
) -> Chart:
    """Horizontal bars with the label above each bar (long names fit on a phone), e.g.
    consent rate per purpose with ``max_value=100, unit="%"``."""
    data = _data(pairs, unit)
    row_h, bar_h = 36, 14
    height = max(row_h * len(data) + 4, 40)
    chart = Chart(f"chart-{next(_ids)}", title, desc, unit, width, height, data)
    value_room = 64  # room right of the bar for the figure
    plot_w = width - value_room
    top_value = max_value or nice_scale(max((d.value for d in data), default=0))[0]
    chart.plot_left, chart.plot_right = 0, plot_w
    for i, datum in enumerate(data):
        w = min(datum.value, top_value) / top_value * plot_w
        y = i * row_h + 18
        chart.marks.append(
            Mark(
                datum,
                x=0,
                y=y,
                width=round(w, 2),
                height=bar_h,
                cx=round(w + 6, 2),
                label_y=y - 5,
                show_label=True,
                value_y=y + bar_h - 3,
            )
        )
    return chart


def weekly_counts(
    queryset, field_name: str, *, weeks: int = 12, now: datetime | None = None, tzinfo=None
) -> list[tuple[str, int]]:
    """Rows per calendar week (Monday first) for the last ``weeks`` weeks, oldest first, with
    empty weeks as 0. One grouped query; weeks are the tenant's (pass ``tenant.tzinfo``)."""
    tz = tzinfo or timezone.get_current_timezone()
    today = timezone.localtime(now or timezone.now(), tz).date()
    first = today - timedelta(days=today.weekday(), weeks=weeks - 1)
    start = datetime.combine(first, time.min, tzinfo=tz)
    rows = (
        queryset.filter(**{f"{field_name}__gte": start})
        .annotate(week=TruncWeek(field_name, tzinfo=tz))
        .values("week")
        .annotate(n=Count("*"))
        .order_by()
    )
    counts: dict = {}
    for row in rows:
        week = row["week"]
        week = timezone.localtime(week, tz).date() if isinstance(week, datetime) else week
        counts[week] = counts.get(week, 0) + row["n"]
    series = []
    for i in range(weeks):
        monday = first + timedelta(weeks=i)
        series.append((f"{monday.day} {monday:%b}", counts.get(monday, 0)))
    return series
