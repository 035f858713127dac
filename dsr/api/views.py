from django.db.models import Prefetch
from django.utils.html import escape
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from dsr import services
from dsr.api.serializers import (
    RequestConfirmSerializer,
    RequestCreateSerializer,
    RequestSerializer,
)
from dsr.filters import RequestFilter
from dsr.models import DataSubjectRequest, ErasureCertificate, RequestChannel
from dsr.services import packages
from dsr.services.erasure import certificate as certificates
from portal.api.viewsets import TenantViewSet
from portal.content_security import allow_inline_styles
from portal.models import ApiKey


class CertificateJSONRenderer(BaseRenderer):
    """The certificate's JSON exactly as issued (canonical), so that its SHA-256 matches the one
    recorded in the request's history; errors as usual."""

    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, ErasureCertificate):
            return certificates.certificate_bytes(data)
        return certificates.canonical_json(data)


class CertificateHTMLRenderer(BaseRenderer):
    media_type = "text/html"
    format = "html"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, ErasureCertificate):
            response = (renderer_context or {}).get("response")
            if response is not None:
                allow_inline_styles(response)
            return certificates.certificate_html(data).encode()
        message = (data or {}).get("error", {}).get("message", "Error")
        return f"<!doctype html><title>Error</title><p>{escape(message)}</p>".encode()


def _actor(request):
    api_key = request.auth if isinstance(request.auth, ApiKey) else None
    user = request.user if request.user.is_authenticated else None
    return user, api_key


class RequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantViewSet
):
    """Data-subject requests (Art. 15–21): open, follow, confirm, download the package."""

    queryset = DataSubjectRequest.objects.prefetch_related(
        "subject_numbers",
        "packages",
        "notices",
        Prefetch(
            "erasure_certificates",
            queryset=ErasureCertificate.objects.only(
                "id", "request_id", "version", "sha256", "issued_at"
            ),
        ),
    ).order_by("-received_at", "-id")
    serializer_class = RequestSerializer
    filterset_class = RequestFilter
    write_role = "agent"

    @extend_schema(request=RequestCreateSerializer, responses={201: RequestSerializer})
    def create(self, request, *args, **kwargs):
        serializer = RequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, api_key = _actor(request)
        created = services.request_open(
            tenant=request.tenant,
            channel=RequestChannel.API,
            by=user,
            api_key=api_key,
            **serializer.validated_data,
        )
        created = self.get_queryset().get(pk=created.pk)
        return Response(RequestSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RequestConfirmSerializer, responses=RequestSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """Confirm, as controller, a request a subject sent to the platform directly."""
        obj = self.get_object()
        serializer = RequestConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, api_key = _actor(request)
        services.request_confirm(request=obj, by=user, api_key=api_key, **serializer.validated_data)
        return Response(RequestSerializer(self.get_queryset().get(pk=obj.pk)).data)

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            302: OpenApiResponse(description="Redirect to a short-lived signed storage URL."),
            404: OpenApiResponse(description="No package (yet)."),
            410: OpenApiResponse(description="The package expired and was deleted."),
        }
    )
    @action(detail=True, methods=["get"])
    def package(self, request, pk=None):
        """Download the access or portability package (a ZIP). Each download is logged."""
        obj = self.get_object()
        package = packages.package_for_download(obj)
        user, api_key = _actor(request)
        packages.package_download_log(
            package=package, by=user, api_key=api_key, ip_address=request.META.get("REMOTE_ADDR")
        )
        return packages.package_file_response(package, filename=f"request-{obj.pk}-package.zip")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=["json", "html"],
                description="`html` for the readable page (or send `Accept: text/html`).",
            )
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/html"): OpenApiTypes.STR,
            (404, "application/json"): OpenApiTypes.OBJECT,
            (404, "text/html"): OpenApiTypes.STR,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[CertificateJSONRenderer, CertificateHTMLRenderer],
    )
    def certificate(self, request, pk=None):
        """The erasure certificate (latest version): what was erased, what is kept and why, when,
        on whose approval, and the residual-data scan. JSON as issued — its SHA-256 (header
        `X-Content-SHA256`) is the one recorded in the request's timeline."""
        obj = self.get_object()
        issued = certificates.certificate_latest(obj)
        if issued is None:
            raise NotFound("This request has no erasure certificate (yet).")
        response = Response(issued)
        response["X-Content-SHA256"] = issued.sha256
        return response
