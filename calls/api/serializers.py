"""Input and output shapes of the calls API. Validation of types here; rules in services."""

from __future__ import annotations

from datetime import date, datetime, time

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from calls.models import Call, Recording, RecordingAccess, RetentionRule, Transcript
from calls.selectors import call_media
from calls.services import MAX_BATCH
from calls.services.media import LANGUAGE_TAG
from consent.models import ConsentEvent
from portal.api.fields import BoundedDateTimeField
from portal.validators import MAX_PERIOD_DAYS


class InformedBySerializer(serializers.Serializer):
    """How the caller was informed (Art. 13): for every basis, not only consent."""

    method = serializers.ChoiceField(
        choices=ConsentEvent.Method.choices,
        help_text="How, e.g. ivr_announcement, sms_notice, contract_clause.",
    )
    notice_version = serializers.CharField(
        max_length=32, help_text="The privacy-notice version in force, as given to the caller."
    )
    evidence = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        help_text="The announcement's version, the SMS notice's id, the contract clause…",
    )


class CallInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=128, help_text="Your id for the call.")
    direction = serializers.ChoiceField(choices=Call.Direction.choices)
    caller = serializers.CharField(
        max_length=40,
        help_text="Any format; a number without country code is read in the tenant's country.",
    )
    callee = serializers.CharField(max_length=40, help_text="Any format, as `caller`.")
    started_at = BoundedDateTimeField(help_text="ISO 8601, with a UTC offset; from 2000-01-01 on.")
    ended_at = BoundedDateTimeField(required=False, allow_null=True, default=None)
    purposes = serializers.ListField(
        child=serializers.SlugField(max_length=64),
        required=False,
        default=list,
        help_text="Codes of the tenant's purposes the call is processed for.",
    )
    category = serializers.CharField(
        max_length=50,
        required=False,
        allow_blank=True,
        default="",
        help_text="Retention category, e.g. complaint, sales, support.",
    )
    informed_by = InformedBySerializer(
        required=False,
        allow_null=True,
        default=None,
        help_text="How the caller was informed (Art. 13); required where the tenant sets "
        "require_notice_proof.",
    )


class CallBatchInputSerializer(serializers.Serializer):
    calls = CallInputSerializer(many=True, help_text=f"1 to {MAX_BATCH} calls.")

    def to_internal_value(self, data):
        # The size is checked before any item, and reported on `calls` itself.
        calls = data.get("calls") if isinstance(data, dict) else None
        if isinstance(calls, list) and not 1 <= len(calls) <= MAX_BATCH:
            raise serializers.ValidationError(
                {"calls": [f"Send 1 to {MAX_BATCH} calls; this batch has {len(calls)}."]}
            )
        return super().to_internal_value(data)


class RecordingSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Recording
        fields = ["content_type", "size_bytes", "duration_seconds", "sha256", "created_at"]


class TranscriptSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Transcript
        fields = ["language", "updated_at"]


class CallSerializer(serializers.ModelSerializer):
    purposes = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")
    gate_flags = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Purposes without a lawful basis at ingest (purpose gate in flag mode); "
        "also '(no purpose)' for a call with none, '(no notice proof)' for a call without "
        "informed_by where the tenant requires it.",
    )
    informed_by = InformedBySerializer(read_only=True, allow_null=True)
    recording = serializers.SerializerMethodField()
    transcript = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "id",
            "external_id",
            "direction",
            "caller",
            "callee",
            "started_at",
            "ended_at",
            "duration_seconds",
            "purposes",
            "category",
            "gate_flags",
            "informed_by",
            "is_restricted",
            "recording",
            "transcript",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(RecordingSummarySerializer(allow_null=True))
    def get_recording(self, call):
        recording = call_media(call, "recording")
        return RecordingSummarySerializer(recording).data if recording else None

    @extend_schema_field(TranscriptSummarySerializer(allow_null=True))
    def get_transcript(self, call):
        transcript = call_media(call, "transcript")
        return TranscriptSummarySerializer(transcript).data if transcript else None


class CallBatchCreatedSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    calls = serializers.ListField(
        child=serializers.DictField(),
        help_text="For each item, in order: `id`, `external_id` and `gate_flags`.",
    )


class DateOrDateTimeField(BoundedDateTimeField):
    """ISO 8601 date-time, or a plain date read as midnight in the tenant's time zone."""

    def to_internal_value(self, value):
        if isinstance(value, str) and len(value) == 10:
            try:
                day = date.fromisoformat(value)
            except ValueError:
                pass
            else:
                tenant = self.context.get("tenant")
                zone = tenant.tzinfo if tenant is not None else timezone.get_current_timezone()
                value = timezone.make_aware(datetime.combine(day, time()), zone).isoformat()
        return super().to_internal_value(value)


class CallListQuerySerializer(serializers.Serializer):
    number = serializers.CharField(
        required=False,
        max_length=40,
        help_text='Caller or callee, in any format ("+49 30 1234567", "030 1234567", '
        '"0049301234567").',
    )
    started_after = DateOrDateTimeField(
        required=False, help_text="Calls that started at or after this time (ISO 8601)."
    )
    started_before = DateOrDateTimeField(
        required=False, help_text="Calls that started before this time (ISO 8601)."
    )
    purpose = serializers.SlugField(required=False, help_text="A purpose code.")
    category = serializers.CharField(required=False, max_length=50)
    direction = serializers.ChoiceField(required=False, choices=Call.Direction.choices)


class ConsultationQuerySerializer(serializers.Serializer):
    purpose = serializers.CharField(
        max_length=255,
        help_text="Why it is consulted (logged): the code of one of the tenant's purposes "
        "compatible with the call's purposes (Art. 5(1)(b)); another is refused with 400 "
        "naming the compatible ones.",
    )
    how = serializers.ChoiceField(
        choices=[RecordingAccess.How.DOWNLOAD, RecordingAccess.How.PLAYBACK],
        default=RecordingAccess.How.DOWNLOAD,
        required=False,
        help_text="`download` (attachment) or `playback` (inline).",
    )


class RecordingUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=False, help_text="The audio file (multipart field `file`)."
    )
    duration_seconds = serializers.IntegerField(
        required=False, min_value=0, help_text="Measured from WAV files when omitted."
    )


class TranscriptInputSerializer(serializers.Serializer):
    language = serializers.RegexField(
        LANGUAGE_TAG.pattern, max_length=16, help_text="BCP 47 tag, e.g. de-DE."
    )
    text = serializers.RegexField(
        r"\S", trim_whitespace=False, help_text="The transcript; not only white space."
    )


class TranscriptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Transcript
        fields = ["language", "text", "created_at", "updated_at"]


class RecordingAccessSerializer(serializers.ModelSerializer):
    who = serializers.SerializerMethodField()

    class Meta:
        model = RecordingAccess
        fields = ["id", "accessed_at", "what", "how", "purpose", "who", "ip_address"]

    def get_who(self, access) -> str:
        if access.api_key_id:
            return f"api_key:{access.api_key.prefix}"
        if access.user_id:
            return f"user:{access.user.get_username()}"
        return "unknown"


class RetentionRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = RetentionRule
        fields = [
            "id",
            "category",
            "max_age_days",
            "min_age_days",
            "legal_ground",
            "legal_reference",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        # Uniqueness per tenant is checked by the service (the tenant is not in the body).
        validators: list = []
        extra_kwargs = {
            "max_age_days": {"min_value": 1, "max_value": MAX_PERIOD_DAYS},
            "min_age_days": {"max_value": MAX_PERIOD_DAYS},
        }
