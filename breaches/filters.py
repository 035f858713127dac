import django_filters

from breaches.models import BreachIncident, BreachNotification, RiskLevel


class TenantBreachFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=BreachIncident.Status.choices)
    risk_level = django_filters.ChoiceFilter(choices=RiskLevel.choices)
    unacknowledged = django_filters.BooleanFilter(
        method="filter_unacknowledged",
        label="Only incidents with a notice you have not acknowledged (true) or none (false).",
    )

    class Meta:
        model = BreachIncident
        fields = ["status", "risk_level", "unacknowledged"]

    def filter_unacknowledged(self, queryset, name, value):
        pending = BreachNotification.objects.for_tenant(self.request.tenant).filter(
            recipient=BreachNotification.Recipient.TENANT, acknowledged_at__isnull=True
        )
        ids = pending.values("incident_id")
        return queryset.filter(pk__in=ids) if value else queryset.exclude(pk__in=ids)
