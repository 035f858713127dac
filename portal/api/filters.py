"""Filters shared by the API's filtersets."""

from __future__ import annotations

import django_filters
from django import forms


class StrictNullBooleanField(forms.NullBooleanField):
    """``true``/``false`` (or ``1``/``0``); anything else is an error, not "no filter"."""

    ACCEPTED = {"true": True, "1": True, "false": False, "0": False}
    widget = forms.TextInput  # NullBooleanSelect would read any unknown value as "no filter"

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        try:
            return self.ACCEPTED[str(value).lower()]
        except KeyError:
            raise forms.ValidationError("Give true or false.", code="invalid") from None

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictNullBooleanField
