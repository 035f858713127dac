"""List filters of the request API (and later the dashboard)."""

import django_filters

from dsr import selectors
from dsr.models import DataSubjectRequest, RequestKind, RequestStatus
from portal.api.filters import StrictBooleanFilter


class RequestFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=RequestStatus.choices)
    kind = django_filters.MultipleChoiceFilter(choices=RequestKind.choices)
    overdue = StrictBooleanFilter(
        method="filter_overdue", help_text="true: open and past the deadline; false: the others."
    )

    class Meta:
        model = DataSubjectRequest
        fields = ["status", "kind", "overdue"]

    def filter_overdue(self, queryset, name, value):
        overdue = selectors.overdue_requests(queryset)
        if value:
            return overdue
        return queryset.exclude(pk__in=overdue.values("pk"))
