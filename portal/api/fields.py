"""Input fields shared by every app's API."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from portal.validators import timestamp_validate


class BoundedDateTimeField(serializers.DateTimeField):
    """ISO 8601 date-time between 2000-01-01 and 100 years from now; year 1 or 9999 is a typing
    error (and overflows when converted to UTC), answered 400."""

    def to_internal_value(self, value):
        try:
            parsed = super().to_internal_value(value)
        except OverflowError:
            self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]")
        try:
            timestamp_validate(parsed)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return parsed
