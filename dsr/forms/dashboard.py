"""Forms and list filters of the tenant dashboard's request pages (``dsr/views.py``).

The forms only check input and say clearly what is wrong; opening and confirming are the
services' (``request_open``, ``request_confirm``), as in the API.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.utils import timezone

from dsr import selectors
from dsr.models import CLOSED_STATUSES, DataSubjectRequest, RequestChannel, RequestKind
from dsr.selectors import dashboard as dashboard_selectors
from portal.dashboard_lists import TenantFilterSet
from portal.errors import BusinessRuleError
from portal.forms import OneTimeFormMixin
from portal.numbers import normalize_number

# The same bounds as the API (dsr/api/serializers.py RequestCreateSerializer).
MAX_NUMBERS = 20
MAX_DETAILS = 10000
MAX_NOTE = 2000

KIND_EXPLANATIONS = {
    RequestKind.ACCESS: "a copy of their calls, recordings, transcripts and consent history",
    RequestKind.ERASURE: "their data deleted",
    RequestKind.RECTIFICATION: "a correction or statement added to their call records",
    RequestKind.RESTRICTION: "their data kept but no longer used",
    RequestKind.PORTABILITY: "their data in a machine-readable form",
    RequestKind.OBJECTION: "no more processing on legitimate interests",
}
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
# Short names of the channels, for a list column and a filter.
CHANNEL_LABELS = {
    RequestChannel.API: "API",
    RequestChannel.DASHBOARD: "Dashboard",
    RequestChannel.ADMIN: "Platform staff, for you",
    RequestChannel.DIRECT_TO_PROCESSOR: "Sent to the platform",
}


def kind_choices() -> list[tuple[str, str]]:
    return [(kind, f"{label} — {KIND_EXPLANATIONS[kind]}") for kind, label in RequestKind.choices]


class RequestOpenForm(OneTimeFormMixin):
    kind = forms.ChoiceField(
        label="What does the caller ask for?",
        choices=kind_choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what the caller asks for."},
    )
    numbers = forms.CharField(
        label="The caller's phone numbers",
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": "Give at least one phone number of the caller."},
    )
    name = forms.CharField(
        label="Name",
        required=False,
        max_length=DataSubjectRequest._meta.get_field("name").max_length,
        help_text="Optional.",
    )
    email = forms.EmailField(
        label="Email address",
        required=False,
        help_text="Optional. Where notices to the caller (an extension, a refusal) are sent.",
    )
    details = forms.CharField(
        label="What the caller asked for, in their words",
        required=False,
        max_length=MAX_DETAILS,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    received_at = forms.DateTimeField(
        label="Received",
        required=False,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        error_messages={"invalid": "Give a date and time, e.g. 2025-03-05 14:30."},
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["numbers"].help_text = (
            f"One per line, in any format (0151 1234 5678, +49 151 12345678, 0049…). A number "
            f"without a country code is read as a number of {tenant.country}. "
            f"At most {MAX_NUMBERS}."
        )
        now = timezone.localtime()  # the tenant's time zone on dashboard pages
        self.fields["received_at"].help_text = (
            f"Only if the request reached you earlier by another channel (letter, email, phone): "
            f"when it did, in your local time ({tenant.timezone}). Leave empty for now. The "
            f"one-month deadline runs from receipt; it cannot be in the future."
        )
        self.fields["received_at"].widget.attrs["max"] = now.strftime(DATETIME_LOCAL)

    def clean_numbers(self) -> list[str]:
        """Each non-empty line must be a phone number; the errors name the lines."""
        lines = [
            (number, line.strip())
            for number, line in enumerate(self.cleaned_data["numbers"].splitlines(), start=1)
            if line.strip()
        ]
        errors = []
        for number, text in lines:
            try:
                normalize_number(text, country=self.tenant.country, field="numbers")
            except BusinessRuleError as error:
                errors.append(f"Line {number}: {error.message}")
        if errors:
            raise forms.ValidationError(errors)
        if not lines:
            raise forms.ValidationError(self.fields["numbers"].error_messages["required"])
        if len(lines) > MAX_NUMBERS:
            raise forms.ValidationError(
                f"At most {MAX_NUMBERS} numbers per request ({len(lines)} given)."
            )
        return [text for _, text in lines]  # request_open normalises them, as for the API


class RequestConfirmForm(forms.Form):
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For the timeline, e.g. your ticket number.",
    )


# --- the list's filters ----------------------------------------------------------------------

STATE_CHOICES = [
    ("open", "Open (any)"),
    ("to_confirm", "Waiting for your confirmation"),
    *[(value, label) for value, label in DataSubjectRequest._meta.get_field("status").choices],
    ("closed", "Closed (any)"),
]
DEADLINE_CHOICES = [
    ("overdue", "Overdue"),
    ("soon", f"Due within {dashboard_selectors.DUE_SOON_DAYS} days"),
    ("paused", "Clock paused"),
    ("extended", "Extended"),
]


class RequestListFilterSet(TenantFilterSet):
    status = django_filters.ChoiceFilter(
        choices=STATE_CHOICES, method="filter_status", label="Status", empty_label="Any"
    )
    kind = django_filters.ChoiceFilter(choices=RequestKind.choices, label="Kind", empty_label="Any")
    deadline = django_filters.ChoiceFilter(
        choices=DEADLINE_CHOICES, method="filter_deadline", label="Deadline", empty_label="Any"
    )
    channel = django_filters.ChoiceFilter(
        choices=list(CHANNEL_LABELS.items()), label="Came in by", empty_label="Any"
    )
    number = django_filters.CharFilter(
        method="filter_number", label="Phone number", help_text="In any format."
    )

    class Meta:
        model = DataSubjectRequest
        fields = ["status", "kind", "deadline", "channel", "number"]

    def filter_status(self, queryset, name, value):
        if value == "open":
            return selectors.open_requests(queryset)
        if value == "closed":
            return queryset.filter(status__in=CLOSED_STATUSES)
        if value == "to_confirm":
            return selectors.awaiting_confirmation(queryset)
        return queryset.filter(status=value)

    def filter_deadline(self, queryset, name, value):
        if value == "overdue":
            return selectors.overdue_requests(queryset)
        if value == "soon":
            return dashboard_selectors.due_soon(queryset, tenant=self.request.tenant)
        if value == "paused":
            return selectors.open_requests(queryset).filter(clock_paused_at__isnull=False)
        return queryset.filter(extended_due_at__isnull=False)  # "extended"

    def filter_number(self, queryset, name, value):
        return selectors.requests_for_number(
            queryset, value, countries=[self.request.tenant.country]
        )
