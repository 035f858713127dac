from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from breaches import services
from breaches.api.serializers import AcknowledgeSerializer, TenantBreachSerializer
from breaches.filters import TenantBreachFilter
from breaches.models import BreachIncident, BreachNotification
from breaches.selectors import with_tenant_view
from portal.api.viewsets import TenantViewSet
from portal.models import ApiKey


class BreachViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Breach notices: the personal-data breaches you have been told about, each with your own
    counts and the notices sent to you. Acknowledge receipt with `acknowledge`."""

    # ``for_tenant`` on incidents means "told to this tenant" (see BreachIncidentQuerySet).
    queryset = BreachIncident.objects.all()
    serializer_class = TenantBreachSerializer
    filterset_class = TenantBreachFilter
    read_role = "viewer"
    write_role = "admin"

    def get_queryset(self):
        return with_tenant_view(super().get_queryset(), tenant=self.request.tenant)

    @extend_schema(request=AcknowledgeSerializer, responses=TenantBreachSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Confirm receipt of the incident's notices (all not yet acknowledged, or one)."""
        incident = self.get_object()
        serializer = AcknowledgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        user = None if api_key else request.user
        notification_id = serializer.validated_data.get("notification")
        if notification_id is None:
            services.incident_acknowledge(
                incident=incident, tenant=request.tenant, user=user, api_key=api_key
            )
        else:
            notice = (
                BreachNotification.objects.for_tenant(request.tenant)
                .filter(incident=incident, pk=notification_id)
                .first()
            )
            if notice is None:
                raise Http404("No such notice of this incident.")
            services.notification_acknowledge(notification=notice, user=user, api_key=api_key)
        return Response(self.get_serializer(self.get_queryset().get(pk=incident.pk)).data)
