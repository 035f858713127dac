"""Badges and filters of the request list."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from dsr import selectors
from dsr.models import (
    CLOSED_STATUSES,
    DataSubjectRequest,
    RequestStatus,
)
from portal.admin import status_badge

STATUS_SEVERITY = {
    RequestStatus.RECEIVED: "info",
    RequestStatus.VERIFYING: "info",
    RequestStatus.IN_REVIEW: "warning",
    RequestStatus.APPROVED: "ok",
    RequestStatus.REJECTED: "muted",
    RequestStatus.PROCESSING: "info",
    RequestStatus.COMPLETED: "ok",
    RequestStatus.PARTIALLY_COMPLETED: "warning",
}


def due_badge(obj: DataSubjectRequest, now=None) -> str:
    now = now or timezone.now()
    due = timezone.localtime(obj.effective_due_at, obj.tenant.tzinfo)
    if obj.status in CLOSED_STATUSES:
        return status_badge(f"closed (was due {due:%Y-%m-%d})", "muted")
    if obj.clock_paused_at is not None:
        return status_badge(f"clock paused (due {due:%Y-%m-%d} + pause)", "info")
    left = obj.effective_due_at - now
    extended = " extended" if obj.extended_due_at else ""
    if left.total_seconds() < 0:
        return status_badge(f"overdue since {due:%Y-%m-%d}{extended}", "danger")
    if left.days < 7:
        return status_badge(f"due {due:%Y-%m-%d} ({left.days} d){extended}", "warning")
    return status_badge(f"due {due:%Y-%m-%d}{extended}", "ok")


class DueFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("overdue", "Overdue"),
            ("soon", "Due within 7 days"),
            ("paused", "Clock paused"),
            ("extended", "Extended"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "overdue":
            return selectors.overdue_requests(queryset)
        if value == "soon":
            return selectors.due_soon_requests(queryset, days=7)
        if value == "paused":
            return selectors.open_requests(queryset).filter(clock_paused_at__isnull=False)
        if value == "extended":
            return queryset.filter(extended_due_at__isnull=False)
        return queryset


class StageFilter(admin.SimpleListFilter):
    title = "waiting for"
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        return [
            ("confirmation", "The tenant's confirmation"),
            ("verification", "Identity verification"),
            ("approval", "Approval"),
        ]

    def queryset(self, request, queryset):
        return {
            "confirmation": selectors.awaiting_confirmation,
            "verification": selectors.awaiting_verification,
            "approval": selectors.awaiting_approval,
        }.get(self.value(), lambda qs: qs)(queryset)
