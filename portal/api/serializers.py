import zoneinfo

from rest_framework import serializers

from portal.models import Tenant, Webhook, WebhookDelivery
from portal.validators import MAX_SMS_CHARACTERS
from portal.webhooks import EVENT_TYPES


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = [
            "slug",
            "name",
            "country",
            "timezone",
            "legal_name",
            "address",
            "privacy_contact_email",
            "supervisory_authority",
            "purpose_gate",
            "require_notice_proof",
            "default_max_age_days",
            "auto_approve_access",
            "auto_approve_erasure",
            "sms_notice_template",
            "created_at",
        ]
        read_only_fields = ["slug", "created_at"]


class TenantUpdateSerializer(serializers.ModelSerializer):
    timezone = serializers.ChoiceField(
        choices=sorted(zoneinfo.available_timezones()),
        required=False,
        help_text="An IANA time zone, e.g. Europe/Berlin.",
    )

    class Meta:
        model = Tenant
        fields = [f for f in TenantSerializer.Meta.fields if f not in ("slug", "created_at")]
        extra_kwargs = {f: {"required": False} for f in fields}
        extra_kwargs["sms_notice_template"]["max_length"] = MAX_SMS_CHARACTERS


class WebhookSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)),
        required=False,
        help_text="Event types to receive; empty for all.",
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        min_length=16,
        max_length=128,
        help_text="Shared secret for the signature; generated when omitted (shown once).",
    )

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "secret", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_fields(self):
        fields = super().get_fields()
        # Events registered after import time (by other apps) are accepted too.
        fields["events"].child.choices = sorted(EVENT_TYPES)
        return fields


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once.")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "payload",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "next_attempt_at",
        ]
