"""What a tenant sees of the breach register: its own counts and notices, nothing else.

``TenantBreachSerializer`` never touches ``incident.impacts`` or ``incident.notifications``:
it reads only ``tenant_impacts`` and ``tenant_notices``, which ``selectors.with_tenant_view``
fills with the requesting tenant's rows — and it refuses to render an incident without them,
so another tenant's names or numbers cannot reach the output by accident.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from breaches import clock
from breaches.models import BreachIncident, BreachNotification, BreachTenantImpact, DataCategory


class TenantImpactSerializer(serializers.ModelSerializer):
    records = serializers.IntegerField(read_only=True)
    subjects = serializers.IntegerField(
        read_only=True, help_text="Approximate number of data subjects (distinct numbers)."
    )

    class Meta:
        model = BreachTenantImpact
        fields = ["calls", "recordings", "transcripts", "records", "subjects", "computed_at"]


class TenantNoticeSerializer(serializers.ModelSerializer):
    acknowledged_by = serializers.CharField(source="acknowledged_by_label", read_only=True)

    class Meta:
        model = BreachNotification
        fields = [
            "id",
            "phase",
            "channel",
            "subject",
            "content",
            "sent_at",
            "delay_reason",
            "acknowledged_at",
            "acknowledged_by",
        ]


def _tenant_rows(incident: BreachIncident, attr: str) -> list:
    rows = getattr(incident, attr, None)
    if rows is None:
        raise RuntimeError(
            f"{attr} missing: load incidents for a tenant with selectors.with_tenant_view()."
        )
    return rows


class TenantBreachSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    data_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=DataCategory.choices), read_only=True
    )
    notification_deadline = serializers.DateTimeField(
        source="deadline_at",
        read_only=True,
        help_text="72 hours after the platform became aware of the breach (Art. 33(1)).",
    )
    notification_deadline_local = serializers.SerializerMethodField(
        help_text="The same deadline in your time zone, for display."
    )
    hours_left = serializers.SerializerMethodField(
        help_text="Hours left until notification_deadline; negative once it has passed."
    )
    impact = serializers.SerializerMethodField(help_text="Your data concerned: your counts only.")
    notices = serializers.SerializerMethodField(help_text="The notices sent to you, oldest first.")
    acknowledged = serializers.SerializerMethodField(
        help_text="Whether you have acknowledged every notice of this incident."
    )

    class Meta:
        model = BreachIncident
        fields = [
            "id",
            "reference",
            "title",
            "description",
            "status",
            "risk_level",
            "risk_reasoning",
            "occurred_from",
            "occurred_to",
            "detected_at",
            "became_aware_at",
            "notification_deadline",
            "notification_deadline_local",
            "hours_left",
            "data_categories",
            "likely_consequences",
            "measures_taken",
            "measures_proposed",
            "dpo_contact",
            "impact",
            "notices",
            "acknowledged",
        ]
        read_only_fields = fields

    def _tenant(self):
        return self.context["request"].tenant

    def get_notification_deadline_local(self, incident) -> str:
        return clock.format_local(incident.deadline_at, self._tenant().timezone)

    def get_hours_left(self, incident) -> float:
        return round(clock.time_left(incident.deadline_at).total_seconds() / 3600, 1)

    @extend_schema_field(TenantImpactSerializer(allow_null=True))
    def get_impact(self, incident):
        impacts = _tenant_rows(incident, "tenant_impacts")
        return TenantImpactSerializer(impacts[0]).data if impacts else None

    @extend_schema_field(TenantNoticeSerializer(many=True))
    def get_notices(self, incident):
        return TenantNoticeSerializer(_tenant_rows(incident, "tenant_notices"), many=True).data

    def get_acknowledged(self, incident) -> bool:
        notices = _tenant_rows(incident, "tenant_notices")
        return bool(notices) and all(n.acknowledged_at for n in notices)


class AcknowledgeSerializer(serializers.Serializer):
    notification = serializers.IntegerField(
        required=False,
        help_text="Acknowledge this notice only; by default every notice not yet acknowledged.",
    )
