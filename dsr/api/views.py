from django.http import FileResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from storages.backends.s3 import S3Storage

from dsr import packages, services
from dsr.api.serializers import (
    RequestConfirmSerializer,
    RequestCreateSerializer,
    RequestSerializer,
)
from dsr.filters import RequestFilter
from dsr.models import DataSubjectRequest, RequestChannel
from portal.api.viewsets import TenantViewSet
from portal.models import ApiKey


def _actor(request):
    api_key = request.auth if isinstance(request.auth, ApiKey) else None
    user = request.user if request.user.is_authenticated else None
    return user, api_key


class RequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantViewSet
):
    """Data-subject requests (Art. 15–21): open, follow, confirm, download the package."""

    queryset = DataSubjectRequest.objects.prefetch_related(
        "subject_numbers", "packages", "notices"
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
        storage = package.file.storage
        if isinstance(storage, S3Storage):
            # Object storage serves the bytes itself, through a URL that expires quickly.
            return HttpResponseRedirect(storage.url(package.file.name))
        response = FileResponse(
            storage.open(package.file.name, "rb"),
            as_attachment=True,
            filename=f"request-{obj.pk}-package.zip",
            content_type="application/zip",
        )
        response["X-Content-SHA256"] = package.sha256
        return response
