"""The calls API: thin views — input serializer, service, output serializer."""

from __future__ import annotations

from django.conf import settings
from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from calls import selectors, services
from calls.api.serializers import (
    CallBatchCreatedSerializer,
    CallBatchInputSerializer,
    CallInputSerializer,
    CallListQuerySerializer,
    CallSerializer,
    ConsultationQuerySerializer,
    RecordingAccessSerializer,
    RecordingSummarySerializer,
    RecordingUploadSerializer,
    RetentionRuleSerializer,
    TranscriptInputSerializer,
    TranscriptSerializer,
)
from calls.models import Call, Recording, RetentionRule, Transcript
from calls.views import consultant, recording_response
from portal.api.viewsets import TenantModelViewSet, TenantViewSet, query_values

# Multipart framing around the file: a request larger than the limit plus this is refused
# before its body is read.
MULTIPART_OVERHEAD = 64 * 1024


def _valid(serializer_class, data, **context) -> dict:
    if isinstance(data, QueryDict):
        data = query_values(data, serializer_class().fields)
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class CallViewSet(mixins.RetrieveModelMixin, TenantViewSet):
    """Calls pushed by the tenant's telephony integration."""

    queryset = Call.objects.all()
    serializer_class = CallSerializer
    http_method_names = ["get", "post", "put", "delete", "head", "options"]
    action_roles = {"destroy": "admin"}

    def get_queryset(self):
        return selectors.calls_with_details(super().get_queryset())

    def _detail(self, call: Call) -> dict:
        return CallSerializer(self.get_queryset().get(pk=call.pk)).data

    @extend_schema(parameters=[CallListQuerySerializer], responses=CallSerializer(many=True))
    def list(self, request):
        """Calls, newest first; `number` matches caller or callee written in any format."""
        query = _valid(CallListQuerySerializer, request.query_params, tenant=request.tenant)
        page = self.paginate_queryset(selectors.call_list(tenant=request.tenant, **query))
        return self.get_paginated_response(CallSerializer(page, many=True).data)

    @extend_schema(request=CallInputSerializer, responses={201: CallSerializer})
    def create(self, request):
        """Store one call. Numbers are normalised to E.164; purposes are checked against the
        consent ledger (the tenant's purpose gate refuses or flags a purpose without basis)."""
        call = services.call_create(
            tenant=request.tenant, **_valid(CallInputSerializer, request.data)
        )
        return Response(self._detail(call), status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            204: None,
            409: OpenApiResponse(description="Deletion blocked (legal hold, minimum retention)"),
        }
    )
    def destroy(self, request, pk=None):
        """Delete a call, its recording (every stored version) and transcript — unless a legal
        hold keeps it or its category's minimum retention period is still running (409)."""
        call = self.get_object()
        services.call_delete(call=call, reason="deleted through the API", source="api")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=CallBatchInputSerializer, responses={201: CallBatchCreatedSerializer})
    @action(detail=False, methods=["post"])
    def batch(self, request):
        """Store up to 500 calls, all or nothing; errors name the item and field
        (`calls.3.caller`)."""
        data = _valid(CallBatchInputSerializer, request.data)
        calls = services.call_batch_create(tenant=request.tenant, calls=data["calls"])
        body = {
            "count": len(calls),
            "calls": [
                {"id": c.pk, "external_id": c.external_id, "gate_flags": c.gate_flags}
                for c in calls
            ],
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[ConsultationQuerySerializer],
        responses={
            (200, "audio/*"): OpenApiTypes.BINARY,  # as stored: RECORDING_CONTENT_TYPES
            403: OpenApiResponse(description="Processing of the call is restricted"),
            404: OpenApiResponse(description="No such call, or no recording"),
        },
    )
    @action(detail=True, methods=["get"], parser_classes=[MultiPartParser])
    def recording(self, request, pk=None):
        """Stream the recording. The consultation is logged with its `purpose` (required)."""
        call = self.get_object()
        query = _valid(ConsultationQuerySerializer, request.query_params)
        opened = services.recording_open(
            call=call, how=query["how"], purpose=query["purpose"], **consultant(request)
        )
        return recording_response(opened, how=query["how"])

    @extend_schema(
        request={"multipart/form-data": RecordingUploadSerializer},
        responses={200: RecordingSummarySerializer, 201: RecordingSummarySerializer},
    )
    @recording.mapping.put
    def recording_upload(self, request, pk=None):
        """Attach or replace the recording (multipart field `file`). Size limit and allowed
        content types come from the settings (413, 415); SHA-256 is computed on the way in."""
        call = self.get_object()
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > settings.RECORDING_MAX_BYTES + MULTIPART_OVERHEAD:
            raise services.recording_too_large_error()
        existed = Recording.objects.filter(call=call).exists()
        data = _valid(RecordingUploadSerializer, request.data)
        upload = data["file"]
        recording = services.recording_attach(
            call=call,
            file=upload,
            content_type=upload.content_type,
            duration_seconds=data.get("duration_seconds"),
        )
        return Response(
            RecordingSummarySerializer(recording).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    @extend_schema(parameters=[ConsultationQuerySerializer], responses=TranscriptSerializer)
    @action(detail=True, methods=["get"])
    def transcript(self, request, pk=None):
        """Read the transcript. The consultation is logged with its `purpose` (required)."""
        call = self.get_object()
        query = _valid(ConsultationQuerySerializer, request.query_params)
        transcript = services.transcript_read(
            call=call, how=query["how"], purpose=query["purpose"], **consultant(request)
        )
        return Response(TranscriptSerializer(transcript).data)

    @extend_schema(
        request=TranscriptInputSerializer,
        responses={200: TranscriptSerializer, 201: TranscriptSerializer},
    )
    @transcript.mapping.put
    def transcript_set(self, request, pk=None):
        """Attach or replace the transcript (`language`, `text`)."""
        call = self.get_object()
        existed = Transcript.objects.filter(call=call).exists()
        transcript = services.transcript_set(
            call=call, **_valid(TranscriptInputSerializer, request.data)
        )
        return Response(
            TranscriptSerializer(transcript).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    @extend_schema(responses=RecordingAccessSerializer(many=True))
    @action(detail=True, methods=["get"])
    def accesses(self, request, pk=None):
        """Who consulted this call's recording and transcript, when, how and why."""
        call = self.get_object()
        queryset = selectors.recording_accesses_for_calls(tenant=request.tenant, call_ids=[call.pk])
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(RecordingAccessSerializer(page, many=True).data)


class RetentionRuleViewSet(TenantModelViewSet):
    """Per category: `max_age_days` (older calls are deleted by the daily sweep) and
    `min_age_days` (a legal obligation to keep; deletion before then is refused)."""

    queryset = RetentionRule.objects.all()
    serializer_class = RetentionRuleSerializer
    write_role = "admin"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = services.retention_rule_create(
            tenant=self.request.tenant, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.retention_rule_update(
            rule=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.retention_rule_delete(rule=instance)
