"""Consent API: the ledger (give, withdraw, history), the call-time check, purposes, notices
and SMS consent notices. Views are thin: input serializer → service → output serializer."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from consent import selectors, services
from consent.api.serializers import (
    ConsentCheckSerializer,
    ConsentEventSerializer,
    ConsentInputSerializer,
    InboundSmsInputSerializer,
    InboundSmsSerializer,
    NoticeSerializer,
    PurposeSerializer,
    SmsNoticeInputSerializer,
    SmsNoticeSerializer,
)
from consent.filters import ConsentEventFilter, PurposeFilter
from consent.models import ConsentEvent, PrivacyNotice, Purpose
from portal.api.authentication import ApiKeyAuthentication
from portal.api.viewsets import TenantAPIView, TenantModelViewSet, TenantViewSet
from portal.models import ApiKey


def _actor(request) -> dict:
    """Who records: the API key for an integration, else the logged-in user."""
    if isinstance(request.auth, ApiKey):
        return {"api_key": request.auth}
    return {"recorded_by": request.user}


class ConsentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The append-only consent ledger: give, withdraw (a new event), and the history."""

    queryset = ConsentEvent.objects.select_related(
        "purpose", "notice", "recorded_by", "recorded_by_api_key"
    )
    serializer_class = ConsentEventSerializer
    filterset_class = ConsentEventFilter
    http_method_names = ["get", "post", "head", "options"]

    def _record(self, request, service):
        serializer = ConsentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.get("lawful_basis") is None:
            data.pop("lawful_basis", None)  # the service's default (withdrawal: consent)
        event = service(tenant=request.tenant, source="api", **data, **_actor(request))
        return Response(ConsentEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ConsentInputSerializer,
        responses={201: ConsentEventSerializer},
        summary="Record a consent (or another lawful basis) for one number and one purpose",
    )
    def create(self, request, *args, **kwargs):
        return self._record(request, services.consent_give)

    @extend_schema(
        request=ConsentInputSerializer,
        responses={201: ConsentEventSerializer},
        summary="Withdraw a consent: the same fields as giving, recorded as a new event",
    )
    @action(detail=False, methods=["post"])
    def withdraw(self, request):
        return self._record(request, services.consent_withdraw)


class ConsentCheckView(TenantAPIView):
    """May this number be processed for this purpose now? One indexed lookup."""

    @extend_schema(
        parameters=[
            OpenApiParameter("number", OpenApiTypes.STR, required=True, description="Any form."),
            OpenApiParameter("purpose", OpenApiTypes.STR, required=True, description="A code."),
        ],
        responses=ConsentCheckSerializer,
    )
    def get(self, request):
        answer = selectors.consent_check(
            request.tenant,
            request.query_params.get("number", ""),
            request.query_params.get("purpose", ""),
        )
        return Response(
            {
                "allowed": answer.allowed,
                "basis": answer.basis,
                "since": answer.since,
                "event": answer.event_id,
                "reason": answer.reason,
                "code": answer.code,
                "compelling_grounds": answer.compelling_grounds,
            }
        )


class PurposeViewSet(TenantModelViewSet):
    """The tenant's purposes. One in use cannot be deleted: deactivate it (is_active=false)."""

    queryset = Purpose.objects.all()
    serializer_class = PurposeSerializer
    write_role = "admin"
    filterset_class = PurposeFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = services.purpose_create(
            tenant=self.request.tenant, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.purpose_update(
            purpose=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.purpose_delete(purpose=instance)


class NoticeViewSet(TenantModelViewSet):
    """Privacy-notice versions. A version shown to subjects is never changed or deleted."""

    queryset = PrivacyNotice.objects.all()
    serializer_class = NoticeSerializer
    write_role = "admin"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = services.notice_create(
            tenant=self.request.tenant, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.notice_update(
            notice=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.notice_delete(notice=instance)


class SmsNoticeView(TenantAPIView):
    """Send the consent notice for one purpose by SMS; the message id is the evidence to name
    when the subject's consent is recorded (method sms_notice). Sending records no consent."""

    @extend_schema(request=SmsNoticeInputSerializer, responses={201: SmsNoticeSerializer})
    def post(self, request):
        serializer = SmsNoticeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actor = _actor(request)
        sent = services.sms_notice_send(
            tenant=request.tenant,
            sent_by=actor.get("recorded_by"),
            api_key=actor.get("api_key"),
            **serializer.validated_data,
        )
        return Response(SmsNoticeSerializer(sent).data, status=status.HTTP_201_CREATED)


class InboundSmsView(TenantAPIView):
    """An SMS a subject sent, passed on by the tenant's SMS provider (API key of the tenant).

    "STOP" (any case, spaces or punctuation; also STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
    OPTOUT, STOPP) withdraws every consent in force that was given by SMS notice from that
    number, in the ledger before the answer, with the message as evidence (Art. 7(3)). Other
    replies are kept and ignored. Idempotent on `message_id`: a retry returns the first outcome.
    """

    authentication_classes = [ApiKeyAuthentication]

    @extend_schema(
        request=InboundSmsInputSerializer,
        responses={201: InboundSmsSerializer, 200: InboundSmsSerializer},
        summary="Receive an SMS from a subject (STOP withdraws consent given by SMS)",
    )
    def post(self, request):
        serializer = InboundSmsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        inbound, created = services.sms_inbound_receive(
            tenant=request.tenant,
            sender=data["from"],
            text=data["text"],
            message_id=data["message_id"],
            api_key=request.auth,
        )
        return Response(
            InboundSmsSerializer(inbound).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
