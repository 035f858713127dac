"""The breach register's list and incident page."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from breaches import clock, services
from breaches.admin.actions import IncidentActionPages
from breaches.admin.common import (
    EXPORT_PERMISSION,
    ClockFilter,
    risk_badge,
    visible_notifications,
)
from breaches.badges import status_state
from breaches.forms import BreachIncidentForm
from breaches.models import BreachIncident, BreachNotification
from breaches.selectors import incident_clock, tenant_notice_target_state, with_clock_facts
from breaches.services.incidents import EDITABLE_FIELDS
from portal.access import visible_tenant_ids
from portal.admin import PortalModelAdmin, status_badge
from portal.errors import BusinessRuleError


@admin.register(BreachIncident)
class BreachIncidentAdmin(IncidentActionPages, PortalModelAdmin):
    form = BreachIncidentForm
    list_display = [
        "incident",
        "status_badge",
        "risk",
        "became_aware",
        "clock_badge",
        "tenants",
    ]
    list_filter = [ClockFilter, "status", "risk_level"]
    search_fields = ["title", "description"]
    list_select_related = []
    actions = ["export_register"]
    change_form_template = "admin/breaches/breachincident/change_form.html"
    change_list_template = "admin/breaches/breachincident/change_list.html"
    decision_fields = [
        "status",
        "risk_level",
        "risk_reasoning",
        "assessed_at",
        "assessed_by",
        "authority_not_notified_reasoning",
        "authority_decided_at",
        "subjects_not_notified_ground",
        "subjects_not_notified_reasoning",
        "subjects_decided_at",
        "opened_by",
        "created_at",
        "contained_at",
        "closed_at",
        "closing_note",
    ]

    # --- scoping -------------------------------------------------------------------------

    def get_queryset(self, request):
        queryset = super().get_queryset(request).visible_to(request.user)
        return with_clock_facts(queryset)

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        queryset = super().get_history_queryset(request, history_manager, pk_name, object_id)
        if not BreachIncident.objects.visible_to(request.user).filter(pk=object_id).exists():
            return queryset.none()
        return queryset

    def has_delete_permission(self, request, obj=None):
        return False  # the register keeps every breach (Art. 33(5))

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm(EXPORT_PERMISSION):
            actions.pop("export_register", None)
        return actions

    # --- list columns --------------------------------------------------------------------

    @admin.display(description="Incident", ordering="id")
    def incident(self, obj):
        return str(obj)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return status_badge(*status_state(obj))

    @admin.display(description="Risk", ordering="risk_level")
    def risk(self, obj):
        return risk_badge(obj)

    @admin.display(description="Became aware", ordering="became_aware_at")
    def became_aware(self, obj):
        return clock.format_utc(obj.became_aware_at)

    @admin.display(description="72-hour clock")
    def clock_badge(self, obj):
        state = incident_clock(obj)
        return format_html(
            '{} <span title="deadline">({})</span>',
            status_badge(state.label, state.severity),
            clock.format_utc(state.deadline_at),
        )

    @admin.display(description="Tenants (not yet notified)")
    def tenants(self, obj):
        if not obj.affected_tenant_count:
            return "none"
        if obj.pending_tenant_count and not obj.is_closed:
            label, severity = tenant_notice_target_state(obj)
            return format_html(
                "{} ({})",
                obj.affected_tenant_count,
                status_badge(f"{obj.pending_tenant_count} not notified — {label}", severity),
            )
        return str(obj.affected_tenant_count)

    # --- the incident page ---------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        what = (
            "What happened (shown to every affected tenant: never name a tenant)",
            {"fields": ["title", "description", "data_categories"]},
        )
        when = (
            "When (UTC)",
            {"fields": ["occurred_from", "occurred_to", "detected_at", "became_aware_at"]},
        )
        consequences = (
            "Consequences, measures, contact (Art. 33(3)(b)–(d))",
            {
                "fields": [
                    "likely_consequences",
                    "measures_taken",
                    "measures_proposed",
                    "dpo_contact",
                ]
            },
        )
        if obj is None:
            return [what, when, consequences]
        decisions = ("Assessment and decisions", {"fields": self.decision_fields})
        return [what, when, consequences, decisions]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.is_closed or not self.has_change_permission(request, obj):
            return [*EDITABLE_FIELDS, *self.decision_fields]
        return self.decision_fields

    def save_model(self, request, obj, form, change):
        fields = {n: form.cleaned_data[n] for n in EDITABLE_FIELDS if n in form.cleaned_data}
        try:
            if change:
                changed = {name: fields[name] for name in form.changed_data if name in fields}
                if changed:
                    services.incident_update(incident=obj, **changed)
            else:
                incident = services.incident_open(**fields, opened_by=request.user)
                obj.pk = incident.pk
        except BusinessRuleError as exc:
            self.message_user(request, f"Not saved: {exc.message}", messages.ERROR)

    def save_related(self, request, form, formsets, change):
        pass  # the linked calls change only through "Link affected calls"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        incident = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if incident is not None:
            extra["breach"] = self._page_context(request, incident)
        return super().change_view(request, object_id, form_url, extra)

    def _page_context(self, request, incident: BreachIncident) -> dict:
        tenant_ids = visible_tenant_ids(request.user)
        all_impacts = incident.impacts.select_related("tenant")
        impacts = list(all_impacts.filter(tenant_id__in=tenant_ids))
        notices = list(
            visible_notifications(request.user)
            .filter(incident=incident)
            .select_related("tenant", "sent_by", "acknowledged_by", "acknowledged_by_api_key")
            .order_by("sent_at", "id")
        )
        initial = {
            n.tenant_id: n
            for n in notices
            if n.recipient == BreachNotification.Recipient.TENANT and n.phase == "initial"
        }
        rows = []
        for impact in impacts:
            notice = initial.get(impact.tenant_id)
            rows.append(
                {
                    "impact": impact,
                    "notice": notice,
                    "notice_local": clock.format_local(notice.sent_at, impact.tenant.timezone)
                    if notice
                    else "",
                    "deadline_local": clock.format_local(
                        incident.deadline_at, impact.tenant.timezone
                    ),
                }
            )
        state = incident_clock(incident)
        can_act = self.has_change_permission(request, incident) and not incident.is_closed
        return {
            "clock": state,
            "deadline_utc": clock.format_utc(incident.deadline_at),
            "target": tenant_notice_target_state(incident) if state.pending_tenants else None,
            "target_hours": clock.tenant_notice_target_hours(),
            "rows": rows,
            "hidden_tenants": all_impacts.count() - len(impacts),
            "linked_calls": incident.call_links.filter(tenant_id__in=tenant_ids).count(),
            "scopes": incident.scopes.filter(tenant_id__in=tenant_ids).select_related("tenant"),
            "notices": [
                {"notice": n, "late": n.is_late, "url": self._notice_url(n)} for n in notices
            ],
            "actions": self.action_links(incident) if can_act else [],
        }

    @staticmethod
    def _notice_url(notice: BreachNotification) -> str:
        return reverse("admin:breaches_breachnotification_change", args=[notice.pk])
