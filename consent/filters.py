"""Filters of the consent ledger: the API's history (``ConsentEventFilter``) and the
dashboard's ledger page (``ConsentLedgerFilterSet``)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.utils import timezone

from consent.forms import NumberField
from consent.models import ConsentEvent, LawfulBasis, Purpose
from portal.api.filters import StrictBooleanFilter
from portal.dashboard_lists import TenantFilterSet
from portal.numbers import normalize_number


class PurposeFilter(django_filters.FilterSet):
    is_active = StrictBooleanFilter()
    default_lawful_basis = django_filters.ChoiceFilter(choices=LawfulBasis.choices)

    class Meta:
        model = Purpose
        fields = ["is_active", "default_lawful_basis"]


class ConsentEventFilter(django_filters.FilterSet):
    number = django_filters.CharFilter(
        method="filter_number", label="The subject's number, in any usual form."
    )
    purpose = django_filters.CharFilter(method="filter_purpose", label="A purpose code.")
    action = django_filters.ChoiceFilter(choices=ConsentEvent.Action.choices)
    method = django_filters.ChoiceFilter(choices=ConsentEvent.Method.choices)
    lawful_basis = django_filters.ChoiceFilter(choices=LawfulBasis.choices)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = ConsentEvent
        fields = ["number", "purpose", "action", "method", "lawful_basis"]

    def filter_number(self, queryset, name, value):
        country = getattr(getattr(self.request, "tenant", None), "country", None)
        return queryset.filter(number=normalize_number(value, country=country, field="number"))

    def filter_purpose(self, queryset, name, value):
        return queryset.filter(purpose__code=value.strip().lower())


class NumberFilter(django_filters.CharFilter):
    """A number in any usual form, matched in E.164 (``NumberField`` cleans it)."""

    field_class = NumberField


def _day_start(day: date) -> datetime:
    """Midnight of ``day`` in the current time zone (the tenant's, on dashboard pages)."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class ConsentLedgerFilterSet(TenantFilterSet):
    """The dashboard ledger's filters. Dates are the tenant's days; the number is normalised
    with the tenant's country, and an unreadable one is an error on its field, not a 500."""

    number = NumberFilter(label="Number (any form)")
    purpose = django_filters.ModelChoiceFilter(
        queryset=Purpose.objects.order_by("code"), empty_label="Any", to_field_name="code"
    )
    action = django_filters.ChoiceFilter(choices=ConsentEvent.Action.choices, empty_label="Any")
    method = django_filters.ChoiceFilter(choices=ConsentEvent.Method.choices, empty_label="Any")
    lawful_basis = django_filters.ChoiceFilter(
        label="Basis", choices=LawfulBasis.choices, empty_label="Any"
    )
    occurred_from = django_filters.DateFilter(
        label="From", method="filter_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    occurred_to = django_filters.DateFilter(
        label="To", method="filter_to", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = ConsentEvent
        fields = ["number", "purpose", "action", "method", "lawful_basis"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        tenant = getattr(self.request, "tenant", None)
        self.filters["number"].extra["country"] = getattr(tenant, "country", None)

    def filter_queryset(self, queryset):
        if self.form.errors:  # e.g. an unreadable number: show the error, not the whole ledger
            return queryset.none()
        return super().filter_queryset(queryset)

    def filter_from(self, queryset, name, value):
        return queryset.filter(occurred_at__gte=_day_start(value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(occurred_at__lt=_day_start(value + timedelta(days=1)))
