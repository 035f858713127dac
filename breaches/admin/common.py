"""Badges, scoping and filters shared by the breach admin pages."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from breaches import clock
from breaches.badges import risk_state
from breaches.models import BreachIncident, BreachNotification
from breaches.selectors import clock_running
from portal.admin import status_badge

EXPORT_PERMISSION = "breaches.export_breach_register"


def risk_badge(incident: BreachIncident) -> str:
    return status_badge(*risk_state(incident))


def visible_notifications(user):
    """Notices a staff user may see: the DPO all; support those of its tenants, and the
    platform-level ones (authority, subjects) of incidents touching its tenants."""
    return BreachNotification.objects.visible_to(user)


class ClockFilter(admin.SimpleListFilter):
    title = "72-hour clock"
    parameter_name = "clock"

    def lookups(self, request, model_admin):
        return [
            ("running", "Running (notices owed)"),
            ("overdue", "Overdue"),
            ("tenants_pending", "Tenants not yet notified"),
            ("stopped", "Stopped"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "running":
            return queryset.filter(clock_running())
        if value == "overdue":
            return queryset.filter(clock_running()).filter(
                became_aware_at__lt=timezone.now() - clock.NOTIFICATION_WINDOW
            )
        if value == "tenants_pending":
            return queryset.open().filter(pending_tenant_count__gt=0)
        if value == "stopped":
            return queryset.exclude(clock_running())
        return queryset
