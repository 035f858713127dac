"""The tenant dashboard's breach notices: the incidents the platform has told this tenant about.

Every page reads incidents through ``self.scope`` — ``BreachIncident.objects.for_tenant``, which
means "notified to this tenant": another tenant's incident, or one that touched this tenant's
data but has not been notified to it yet, is a 404. Counts and notices come from
``selectors.with_tenant_view`` (this tenant's rows only), as in the API.

Everyone reads; acknowledging calls the same service as ``POST /api/v1/breaches/{id}/
acknowledge/`` and needs the same role as there: admin or owner.
"""

from __future__ import annotations

from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.generic import DetailView

from breaches import services
from breaches.badges import risk_state, status_state
from breaches.filters import BreachNoticeFilterSet, filter_by_acknowledgement
from breaches.models import BreachIncident, BreachNotification
from breaches.selectors import (
    tenant_clock,
    tenant_unacknowledged_count,
    with_tenant_notice_state,
    with_tenant_view,
)
from portal.dashboard import ConfirmActionView, TenantDashboardMixin, TenantObjectMixin
from portal.dashboard_lists import Column, TenantListView
from portal.models import Membership
from portal.templatetags.dashboard import due_badge

# The API's acknowledge needs write_role "admin" (BreachViewSet): the same rule here.
ACKNOWLEDGE_ROLE = Membership.Role.ADMIN
PANEL_ITEMS = 5
PHASES = dict(BreachNotification.Phase.choices)


def tenant_clock_badge(incident: BreachIncident) -> str:
    """The tenant's own 72 hours as a due badge while they matter; afterwards, when they ended."""
    state = tenant_clock(incident)
    if state.pressing:
        return due_badge(state.deadline_at)
    ended = date_filter(timezone.localtime(state.deadline_at), "j M Y, H:i")
    return format_html('<span class="muted">ended {}</span>', ended)


def acknowledgement_state(incident: BreachIncident) -> tuple[str, str]:
    waiting = incident.unacknowledged_notices
    if not waiting:
        return "acknowledged", "ok"
    return ("to acknowledge" if waiting == 1 else f"{waiting} to acknowledge"), "warning"


def latest_phase(incident: BreachIncident) -> str:
    return PHASES.get(incident.latest_phase, "")


class TenantIncidentMixin:
    """Incidents as this tenant sees them: its notice state (clock, acknowledgements) annotated
    and, for a page about one incident, only its own counts and notices prefetched."""

    def get_queryset(self):
        queryset = with_tenant_notice_state(super().get_queryset(), tenant=self.tenant)
        return with_tenant_view(queryset, tenant=self.tenant)


class BreachNoticeListView(TenantListView):
    model = BreachIncident
    nav = "dashboard:breaches:list"
    template_name = "dashboard/breaches/list.html"
    filterset_class = BreachNoticeFilterSet
    columns = [
        Column("Incident", str, link="dashboard:breaches:detail"),
        Column("Your 72 hours", tenant_clock_badge),
        Column("Our risk advice", risk_state, kind="badge"),
        Column("Incident status", status_state, kind="badge"),
        Column("Acknowledgement", acknowledgement_state, kind="badge"),
        Column("Latest notice", latest_phase),
        Column("First told", "notified_at", kind="datetime"),
    ]
    empty_title = "No breach notices"
    empty_text = (
        "When a personal-data breach touches data we process for you, we tell you here, by "
        "email and by webhook, with everything Art. 33(3) GDPR asks, your own counts and our "
        "risk assessment, so that you can decide within 72 hours whether to notify your "
        "supervisory authority. None so far."
    )

    def get_base_queryset(self):
        # Annotations only (no prefetch): the rows cost one query whatever their number.
        return with_tenant_notice_state(super().get_base_queryset(), tenant=self.tenant)


class BreachNoticeDetailView(
    TenantIncidentMixin, TenantDashboardMixin, TenantObjectMixin, DetailView
):
    model = BreachIncident
    write_role = ACKNOWLEDGE_ROLE
    nav = "dashboard:breaches:list"
    template_name = "dashboard/breaches/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        incident = self.object
        notices = incident.tenant_notices
        context.update(
            impact=incident.tenant_impacts[0] if incident.tenant_impacts else None,
            notices=notices,
            latest_notice=notices[-1] if notices else None,
            pending=[n for n in notices if n.acknowledged_at is None],
            clock=tenant_clock(incident),
            clock_badge=tenant_clock_badge(incident),
            risk=risk_state(incident),
            status=status_state(incident),
            can_acknowledge=self.can(ACKNOWLEDGE_ROLE),
        )
        return context


class BreachAcknowledgeView(TenantIncidentMixin, ConfirmActionView):
    """Confirm receipt of every notice of the incident not acknowledged yet."""

    model = BreachIncident
    read_role = write_role = ACKNOWLEDGE_ROLE
    nav = "dashboard:breaches:list"
    template_name = "dashboard/breaches/acknowledge.html"
    confirm_title = "Acknowledge this breach notice?"
    confirm_button = "Acknowledge receipt"
    danger = False

    def get_confirm_explanation(self) -> str:
        return (
            f"You confirm, for {self.tenant.name}, that you have received the notices below. "
            "Your name and the time are recorded, and our Data Protection Officer sees it. "
            "Acknowledging does not notify your supervisory authority: whether to notify it, "
            "within 72 hours of becoming aware of the breach, is your decision as controller "
            "(Art. 33(1) GDPR)."
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["pending"] = [n for n in self.object.tenant_notices if n.acknowledged_at is None]
        return context

    def perform(self, obj) -> str:
        acknowledged = services.incident_acknowledge(
            incident=obj, tenant=self.tenant, user=self.request.user
        )
        if not acknowledged:
            return f"{obj.reference}: every notice had been acknowledged already."
        count = len(acknowledged)
        notices = "notice" if count == 1 else f"{count} notices"
        return (
            f"Acknowledged the {notices} of {obj.reference}. Remember to decide whether to "
            "notify your supervisory authority."
        )

    def get_success_url(self) -> str:
        return reverse("dashboard:breaches:detail", kwargs={"pk": self.object.pk})


# --- overview panel ------------------------------------------------------------------------


def notices_to_acknowledge_panel(request) -> dict:
    """How many breach notices wait for acknowledgement, and the incidents with the nearest
    deadlines (the tenant's own 72 hours) first."""
    tenant = request.tenant
    waiting = filter_by_acknowledgement(
        BreachIncident.objects.for_tenant(tenant), tenant, unacknowledged=True
    )
    nearest = with_tenant_notice_state(waiting, tenant=tenant).order_by("notified_at", "pk")
    return {
        "count": tenant_unacknowledged_count(tenant),
        "incidents": [
            (incident, tenant_clock_badge(incident), risk_state(incident))
            for incident in nearest[:PANEL_ITEMS]
        ],
    }
