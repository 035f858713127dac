from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dsr import selectors
from dsr.models import (
    AccessPackage,
    DataSubjectRequest,
    RejectionGround,
    RequestKind,
    SubjectNotice,
    VerificationMethod,
)
from portal.api.fields import BoundedDateTimeField


class RequestCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    numbers = serializers.ListField(
        child=serializers.CharField(max_length=40),
        allow_empty=False,
        min_length=1,
        max_length=20,
        help_text="The subject's phone numbers, in any format (read in the tenant's country "
        "when there is no country code).",
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    details = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)
    received_at = BoundedDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When the request reached you, if earlier by another channel (never in the "
        "future). The deadline runs from then.",
    )


class RequestConfirmSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class PackageSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = AccessPackage
        fields = ["id", "status", "size_bytes", "sha256", "ready_at", "expires_at", "download_url"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, obj) -> str | None:
        if not obj.is_downloadable():
            return None
        return reverse("request-package", args=[obj.request_id])


class SubjectNoticeSerializer(serializers.ModelSerializer):
    class Meta:
        model = SubjectNotice
        fields = ["kind", "text", "created_at", "emailed_at"]


class CertificateLinkSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    sha256 = serializers.CharField()
    issued_at = serializers.DateTimeField()
    url = serializers.CharField()


class RequestSerializer(serializers.ModelSerializer):
    numbers = serializers.ListField(child=serializers.CharField(), read_only=True)
    # Empty until given or decided: the schema says so (an empty string is no e-mail address).
    email = serializers.CharField(read_only=True, help_text="Empty when none was given.")
    verification_method = serializers.ChoiceField(
        choices=VerificationMethod.choices, allow_blank=True, read_only=True
    )
    rejection_ground = serializers.ChoiceField(
        choices=RejectionGround.choices, allow_blank=True, read_only=True
    )
    overdue = serializers.SerializerMethodField()
    package = serializers.SerializerMethodField()
    certificate = serializers.SerializerMethodField()
    notices = SubjectNoticeSerializer(many=True, read_only=True)

    class Meta:
        model = DataSubjectRequest
        fields = [
            "id",
            "kind",
            "status",
            "channel",
            "numbers",
            "name",
            "email",
            "details",
            "received_at",
            "due_at",
            "extended_due_at",
            "extension_reason",
            "effective_due_at",
            "clock_paused_at",
            "overdue",
            "forwarded_at",
            "confirmed_at",
            "verification_method",
            "verified_at",
            "decided_at",
            "approved_by_policy",
            "rejection_ground",
            "decision_reasons",
            "outcome",
            "approved_at",
            "rejected_at",
            "processing_at",
            "completed_at",
            "created_at",
            "package",
            "certificate",
            "notices",
        ]
        read_only_fields = fields

    def get_overdue(self, obj) -> bool:
        return obj.is_overdue(timezone.now())

    @extend_schema_field(PackageSerializer(allow_null=True))
    def get_package(self, obj):
        package = selectors.latest_package(obj)
        return PackageSerializer(package).data if package else None

    @extend_schema_field(CertificateLinkSerializer(allow_null=True))
    def get_certificate(self, obj):
        """The latest erasure certificate (erasure requests, once closed): its version, the
        SHA-256 recorded in the timeline, and where to download it."""
        issued = max(obj.erasure_certificates.all(), key=lambda c: c.version, default=None)
        if issued is None:
            return None
        return {
            "version": issued.version,
            "sha256": issued.sha256,
            "issued_at": issued.issued_at,
            "url": reverse("request-certificate", args=[obj.pk]),
        }
