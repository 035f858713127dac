"""Filters of the dashboard's call list.

The filters only describe the form: the list is narrowed by ``selectors.call_filter``, the same
selector as the API's ``GET /calls/``, so a number is matched the same way everywhere.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.utils import timezone

from calls import selectors
from calls.models import Call
from consent.models import Purpose
from portal.dashboard import add_rule_error
from portal.dashboard_lists import TenantFilterSet
from portal.errors import BusinessRuleError

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CheckboxFilter(django_filters.Filter):
    """Ticked or not (a NullBooleanField would read "not ticked" as "only the others")."""

    field_class = forms.BooleanField


class CallFilterSet(TenantFilterSet):
    number = django_filters.CharFilter(
        label="Number",
        help_text="Caller or callee, in any format, e.g. 030 1234567.",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    started_after = django_filters.DateFilter(label="From", widget=DATE)
    started_before = django_filters.DateFilter(label="To", widget=DATE)
    purpose = django_filters.ModelChoiceFilter(
        label="Purpose", queryset=Purpose.objects.all(), to_field_name="code", empty_label="Any"
    )
    category = django_filters.CharFilter(
        label="Category", widget=forms.TextInput(attrs={"list": "call-categories"})
    )
    direction = django_filters.ChoiceFilter(choices=Call.Direction.choices, empty_label="Any")
    flagged = CheckboxFilter(label="Flagged by the purpose gate")
    restricted = CheckboxFilter(label="Restricted")

    class Meta:
        model = Call
        fields: list[str] = []

    def _local(self, day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, time()), self.request.tenant.tzinfo)

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        after, before = data.get("started_after"), data.get("started_before")
        if after and before and before < after:
            self.form.add_error("started_before", "The end of the range is before its start.")
            return queryset.none()
        purpose = data.get("purpose")
        try:
            return selectors.call_filter(
                queryset,
                tenant=self.request.tenant,
                number=(data.get("number") or "").strip() or None,
                started_after=self._local(after) if after else None,
                # "To" is inclusive on the page: calls of that whole (tenant-local) day.
                started_before=self._local(before + timedelta(days=1)) if before else None,
                purpose=purpose.code if purpose else None,
                category=(data.get("category") or "").strip().lower() or None,
                direction=data.get("direction") or None,
                flagged=True if data.get("flagged") else None,
                restricted=True if data.get("restricted") else None,
            )
        except BusinessRuleError as error:  # an unreadable number, on the number field
            add_rule_error(self.form, error)
            return queryset.none()
