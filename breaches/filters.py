import django_filters

from breaches.models import BreachIncident, RiskLevel
from breaches.selectors import tenant_unacknowledged_notices
from portal.api.filters import StrictBooleanFilter
from portal.dashboard_lists import TenantFilterSet


def filter_by_acknowledgement(queryset, tenant, *, unacknowledged: bool):
    """Incidents with a notice the tenant has not acknowledged yet (or, False, none left)."""
    ids = tenant_unacknowledged_notices(tenant).values("incident_id")
    return queryset.filter(pk__in=ids) if unacknowledged else queryset.exclude(pk__in=ids)


class TenantBreachFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=BreachIncident.Status.choices)
    risk_level = django_filters.ChoiceFilter(choices=RiskLevel.choices)
    unacknowledged = StrictBooleanFilter(
        method="filter_unacknowledged",
        label="Only incidents with a notice you have not acknowledged (true) or none (false).",
    )

    class Meta:
        model = BreachIncident
        fields = ["status", "risk_level", "unacknowledged"]

    def filter_unacknowledged(self, queryset, name, value):
        return filter_by_acknowledgement(queryset, self.request.tenant, unacknowledged=value)


class BreachNoticeFilterSet(TenantFilterSet):
    """The dashboard's breach notices: to acknowledge or not, incident status, our risk advice."""

    acknowledgement = django_filters.ChoiceFilter(
        choices=[("unacknowledged", "To acknowledge"), ("acknowledged", "Acknowledged")],
        method="filter_acknowledgement",
        label="Acknowledgement",
        empty_label="Any",
    )
    status = django_filters.ChoiceFilter(
        choices=BreachIncident.Status.choices, label="Incident status", empty_label="Any"
    )
    risk_level = django_filters.ChoiceFilter(
        choices=RiskLevel.choices, label="Our risk advice", empty_label="Any"
    )

    class Meta:
        model = BreachIncident
        fields = ["acknowledgement", "status", "risk_level"]

    def filter_acknowledgement(self, queryset, name, value):
        return filter_by_acknowledgement(
            queryset, self.request.tenant, unacknowledged=value == "unacknowledged"
        )
