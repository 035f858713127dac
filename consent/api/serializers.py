"""Input and output shapes of the consent API. Rules live in ``consent.services``."""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from consent.models import (
    ConsentEvent,
    InboundSms,
    LawfulBasis,
    PrivacyNotice,
    Purpose,
    SmsNotice,
)
from consent.services import BUNDLED_MESSAGE
from portal.api.fields import BoundedDateTimeField
from portal.errors import BusinessRuleError


class ServiceChoiceField(serializers.ChoiceField):
    """Documents the choices in the schema; the service checks them and explains a bad one."""

    def to_internal_value(self, data):
        if data in (None, ""):
            return None
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return data


@extend_schema_field(OpenApiTypes.STR)
class PurposeCodeField(serializers.Field):
    """One purpose's code. A list is passed on, so that the service refuses a bundle clearly."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class EvidenceSerializer(serializers.Serializer):
    call_id = serializers.IntegerField(
        required=False, allow_null=True, help_text="The id of the call it happened on."
    )
    message_id = serializers.CharField(
        required=False, allow_blank=True, max_length=128, help_text="The SMS message id."
    )
    document = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text="A document reference (signed contract, web form submission…).",
    )

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {unknown[0]: ["Unknown evidence: use call_id, message_id or document."]}
                )
        return super().to_internal_value(data)


class ConsentInputSerializer(serializers.Serializer):
    """The same fields give and withdraw: withdrawing is as easy as giving (Art. 7(3))."""

    number = serializers.CharField(help_text="The subject's number, in any usual form.")
    purpose = PurposeCodeField(help_text="The code of exactly one purpose.")
    lawful_basis = ServiceChoiceField(
        choices=LawfulBasis.choices,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Art. 6(1) basis. Required to give; withdrawal is of consent.",
    )
    method = ServiceChoiceField(
        choices=ConsentEvent.Method.choices,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="How it was obtained: an explicit act (implied consent is refused).",
    )
    notice_version = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The privacy-notice version shown. Required to give.",
    )
    evidence = EvidenceSerializer(required=False, allow_null=True)
    occurred_at = BoundedDateTimeField(
        required=False, allow_null=True, help_text="When it happened; now when omitted."
    )

    def validate(self, attrs):
        if "purposes" in (self.initial_data or {}):
            raise BusinessRuleError(BUNDLED_MESSAGE, code="bundled_purposes", field="purposes")
        return attrs


class ConsentEventSerializer(serializers.ModelSerializer):
    purpose = serializers.CharField(source="purpose.code", read_only=True)
    notice_version = serializers.CharField(
        source="notice.version", read_only=True, allow_null=True, default=None
    )
    evidence = serializers.SerializerMethodField()
    recorded_by = serializers.SerializerMethodField()

    class Meta:
        model = ConsentEvent
        fields = [
            "id",
            "number",
            "purpose",
            "lawful_basis",
            "action",
            "method",
            "evidence",
            "notice_version",
            "occurred_at",
            "recorded_at",
            "source",
            "recorded_by",
        ]
        read_only_fields = fields

    @extend_schema_field(EvidenceSerializer)
    def get_evidence(self, event: ConsentEvent) -> dict:
        return {
            "call_id": event.evidence_call_id,
            "message_id": event.evidence_message_id,
            "document": event.evidence_document,
        }

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_recorded_by(self, event: ConsentEvent) -> str | None:
        if event.recorded_by_api_key_id:
            return f"api_key:{event.recorded_by_api_key.prefix}"
        if event.recorded_by_id:
            return f"user:{event.recorded_by.get_username()}"
        return None


class ConsentCheckSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    basis = serializers.ChoiceField(choices=LawfulBasis.choices, allow_null=True)
    since = serializers.DateTimeField(allow_null=True)
    event = serializers.IntegerField(
        allow_null=True, help_text="The ledger event the answer rests on."
    )
    reason = serializers.CharField(help_text="Why, in words, with the article of law.")
    code = serializers.CharField(
        help_text="What the answer rests on: recorded, default_basis, no_consent, withdrawn, "
        "announcement_only, not_explicit, restricted, objected, objected_marketing, "
        "objection_overridden, inactive_purpose, or suppressed_withdrawal, "
        "suppressed_objection, suppressed_objected_marketing, suppressed_restriction (kept "
        "after the number's erasure)."
    )
    compelling_grounds = serializers.CharField(
        allow_null=True,
        help_text="The tenant's compelling legitimate grounds that override an objection "
        "(Art. 21(1)), when they decide the answer.",
    )


class PurposeSerializer(serializers.ModelSerializer):
    # Plain text in, so that the service can explain a catch-all code such as "*".
    code = serializers.CharField(max_length=64, help_text="Never changes once created.")
    description = serializers.RegexField(
        r"\S",
        error_messages={
            "blank": "Describe the purpose in plain words: subjects are told this text.",
            "invalid": "Describe the purpose in plain words: subjects are told this text.",
        },
        help_text="Plain words; subjects are told this text.",
    )

    class Meta:
        model = Purpose
        fields = [
            "id",
            "code",
            "description",
            "default_lawful_basis",
            "is_active",
            "special_category",
            "direct_marketing",
            "compelling_grounds",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"compelling_grounds": {"required": False, "allow_blank": True}}


class NoticeSerializer(serializers.ModelSerializer):
    text = serializers.CharField(required=False, allow_blank=True, default="")
    text_sha256 = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="SHA-256 of the text; computed when the text is given.",
    )

    class Meta:
        model = PrivacyNotice
        fields = ["id", "version", "url", "effective_from", "text", "text_sha256", "created_at"]
        read_only_fields = ["id", "created_at"]
        # The service checks that a version is unique per tenant.
        validators: list = []


class SmsNoticeInputSerializer(serializers.Serializer):
    number = serializers.CharField()
    purpose = PurposeCodeField(help_text="The code of exactly one purpose.")
    notice_version = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The notice to link to; the one in effect now when omitted.",
    )


class SmsNoticeSerializer(serializers.ModelSerializer):
    purpose = serializers.CharField(source="purpose.code", read_only=True)
    notice_version = serializers.CharField(source="notice.version", read_only=True)

    class Meta:
        model = SmsNotice
        fields = ["id", "message_id", "purpose", "notice_version", "text", "sent_at"]
        read_only_fields = fields


class InboundSmsInputSerializer(serializers.Serializer):
    """What the tenant's SMS provider passes on for a message a subject sent."""

    text = serializers.CharField(
        allow_blank=True, trim_whitespace=False, max_length=2000, help_text="The message text."
    )
    message_id = serializers.CharField(max_length=128, help_text="The provider's message id.")

    def get_fields(self):
        fields = super().get_fields()
        # "from" is a Python keyword: declared here so that the field keeps its wire name.
        fields["from"] = serializers.CharField(
            max_length=40, help_text="The sender's number, in any usual form."
        )
        return fields


class InboundSmsSerializer(serializers.ModelSerializer):
    class Meta:
        model = InboundSms
        fields = ["id", "message_id", "outcome", "withdrawn", "received_at"]
        read_only_fields = fields
        extra_kwargs = {"withdrawn": {"help_text": "Purposes whose SMS consent was withdrawn."}}
