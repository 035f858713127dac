from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from portal import services, webhooks
from portal.api.serializers import (
    TenantSerializer,
    TenantUpdateSerializer,
    WebhookCreatedSerializer,
    WebhookDeliverySerializer,
    WebhookSerializer,
)
from portal.api.viewsets import TenantAPIView, TenantModelViewSet
from portal.models import Webhook, WebhookDelivery


class TenantView(TenantAPIView):
    """The tenant the key (or session) acts for, and its settings."""

    write_role = "admin"
    serializer_class = TenantSerializer

    @extend_schema(responses=TenantSerializer)
    def get(self, request):
        return Response(TenantSerializer(request.tenant).data)

    @extend_schema(request=TenantUpdateSerializer, responses=TenantSerializer)
    def patch(self, request):
        serializer = TenantUpdateSerializer(request.tenant, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        tenant = services.tenant_update_settings(tenant=request.tenant, **serializer.validated_data)
        return Response(TenantSerializer(tenant).data)


class WebhookViewSet(TenantModelViewSet):
    """Endpoints that receive signed event deliveries (see X-Portal-Signature)."""

    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer
    write_role = "admin"
    read_role = "admin"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(responses={201: WebhookCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = webhooks.webhook_create(tenant=request.tenant, **serializer.validated_data)
        return Response(WebhookCreatedSerializer(webhook).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        webhooks.webhook_update(webhook=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        webhooks.webhook_delete(webhook=instance)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a signed test delivery now."""
        delivery = webhooks.webhook_send_test(webhook=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=WebhookDeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """Recent deliveries to this endpoint, newest first."""
        webhook = self.get_object()
        queryset = WebhookDelivery.objects.for_tenant(request.tenant).filter(webhook=webhook)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
