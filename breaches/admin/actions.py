"""The incident's action pages: each shows what will happen, asks for the required reasons
and calls the service. Every action is declared once, in ``ACTIONS``: its button, URL, form,
explanation and what it does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from breaches import clock, services
from breaches.admin.common import EXPORT_PERMISSION
from breaches.forms import (
    AddPhaseForm,
    AssessForm,
    AuthorityForm,
    CloseForm,
    ContainForm,
    LinkCallsForm,
    NotifyTenantsForm,
    SubjectsForm,
)
from breaches.models import BreachIncident, BreachNotification, RiskLevel
from breaches.register_export import register_csv_response
from breaches.selectors import incident_clock, tenants_not_yet_notified
from breaches.services.notices import tenant_notice_emails
from portal.errors import BusinessRuleError


def _nothing(incident: BreachIncident) -> dict:
    return {}


@dataclass(frozen=True)
class IncidentAction:
    slug: str
    label: str
    form_class: type[forms.Form]
    explanation: str
    # (request, incident, cleaned data) -> the success message; raises BusinessRuleError.
    perform: Callable[[HttpRequest, BreachIncident, dict], str]
    form_kwargs: Callable[[BreachIncident], dict] = field(default=_nothing)
    context: Callable[[BreachIncident], dict] = field(default=_nothing)
    offered: Callable[[BreachIncident], bool] = field(default=lambda incident: True)

    @property
    def url_name(self) -> str:
        return f"breaches_breachincident_{self.slug.replace('-', '_')}"


def _assess(request, incident, data) -> str:
    pending = tenants_not_yet_notified(incident).exists()
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


def _link_calls(request, incident, data) -> str:
    count = services.incident_link_calls(
        incident=incident,
        call_ids=data.get("call_ids"),
        tenant=data.get("tenant"),
        started_from=data.get("started_from"),
        started_to=data.get("started_to"),
    )
    return f"Linked {count} call(s); affected tenants and counts recomputed."


def _notify_tenants(request, incident, data) -> str:
    sent = services.incident_notify_tenants(
        incident=incident, delay_reason=data.get("delay_reason", ""), by=request.user
    )
    if not sent:
        return "Every affected tenant had been notified already."
    return f"Notified {len(sent)} tenant(s): {', '.join(n.recipient_name for n in sent)}."


def _pending_tenants(incident) -> dict:
    impacts = {i.tenant_id: i for i in incident.impacts.select_related("tenant")}
    return {
        "pending_tenants": [
            {"tenant": t, "impact": impacts.get(t.pk), "emails": tenant_notice_emails(t)}
            for t in tenants_not_yet_notified(incident)
        ]
    }


def _add_phase(request, incident, data) -> str:
    sent = services.incident_add_phase(
        incident=incident, phase=data["phase"], update=data["update"], by=request.user
    )
    return f"Sent the {data['phase'].replace('_', '-')} notice to {len(sent)} tenant(s)."


def _authority(request, incident, data) -> str:
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


def _subjects(request, incident, data) -> str:
    if data["decision"] == SubjectsForm.NOT_TOLD:
        services.incident_decide_subjects_not_notified(
            incident=incident, ground=data["ground"], reasoning=data["reasoning"]
        )
        return "Decision not to tell the data subjects recorded."
    services.incident_record_subject_notification(
        incident=incident,
        recipient=BreachNotification.Recipient.PUBLIC
        if data["decision"] == SubjectsForm.PUBLIC
        else BreachNotification.Recipient.DATA_SUBJECTS,
        channel=data["channel"],
        sent_at=data.get("sent_at"),
        content=data.get("content", ""),
        by=request.user,
    )
    return "Communication to the data subjects recorded."


def _contain(request, incident, data) -> str:
    services.incident_contain(incident=incident, measures_taken=data["measures_taken"])
    return "Incident marked contained."


def _close(request, incident, data) -> str:
    services.incident_close(incident=incident, note=data["note"])
    return "Incident closed."


ACTIONS = [
    IncidentAction(
        slug="assess",
        label="Assess risk",
        form_class=AssessForm,
        explanation=(
            "Rate the risk to the data subjects and give the reasoning; both go to the tenants "
            "as advice. Rating high sends the notices to every affected tenant not yet told, at "
            "once. Every affected tenant is told whatever the rating: as processor we do not "
            "decide for the controller (EDPB Guidelines 9/2022)."
        ),
        perform=_assess,
        form_kwargs=lambda incident: {
            "pending_tenants": tenants_not_yet_notified(incident).exists()
        },
    ),
    IncidentAction(
        slug="link-calls",
        label="Link affected calls",
        form_class=LinkCallsForm,
        explanation=(
            "Link calls by id, or every call of a tenant started within a time window. The "
            "affected tenants and their counts of subjects and records are recomputed. On a "
            "high-risk incident, newly affected tenants are notified at once."
        ),
        perform=_link_calls,
    ),
    IncidentAction(
        slug="notify-tenants",
        label="Notify tenants",
        form_class=NotifyTenantsForm,
        explanation=(
            "Each tenant below gets its initial notice now — by email to its privacy contact, "
            "owners and admins, by webhook (breach.notified) and in the portal — with every "
            "Art. 33(3) item, its own counts only, and our risk rating as advice."
        ),
        perform=_notify_tenants,
        context=_pending_tenants,
    ),
    IncidentAction(
        slug="add-phase",
        label="Add a phase",
        form_class=AddPhaseForm,
        explanation=(
            "A follow-up or final notice to every tenant told already (Art. 33(4)), with the "
            "incident as it stands now and what is new."
        ),
        perform=_add_phase,
    ),
    IncidentAction(
        slug="authority",
        label="Authority notification",
        form_class=AuthorityForm,
        explanation=(
            "Record the notification made to a supervisory authority, or the decision not to "
            "notify with its reasoning (Art. 33(5)). Where tenants' data is concerned, they are "
            "the controllers and notify their own authorities."
        ),
        perform=_authority,
    ),
    IncidentAction(
        slug="subjects",
        label="Subject notification",
        form_class=SubjectsForm,
        explanation=(
            "Record the communication to the data subjects (Art. 34), or why they are not told: "
            "no high risk, or an Art. 34(3) ground, with the reasoning."
        ),
        perform=_subjects,
    ),
    IncidentAction(
        slug="contain",
        label="Mark contained",
        form_class=ContainForm,
        explanation="The breach is stopped. Say which measures stopped it.",
        perform=_contain,
        offered=lambda incident: incident.status != BreachIncident.Status.CONTAINED,
    ),
    IncidentAction(
        slug="close",
        label="Close",
        form_class=CloseForm,
        explanation=(
            "Closing needs a risk assessment and every affected tenant notified; for an "
            "incident that touches no tenant's data, the authority decision (and, if high risk, "
            "the subjects decision). A closed incident cannot be changed."
        ),
        perform=_close,
    ),
]


class IncidentActionPages:
    """Mixed into BreachIncidentAdmin: one page per action, plus the register export."""

    def get_urls(self):
        custom = [
            path(
                f"<path:object_id>/{action.slug}/",
                self.admin_site.admin_view(partial(self.action_view, action=action)),
                name=action.url_name,
            )
            for action in ACTIONS
        ]
        export = path(
            "export/",
            self.admin_site.admin_view(self.export_view),
            name="breaches_breachincident_export",
        )
        return [export, *custom, *super().get_urls()]

    def action_links(self, incident: BreachIncident) -> list[tuple[str, str]]:
        return [
            (reverse(f"admin:{action.url_name}", args=[incident.pk]), action.label)
            for action in ACTIONS
            if action.offered(incident)
        ]

    def action_view(self, request, object_id, *, action: IncidentAction):
        incident = self.get_object(request, object_id)
        if incident is None:
            raise Http404("No such incident.")
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        form = action.form_class(data, incident=incident, **action.form_kwargs(incident))
        if request.method == "POST" and form.is_valid():
            try:
                message = action.perform(request, incident, form.cleaned_data)
            except BusinessRuleError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                self.log_change(request, incident, action.label)
                self.message_user(request, message, messages.SUCCESS)
                return redirect(reverse("admin:breaches_breachincident_change", args=[incident.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"{action.label}: {incident}",
            "incident": incident,
            "action": action,
            "form": form,
            "opts": self.model._meta,
            "clock": incident_clock(incident),
            "deadline_utc": clock.format_utc(incident.deadline_at),
            **action.context(incident),
        }
        return TemplateResponse(request, "admin/breaches/incident_action.html", context)

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
