"""The building blocks the domain apps' pages use: charts, due badges, table cells,
the count-free paginator and the tenant-scoped filter set."""

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import django_filters
import pytest
import time_machine
from django.db import connection
from django.http import Http404
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal import charts
from portal.dashboard_lists import Column, TenantFilterSet, WindowPaginator
from portal.models import Webhook, WebhookDelivery
from portal.templatetags.dashboard import cell, due_status
from tests.factories import WebhookDeliveryFactory, WebhookFactory

BERLIN = ZoneInfo("Europe/Berlin")


def render(source: str, **context) -> str:
    return Template("{% load dashboard %}" + source).render(Context(context))


# --- charts --------------------------------------------------------------------------------


@pytest.mark.parametrize("maximum", [0, 0.6, 1, 3, 7, 9, 42, 100, 1234, 99_999])
def test_axis_scale_is_round_and_covers_the_data(maximum):
    top, values = charts.nice_scale(maximum)
    assert top >= maximum and values[0] == 0 and values[-1] == top
    steps = {round(b - a, 9) for a, b in zip(values, values[1:], strict=False)}
    assert len(steps) == 1  # even steps
    step = steps.pop()
    assert step / 10 ** math.floor(math.log10(step)) in (1, 2, 5)
    if maximum >= 1:
        assert float(step).is_integer()  # counts get no half ticks


def test_axis_scale_examples():
    assert charts.nice_scale(0) == (1.0, [0.0, 1.0])
    assert charts.nice_scale(7) == (8, [0, 2, 4, 6, 8])
    assert charts.nice_scale(100) == (100, [0, 50, 100])


def test_column_chart_geometry():
    chart = charts.column_chart([("a", 0), ("b", 5), ("c", 10)], title="T")
    bars = chart.marks
    assert [b.height for b in bars][0] == 0
    assert bars[2].height == pytest.approx(2 * bars[1].height)
    assert all(b.y + b.height == pytest.approx(chart.plot_bottom) for b in bars)  # one baseline
    assert bars[0].x < bars[1].x < bars[2].x
    assert all(chart.plot_left <= b.x and b.x + b.width <= chart.plot_right for b in bars)
    assert chart.summary == "3 values from a to c; highest 10 (c), latest 10."


def test_long_series_label_only_some_columns_but_always_the_latest():
    chart = charts.column_chart([(f"w{i}", i) for i in range(26)], title="T", max_labels=7)
    shown = [m.datum.label for m in chart.marks if m.show_label]
    assert len(shown) <= 7 and shown[-1] == "w25"


def test_hbar_chart_with_a_fixed_maximum():
    rates = [("Marketing", 50), ("Quality", 100)]
    chart = charts.hbar_chart(rates, title="T", max_value=100, unit="%")
    assert chart.marks[1].width == pytest.approx(2 * chart.marks[0].width)
    assert chart.marks[1].width == chart.plot_right
    assert [d.display for d in chart.data] == ["50%", "100%"]


def test_values_are_formatted_with_units():
    assert charts.format_value(1, "call,calls") == "1 call"
    assert charts.format_value(1200, "call,calls") == "1,200 calls"
    assert charts.format_value(12.25, "%") == "12.2%"
    assert charts.format_value(3, "items") == "3 items"


def test_chart_tags_draw_accessible_svg_with_a_data_table():
    html = render(
        '{% column_chart data title="Calls per week" unit="call,calls" %}'
        '{% line_chart data title="Calls per week (line)" %}'
        '{% hbar_chart rates title="Consent rate per purpose" max_value=100 unit="%" %}',
        data=[("1 Mar", 3), ("8 Mar", 1)],
        rates=[("Quality <assurance>", 80)],
    )
    assert html.count('role="img"') == 3
    assert html.count("<title id=") == 3 and html.count("<desc id=") == 3
    assert 'aria-labelledby="chart-' in html
    assert "<td>8 Mar</td><td>1 call</td>" in html  # the data-table fallback
    assert "<polyline" in html
    assert "Quality &lt;assurance&gt;" in html and "<assurance>" not in html
    assert "<script" not in html


def test_chart_numbers_are_not_localised(settings):
    from django.utils import translation

    with translation.override("de"):
        html = render('{% column_chart data title="T" %}', data=[("a", 1), ("b", 3)])
    assert 'width="' in html and not any(
        "," in part.split('"')[1] for part in html.split(" x=")[1:]
    )


@pytest.mark.django_db
def test_weekly_counts_fill_empty_weeks_in_the_tenants_time_zone(tenant_a):
    webhook = WebhookFactory(tenant=tenant_a)
    with time_machine.travel(datetime(2025, 3, 19, 12, 0, tzinfo=BERLIN)):  # a Wednesday
        # Sunday 23:30 in Berlin is Sunday 22:30 UTC: still the week of Monday 10 March.
        for when in [
            datetime(2025, 3, 16, 23, 30, tzinfo=BERLIN),
            datetime(2025, 3, 17, 0, 30, tzinfo=BERLIN),  # Monday: this week
            datetime(2025, 3, 18, 9, 0, tzinfo=BERLIN),
            datetime(2025, 2, 1, 9, 0, tzinfo=BERLIN),  # before the window
        ]:
            WebhookDeliveryFactory(tenant=tenant_a, webhook=webhook, created_at=when)
        series = charts.weekly_counts(
            WebhookDelivery.objects.for_tenant(tenant_a), "created_at", weeks=3, tzinfo=BERLIN
        )
    assert series == [("3 Mar", 0), ("10 Mar", 1), ("17 Mar", 2)]


# --- due badges ----------------------------------------------------------------------------

NOW = datetime(2025, 3, 19, 12, 0, tzinfo=BERLIN)


@pytest.mark.parametrize(
    "due, expected",
    [
        (date(2025, 3, 17), ("overdue by 2 days", "danger")),
        (date(2025, 3, 18), ("overdue by 1 day", "danger")),
        (date(2025, 3, 19), ("due today", "warning")),
        (date(2025, 3, 20), ("due in 1 day", "warning")),
        (date(2025, 3, 26), ("due in 7 days", "warning")),
        (date(2025, 3, 27), ("due 27 Mar 2025", "info")),
        (NOW + timedelta(hours=5, minutes=10), ("due in 5 hours", "warning")),
        (NOW + timedelta(minutes=20), ("due within the hour", "warning")),
        (NOW - timedelta(hours=3), ("overdue by 3 hours", "danger")),
        (NOW - timedelta(days=3), ("overdue by 3 days", "danger")),
        (NOW + timedelta(days=30), ("due 18 Apr 2025", "info")),
    ],
)
def test_due_status(due, expected):
    with timezone.override(BERLIN):
        assert due_status(due, now=NOW) == expected


def test_due_badge_markup():
    with time_machine.travel(NOW), timezone.override(BERLIN):
        html = render("{% due_badge due %}", due=date(2025, 3, 18))
    assert html == (
        '<time class="badge badge-danger" datetime="2025-03-18" title="Due 18 Mar 2025">'
        "overdue by 1 day</time>"
    )
    assert render("{% due_badge due %}", due=None) == ""


# --- table cells ---------------------------------------------------------------------------


def test_cells_format_by_kind():
    class Row:
        pk = 7
        name = "<b>x</b>"
        flag = False
        when = datetime(2025, 3, 1, 12, 0, tzinfo=ZoneInfo("UTC"))
        owner = None

    with timezone.override(BERLIN):
        assert cell(Row, Column("N", "name")) == "&lt;b&gt;x&lt;/b&gt;"
        assert cell(Row, Column("F", "flag", kind="bool")) == "No"
        assert cell(Row, Column("W", "when", kind="datetime")) == (
            '<time datetime="2025-03-01T12:00:00+00:00">1 Mar 2025, 13:00</time>'
        )
        assert cell(Row, Column("O", "owner.username", empty="nobody")) == (
            '<span class="muted">nobody</span>'
        )
        assert cell(Row, Column("B", lambda r: ("ok", "ok"), kind="badge")) == (
            '<span class="badge badge-ok">ok</span>'
        )
        assert cell(Row, Column("L", "name", link="dashboard:webhook-detail")).startswith(
            '<a href="/dashboard/webhooks/7/">'
        )


# --- pagination and filters ----------------------------------------------------------------


@pytest.mark.django_db
def test_window_paginator_reads_one_row_more_and_never_counts_everything(tenant_a):
    WebhookFactory.create_batch(7, tenant=tenant_a)
    queryset = Webhook.objects.for_tenant(tenant_a).order_by("pk")
    paginator = WindowPaginator(queryset, per_page=3, count_cap=5)
    with CaptureQueriesContext(connection) as captured:
        first = paginator.page(1)
    assert len(captured) == 1 and "LIMIT 4" in captured[0]["sql"]
    assert len(first) == 3 and first.has_next() and not first.has_previous()
    last = paginator.page(3)
    assert len(last) == 1 and not last.has_next() and last.start_index() == 7
    assert paginator.total(first) == (5, True)  # more than the cap: "more than 5"
    with pytest.raises(Http404):
        paginator.page(4)
    with pytest.raises(Http404):
        paginator.page(0)
    small = WindowPaginator(queryset, per_page=50)
    page = small.page(1)
    with CaptureQueriesContext(connection) as captured:
        assert small.total(page) == (7, False)
    assert len(captured) == 0  # a first page that is not full needs no count


@pytest.mark.django_db
def test_tenant_filterset_offers_only_the_tenants_objects(rf, tenant_a, tenant_b):
    mine = WebhookFactory(tenant=tenant_a)
    theirs = WebhookFactory(tenant=tenant_b)

    class DeliveryFilterSet(TenantFilterSet):
        webhook = django_filters.ModelChoiceFilter(queryset=Webhook.objects.all())

        class Meta:
            model = WebhookDelivery
            fields = ["webhook"]

    request = rf.get("/")
    request.tenant = tenant_a
    choices = list(DeliveryFilterSet(request=request).form.fields["webhook"].queryset)
    assert choices == [mine] and theirs not in choices
    bound = DeliveryFilterSet(
        {"webhook": theirs.pk}, request=request, queryset=WebhookDelivery.objects.all()
    )
    assert not bound.is_valid()  # another tenant's id is not a valid choice
