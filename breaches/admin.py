"""The DPO's breach register: incidents on the clock, their tenants and notices, and actions.

Every action (assess, link calls, notify tenants, add a phase, record the authority's or the
subjects' notice, contain, close) is its own page: it shows what will happen, asks for the
required reasons, and calls the service. Support staff see the incidents touching the tenants
they serve, read-only, and only those tenants' rows on them.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from breaches import clock, services
from breaches.forms import (
    AddPhaseForm,
    AssessForm,
    AuthorityForm,
    BreachIncidentForm,
    CloseForm,
    ContainForm,
    LinkCallsForm,
    NotifyTenantsForm,
    SubjectsForm,
)
from breaches.models import BreachIncident, BreachNotification, BreachTenantImpact, RiskLevel
from breaches.register_export import register_csv_response
from breaches.selectors import (
    clock_running,
    incident_clock,
    tenant_notice_target_state,
    tenants_not_yet_notified,
    with_clock_facts,
)
from breaches.services.incidents import EDITABLE_FIELDS
from breaches.services.notices import tenant_notice_emails
from portal.access import is_dpo, visible_tenant_ids
from portal.admin import PortalModelAdmin, ReadOnlyAdminMixin, status_badge
from portal.errors import BusinessRuleError

RISK_SEVERITY = {RiskLevel.HIGH: "danger", RiskLevel.RISK: "warning", RiskLevel.UNLIKELY: "ok"}
STATUS_SEVERITY = {"open": "danger", "assessing": "warning", "contained": "info", "closed": "muted"}
EXPORT_PERMISSION = "breaches.export_breach_register"


def risk_badge(incident: BreachIncident) -> str:
    if not incident.risk_level:
        return status_badge("not assessed", "danger")
    return status_badge(incident.get_risk_level_display(), RISK_SEVERITY[incident.risk_level])


def visible_notifications(user):
    """Notices a staff user may see: the DPO all; support those of its tenants, and the
    platform-level ones (authority, subjects) of incidents touching its tenants."""
    notices = BreachNotification.objects.all()
    if is_dpo(user):
        return notices
    return notices.filter(
        Q(tenant_id__in=visible_tenant_ids(user))
        | Q(tenant__isnull=True, incident__in=BreachIncident.objects.visible_to(user))
    )


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


@admin.register(BreachIncident)
class BreachIncidentAdmin(PortalModelAdmin):
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
        return status_badge(obj.get_status_display(), STATUS_SEVERITY[obj.status])

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
        fields = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS}
        try:
            if change:
                changed = {name: fields[name] for name in form.changed_data if name in fields}
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
            "actions": self._actions_for(incident) if can_act else [],
        }

    @staticmethod
    def _notice_url(notice: BreachNotification) -> str:
        return reverse("admin:breaches_breachnotification_change", args=[notice.pk])

    def _actions_for(self, incident: BreachIncident) -> list[tuple[str, str]]:
        names = [
            ("assess", "Assess risk"),
            ("link-calls", "Link affected calls"),
            ("notify-tenants", "Notify tenants"),
            ("add-phase", "Add a phase"),
            ("authority", "Authority notification"),
            ("subjects", "Subject notification"),
        ]
        if incident.status != BreachIncident.Status.CONTAINED:
            names.append(("contain", "Mark contained"))
        names.append(("close", "Close"))
        return [
            (
                reverse(
                    f"admin:breaches_breachincident_{slug.replace('-', '_')}", args=[incident.pk]
                ),
                label,
            )
            for slug, label in names
        ]

    # --- action pages --------------------------------------------------------------------

    def get_urls(self):
        views = [
            ("assess", self.assess_view),
            ("link-calls", self.link_calls_view),
            ("notify-tenants", self.notify_tenants_view),
            ("add-phase", self.add_phase_view),
            ("authority", self.authority_view),
            ("subjects", self.subjects_view),
            ("contain", self.contain_view),
            ("close", self.close_view),
        ]
        custom = [
            path(
                f"<path:object_id>/{slug}/",
                self.admin_site.admin_view(view),
                name=f"breaches_breachincident_{slug.replace('-', '_')}",
            )
            for slug, view in views
        ]
        export = path(
            "export/",
            self.admin_site.admin_view(self.export_view),
            name="breaches_breachincident_export",
        )
        return [export, *custom, *super().get_urls()]

    def _action(self, request, object_id, *, form_class, title, explanation, perform, **extra):
        incident = self.get_object(request, object_id)
        if incident is None:
            raise Http404("No such incident.")
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        form_kwargs = extra.pop("form_kwargs", {})
        data = request.POST if request.method == "POST" else None
        form = form_class(data, incident=incident, **form_kwargs)
        if request.method == "POST" and form.is_valid():
            try:
                message = perform(incident, form.cleaned_data)
            except BusinessRuleError as exc:
                field = exc.field if exc.field in form.fields else None
                form.add_error(field, exc.message)
            else:
                self.log_change(request, incident, title)
                self.message_user(request, message, messages.SUCCESS)
                return redirect(reverse("admin:breaches_breachincident_change", args=[incident.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {incident}",
            "incident": incident,
            "explanation": explanation,
            "form": form,
            "opts": self.model._meta,
            "clock": incident_clock(incident),
            "deadline_utc": clock.format_utc(incident.deadline_at),
            "submit_label": title,
            **extra,
        }
        return TemplateResponse(request, "admin/breaches/incident_action.html", context)

    def assess_view(self, request, object_id):
        incident = self.get_object(request, object_id)
        pending = incident is not None and tenants_not_yet_notified(incident).exists()

        def perform(incident, data):
            services.incident_assess(
                incident=incident,
                risk_level=data["risk_level"],
                reasoning=data["reasoning"],
                delay_reason=data.get("delay_reason", ""),
                by=request.user,
            )
            if data["risk_level"] == RiskLevel.HIGH and pending:
                return "Rated high risk: the tenant notices are being sent now."
            return "Risk assessment recorded."

        return self._action(
            request,
            object_id,
            form_class=AssessForm,
            form_kwargs={"pending_tenants": pending},
            title="Assess risk",
            explanation=(
                "Rate the risk to the data subjects and give the reasoning; both go to the "
                "tenants as advice. Rating high sends the notices to every affected tenant not "
                "yet told, at once. Every affected tenant is told whatever the rating: as "
                "processor we do not decide for the controller (EDPB Guidelines 9/2022)."
            ),
            perform=perform,
        )

    def link_calls_view(self, request, object_id):
        def perform(incident, data):
            count = services.incident_link_calls(
                incident=incident,
                call_ids=data.get("call_ids"),
                tenant=data.get("tenant"),
                started_from=data.get("started_from"),
                started_to=data.get("started_to"),
            )
            return f"Linked {count} call(s); affected tenants and counts recomputed."

        return self._action(
            request,
            object_id,
            form_class=LinkCallsForm,
            title="Link affected calls",
            explanation=(
                "Link calls by id, or every call of a tenant started within a time window. The "
                "affected tenants and their counts of subjects and records are recomputed. On a "
                "high-risk incident, newly affected tenants are notified at once."
            ),
            perform=perform,
        )

    def notify_tenants_view(self, request, object_id):
        incident = self.get_object(request, object_id)
        pending = []
        if incident is not None:
            impacts = {i.tenant_id: i for i in incident.impacts.select_related("tenant")}
            pending = [
                {"tenant": t, "impact": impacts.get(t.pk), "emails": tenant_notice_emails(t)}
                for t in tenants_not_yet_notified(incident)
            ]

        def perform(incident, data):
            sent = services.incident_notify_tenants(
                incident=incident, delay_reason=data.get("delay_reason", ""), by=request.user
            )
            if not sent:
                return "Every affected tenant had been notified already."
            return f"Notified {len(sent)} tenant(s): {', '.join(n.recipient_name for n in sent)}."

        return self._action(
            request,
            object_id,
            form_class=NotifyTenantsForm,
            title="Notify tenants",
            explanation=(
                "Each tenant below gets its initial notice now — by email to its privacy "
                "contact, owners and admins, by webhook (breach.notified) and in the portal — "
                "with every Art. 33(3) item, its own counts only, and our risk rating as advice."
            ),
            perform=perform,
            pending_tenants=pending,
        )

    def add_phase_view(self, request, object_id):
        def perform(incident, data):
            sent = services.incident_add_phase(
                incident=incident, phase=data["phase"], update=data["update"], by=request.user
            )
            return f"Sent the {data['phase'].replace('_', '-')} notice to {len(sent)} tenant(s)."

        return self._action(
            request,
            object_id,
            form_class=AddPhaseForm,
            title="Add a phase",
            explanation=(
                "A follow-up or final notice to every tenant told already (Art. 33(4)), with "
                "the incident as it stands now and what is new."
            ),
            perform=perform,
        )

    def authority_view(self, request, object_id):
        def perform(incident, data):
            if data["decision"] == AuthorityForm.NOT_NOTIFIED:
                services.incident_decide_authority_not_notified(
                    incident=incident, reasoning=data["reasoning"]
                )
                return "Decision not to notify the authority recorded, with its reasoning."
            services.incident_record_authority_notification(
                incident=incident,
                authority_name=data["authority_name"],
                channel=data["channel"],
                sent_at=data.get("sent_at"),
                content=data.get("content", ""),
                reference=data.get("reference", ""),
                delay_reason=data.get("delay_reason", ""),
                by=request.user,
            )
            return "Notification to the supervisory authority recorded."

        return self._action(
            request,
            object_id,
            form_class=AuthorityForm,
            title="Authority notification",
            explanation=(
                "Record the notification made to a supervisory authority, or the decision not "
                "to notify with its reasoning (Art. 33(5)). Where tenants' data is concerned, "
                "they are the controllers and notify their own authorities."
            ),
            perform=perform,
        )

    def subjects_view(self, request, object_id):
        def perform(incident, data):
            if data["decision"] == SubjectsForm.NOT_TOLD:
                services.incident_decide_subjects_not_notified(
                    incident=incident, ground=data["ground"], reasoning=data["reasoning"]
                )
                return "Decision not to tell the data subjects recorded."
            recipient = (
                BreachNotification.Recipient.PUBLIC
                if data["decision"] == SubjectsForm.PUBLIC
                else BreachNotification.Recipient.DATA_SUBJECTS
            )
            services.incident_record_subject_notification(
                incident=incident,
                recipient=recipient,
                channel=data["channel"],
                sent_at=data.get("sent_at"),
                content=data.get("content", ""),
                by=request.user,
            )
            return "Communication to the data subjects recorded."

        return self._action(
            request,
            object_id,
            form_class=SubjectsForm,
            title="Subject notification",
            explanation=(
                "Record the communication to the data subjects (Art. 34), or why they are not "
                "told: no high risk, or an Art. 34(3) ground, with the reasoning."
            ),
            perform=perform,
        )

    def contain_view(self, request, object_id):
        def perform(incident, data):
            services.incident_contain(incident=incident, measures_taken=data["measures_taken"])
            return "Incident marked contained."

        return self._action(
            request,
            object_id,
            form_class=ContainForm,
            title="Mark contained",
            explanation="The breach is stopped. Say which measures stopped it.",
            perform=perform,
        )

    def close_view(self, request, object_id):
        def perform(incident, data):
            services.incident_close(incident=incident, note=data["note"])
            return "Incident closed."

        return self._action(
            request,
            object_id,
            form_class=CloseForm,
            title="Close",
            explanation=(
                "Closing needs a risk assessment and every affected tenant notified; for an "
                "incident that touches no tenant's data, the authority decision (and, if high "
                "risk, the subjects decision). A closed incident cannot be changed."
            ),
            perform=perform,
        )

    # --- the register export ---------------------------------------------------------------

    def export_view(self, request):
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        return register_csv_response(BreachIncident.objects.visible_to(request.user))

    @admin.action(description="Export selected to the breach register (CSV)")
    def export_register(self, request, queryset):
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        ids = queryset.values("pk")
        return register_csv_response(BreachIncident.objects.filter(pk__in=ids))

    def changelist_view(self, request, extra_context=None):
        extra = {
            **(extra_context or {}),
            "can_export": request.user.has_perm(EXPORT_PERMISSION),
            "target_hours": clock.tenant_notice_target_hours(),
        }
        return super().changelist_view(request, extra)


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
        if obj.phase != BreachNotification.Phase.INITIAL or obj.recipient not in (
            BreachNotification.Recipient.TENANT,
            BreachNotification.Recipient.SUPERVISORY_AUTHORITY,
        ):
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
        "computed_at",
    ]
    list_filter = ["tenant"]
    list_select_related = ["incident", "tenant"]
