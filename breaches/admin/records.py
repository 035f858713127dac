"""Notices and impacts: read-only, each with its history."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from breaches import clock
from breaches.admin.common import visible_notifications
from breaches.models import BreachNotification, BreachTenantImpact
from breaches.selectors import with_notice_state
from portal.admin import PortalModelAdmin, ReadOnlyAdminMixin, status_badge


@admin.register(BreachNotification)
class BreachNotificationAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    list_display = [
        "incident",
        "recipient",
        "recipient_name",
        "phase",
        "channel",
        "sent",
        "timeliness",
        "acknowledged",
    ]
    list_filter = ["recipient", "phase", "channel"]
    list_select_related = ["incident", "tenant"]
    search_fields = ["recipient_name", "subject", "incident__title"]
    fields = [
        "incident",
        "recipient",
        "tenant",
        "recipient_name",
        "channel",
        "phase",
        "subject",
        "content_block",
        "reference",
        "sent_at",
        "sent_by",
        "delay_reason",
        "email_recipients",
        "emailed_at",
        "acknowledged_at",
        "acknowledged_by",
        "acknowledged_by_api_key",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return visible_notifications(request.user).select_related("incident", "tenant")

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        queryset = history_manager.filter(**{pk_name: object_id})
        if not self.get_queryset(request).filter(pk=object_id).exists():
            return queryset.none()
        return queryset.select_related("history_user")

    @admin.display(description="Content")
    def content_block(self, obj):
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', obj.content)

    @admin.display(description="Sent", ordering="sent_at")
    def sent(self, obj):
        return clock.format_utc(obj.sent_at)

    @admin.display(description="72 hours")
    def timeliness(self, obj):
        if not obj.held_to_72_hours:
            return "—"
        if obj.is_late:
            return status_badge("late (reasons given)", "warning")
        return status_badge("within 72 h", "ok")

    @admin.display(description="Acknowledged")
    def acknowledged(self, obj):
        if obj.recipient != BreachNotification.Recipient.TENANT:
            return "—"
        if obj.acknowledged_at:
            return status_badge(clock.format_utc(obj.acknowledged_at), "ok")
        return status_badge("not yet", "warning")


@admin.register(BreachTenantImpact)
class BreachTenantImpactAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    """Which breaches touched which tenant's data (scoped like every tenant-owned row)."""

    list_display = [
        "incident",
        "tenant",
        "subjects",
        "calls",
        "recordings",
        "transcripts",
        "tenant_clock",
        "computed_at",
    ]
    list_filter = ["tenant"]
    list_select_related = ["incident", "tenant"]

    def get_queryset(self, request):
        return with_notice_state(super().get_queryset(request))

    @admin.display(description="72-hour clock for this tenant")
    def tenant_clock(self, obj):
        if obj.notified:
            return status_badge("notified", "ok")
        if obj.incident.is_closed:
            return status_badge("closed", "muted")
        left = clock.describe_time_left(obj.incident.deadline_at)
        return status_badge(left, "danger" if left.startswith("overdue") else "warning")
