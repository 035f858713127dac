"""Filters of the consent ledger (API history; the dashboard can reuse them)."""

from __future__ import annotations

import django_filters

from consent.models import ConsentEvent, LawfulBasis
from portal.numbers import normalize_number


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
