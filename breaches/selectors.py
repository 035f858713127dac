"""Reads for the breach register: clocks, pending notices, tenant views, the register export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from breaches import clock
from breaches.models import BreachIncident, BreachNotification, BreachTenantImpact
from portal.models import Tenant

Recipient = BreachNotification.Recipient
Phase = BreachNotification.Phase
URGENT_BEFORE_DEADLINE = timedelta(hours=12)


def _initial_tenant_notice(incident_ref, tenant_ref) -> QuerySet:
    return BreachNotification.objects.filter(
        incident=incident_ref, tenant=tenant_ref, recipient=Recipient.TENANT, phase=Phase.INITIAL
    )


def _count_of(queryset: QuerySet) -> Coalesce:
    counted = queryset.order_by().values("incident").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_clock_facts(queryset: QuerySet) -> QuerySet:
    """Annotate what the clock needs, in the same query (list pages, work queues)."""
    impacts = BreachTenantImpact.objects.filter(incident=OuterRef("pk"))
    pending = impacts.filter(
        ~Exists(_initial_tenant_notice(OuterRef("incident"), OuterRef("tenant")))
    )
    authority = BreachNotification.objects.filter(
        incident=OuterRef("pk"), recipient=Recipient.SUPERVISORY_AUTHORITY
    )
    return queryset.annotate(
        affected_tenant_count=_count_of(impacts),
        pending_tenant_count=_count_of(pending),
        authority_notified=Exists(authority),
    )


def clock_running() -> Q:
    """On a ``with_clock_facts`` queryset: incidents whose 72-hour clock still runs."""
    return ~Q(status=BreachIncident.Status.CLOSED) & (
        Q(affected_tenant_count__gt=0, pending_tenant_count__gt=0)
        | Q(affected_tenant_count=0, authority_notified=False, authority_decided_at__isnull=True)
    )


def with_notice_state(impacts: QuerySet) -> QuerySet:
    """Annotate impacts with ``notified``: has the tenant had its initial notice?"""
    return impacts.annotate(
        notified=Exists(_initial_tenant_notice(OuterRef("incident"), OuterRef("tenant")))
    )


def tenants_not_yet_notified(incident: BreachIncident) -> QuerySet:
    """Affected tenants that have had no initial notice yet."""
    impacts = with_notice_state(BreachTenantImpact.objects.filter(incident=incident))
    pending = impacts.filter(notified=False).values("tenant_id")
    return Tenant.objects.filter(pk__in=pending).order_by("name")


def notified_tenant_ids(incident: BreachIncident) -> set[int]:
    return set(
        BreachNotification.objects.filter(
            incident=incident, recipient=Recipient.TENANT, phase=Phase.INITIAL
        ).values_list("tenant_id", flat=True)
    )


def _facts(incident: BreachIncident) -> tuple[int, int, bool]:
    if hasattr(incident, "pending_tenant_count"):
        return (
            incident.affected_tenant_count,
            incident.pending_tenant_count,
            incident.authority_notified,
        )
    annotated = with_clock_facts(BreachIncident.objects.filter(pk=incident.pk)).get()
    return (
        annotated.affected_tenant_count,
        annotated.pending_tenant_count,
        annotated.authority_notified,
    )


@dataclass(frozen=True)
class Clock:
    """Where an incident stands against the 72 hours."""

    deadline_at: datetime
    running: bool  # a notice the clock governs is still owed
    overdue: bool
    label: str
    severity: str  # for badges and work queues: danger, warning, ok, muted
    pending_tenants: int
    affected_tenants: int


def incident_clock(incident: BreachIncident, at: datetime | None = None) -> Clock:
    """The 72-hour clock runs until every affected tenant has its initial notice — or, for an
    incident that touches no tenant's data, until the authority is notified or the decision
    not to notify is recorded. Closing stops it."""
    at = at or timezone.now()
    affected, pending, authority_notified = _facts(incident)
    deadline = incident.deadline_at
    if incident.is_closed:
        running = False
    elif affected:
        running = pending > 0
    else:
        running = not (authority_notified or incident.authority_decided_at)
    overdue = running and clock.is_overdue(deadline, at)
    if running:
        label = clock.describe_time_left(deadline, at)
        # Red when overdue, or in the last hours, when the notice is most at risk of being late.
        urgent = overdue or clock.time_left(deadline, at) < URGENT_BEFORE_DEADLINE
        severity = "danger" if urgent else "warning"
    elif incident.is_closed:
        label, severity = "closed", "muted"
    elif affected:
        label, severity = "tenants notified", "ok"
    else:
        label, severity = "authority decided", "ok"
    return Clock(
        deadline_at=deadline,
        running=running,
        overdue=overdue,
        label=label,
        severity=severity,
        pending_tenants=pending,
        affected_tenants=affected,
    )


def tenant_notice_target_state(incident: BreachIncident, at: datetime | None = None):
    """``(label, severity)`` of the "tenants not yet notified" clock against our own target."""
    target = incident.tenant_notice_due_at
    left = clock.time_left(target, at)
    if left.total_seconds() < 0:
        return f"target missed by {clock.hours_and_minutes(left)}", "danger"
    return f"target in {clock.hours_and_minutes(left)}", "warning"


def incidents_on_the_clock(queryset: QuerySet) -> QuerySet:
    """Incidents whose clock still runs, the most urgent (earliest deadline) first."""
    return with_clock_facts(queryset).filter(clock_running()).order_by("became_aware_at", "id")


def incidents_with_tenants_pending(queryset: QuerySet) -> QuerySet:
    return (
        with_clock_facts(queryset.open())
        .filter(pending_tenant_count__gt=0)
        .order_by("became_aware_at")
    )


# --- The tenant's view (API and dashboard): its own impact and notices, nothing else. ---


def tenant_incidents(tenant: Tenant) -> QuerySet:
    """Incidents the tenant has been told about, each with ``tenant_impacts`` and
    ``tenant_notices`` holding only this tenant's rows."""
    return with_tenant_view(BreachIncident.objects.for_tenant(tenant), tenant=tenant)


def with_tenant_view(queryset: QuerySet, *, tenant: Tenant) -> QuerySet:
    return queryset.prefetch_related(
        Prefetch(
            "impacts",
            queryset=BreachTenantImpact.objects.for_tenant(tenant),
            to_attr="tenant_impacts",
        ),
        Prefetch(
            "notifications",
            queryset=tenant_notices(tenant).select_related(
                "acknowledged_by", "acknowledged_by_api_key"
            ),
            to_attr="tenant_notices",
        ),
    )


def tenant_notices(tenant: Tenant) -> QuerySet:
    """Every breach notice sent to the tenant (for a dashboard list of breach notices)."""
    return BreachNotification.objects.for_tenant(tenant).filter(recipient=Recipient.TENANT)


def tenant_unacknowledged_notices(tenant: Tenant) -> QuerySet:
    return tenant_notices(tenant).filter(acknowledged_at__isnull=True)


def tenant_unacknowledged_count(tenant: Tenant) -> int:
    return tenant_unacknowledged_notices(tenant).count()


def with_tenant_notice_state(queryset: QuerySet, *, tenant: Tenant) -> QuerySet:
    """Annotate incidents with the tenant's side of them, in the same query (dashboard lists):

    ``notified_at`` — when the tenant was first told: its own 72 hours (Art. 33(1)) run from
    its awareness, at the latest from then; ``latest_phase`` — of the most recent notice it
    received; ``unacknowledged_notices`` — how many await its acknowledgement;
    ``initial_acknowledged`` — whether its initial notice has been acknowledged.
    """
    notices = tenant_notices(tenant).filter(incident=OuterRef("pk"))
    first = notices.order_by("sent_at", "id")
    latest = notices.order_by("-sent_at", "-id")
    return queryset.annotate(
        notified_at=Subquery(first.values("sent_at")[:1]),
        initial_acknowledged=~Exists(notices.filter(phase=Phase.INITIAL, acknowledged_at=None)),
        latest_phase=Subquery(latest.values("phase")[:1]),
        unacknowledged_notices=_count_of(notices.filter(acknowledged_at__isnull=True)),
    )


@dataclass(frozen=True)
class TenantClock:
    """The tenant's own 72 hours to decide whether to notify its supervisory authority."""

    deadline_at: datetime
    passed: bool
    pressing: bool  # show it as a deadline: still ahead, or passed with the notice unacknowledged


def tenant_clock(incident: BreachIncident, at: datetime | None = None) -> TenantClock:
    """On a ``with_tenant_notice_state`` incident. The controller's 72 hours run from its own
    awareness (Art. 33(1)) — at the latest from our first notice. Once they have passed and the
    notice was acknowledged, the clock is history, not an alarm."""
    deadline = clock.notification_deadline(incident.notified_at)
    passed = clock.is_overdue(deadline, at)
    return TenantClock(deadline, passed, pressing=not passed or not incident.initial_acknowledged)


# --- The register (Art. 33(5)) as rows, for the CSV export. ---

REGISTER_COLUMNS = [
    ("reference", "Reference"),
    ("title", "Title"),
    ("status", "Status"),
    ("nature", "Nature of the breach (Art. 33(3)(a))"),
    ("occurred_from", "Occurred from (UTC)"),
    ("occurred_to", "Occurred to (UTC)"),
    ("detected_at", "Detected (UTC)"),
    ("became_aware_at", "Became aware (UTC)"),
    ("deadline_at", "72-hour deadline (UTC)"),
    ("data_categories", "Categories of personal data (Art. 33(3)(a))"),
    ("affected_tenants", "Controllers concerned, with approximate subjects and records"),
    ("subjects", "Approximate number of data subjects (Art. 33(3)(a))"),
    ("records", "Approximate number of records (Art. 33(3)(a))"),
    ("records_detail", "Records: calls / recordings / transcripts"),
    ("dpo_contact", "DPO contact (Art. 33(3)(b))"),
    ("likely_consequences", "Likely consequences (Art. 33(3)(c))"),
    ("measures_taken", "Measures taken (Art. 33(3)(d))"),
    ("measures_proposed", "Measures proposed (Art. 33(3)(d))"),
    ("risk_level", "Risk level"),
    ("risk_reasoning", "Risk assessment reasoning"),
    ("tenant_notices", "Controllers notified (initial notice, UTC)"),
    ("tenant_acknowledgements", "Acknowledged by controllers (UTC)"),
    ("authority", "Supervisory authority: notification or decision not to notify"),
    ("subjects_notice", "Data subjects: communication or Art. 34(3) ground"),
    ("delay_reasons", "Reasons for delay (Art. 33(1))"),
    ("closed_at", "Closed (UTC)"),
]


def _notice_line(notice: BreachNotification) -> str:
    return f"{notice.recipient_name} {clock.format_utc(notice.sent_at)}"


def register_rows(queryset: QuerySet) -> Iterator[dict[str, str]]:
    """One row per incident with every Art. 33(3) item and what was done about it."""
    incidents = queryset.prefetch_related(
        Prefetch("impacts", queryset=BreachTenantImpact.objects.select_related("tenant")),
        Prefetch("notifications", queryset=BreachNotification.objects.order_by("sent_at", "id")),
    ).order_by("became_aware_at", "id")
    for incident in incidents:
        impacts = list(incident.impacts.all())
        notices = list(incident.notifications.all())
        tenant_initial = [
            n for n in notices if n.recipient == Recipient.TENANT and n.phase == "initial"
        ]
        authority = [n for n in notices if n.recipient == Recipient.SUPERVISORY_AUTHORITY]
        to_subjects = [
            n for n in notices if n.recipient in (Recipient.DATA_SUBJECTS, Recipient.PUBLIC)
        ]
        if authority:
            authority_text = "; ".join(
                f"notified {_notice_line(n)}" + (f" ref {n.reference}" if n.reference else "")
                for n in authority
            )
        elif incident.authority_not_notified_reasoning:
            authority_text = f"not notified: {incident.authority_not_notified_reasoning}"
        else:
            authority_text = "no decision recorded"
        if to_subjects:
            subjects_text = "; ".join(
                f"{n.get_recipient_display()} via {n.get_channel_display()} "
                f"{clock.format_utc(n.sent_at)}"
                for n in to_subjects
            )
        elif incident.subjects_not_notified_ground:
            subjects_text = (
                f"not told: {incident.get_subjects_not_notified_ground_display()}: "
                f"{incident.subjects_not_notified_reasoning}"
            )
        else:
            subjects_text = "no decision recorded"
        yield {
            "reference": incident.reference,
            "title": incident.title,
            "status": incident.get_status_display(),
            "nature": incident.description,
            "occurred_from": clock.format_utc(incident.occurred_from),
            "occurred_to": clock.format_utc(incident.occurred_to),
            "detected_at": clock.format_utc(incident.detected_at),
            "became_aware_at": clock.format_utc(incident.became_aware_at),
            "deadline_at": clock.format_utc(incident.deadline_at),
            "data_categories": ", ".join(incident.category_labels()),
            "affected_tenants": "; ".join(
                f"{i.tenant.name}: ~{i.subjects} subjects, ~{i.records} records" for i in impacts
            )
            or "none (no tenant's data)",
            "subjects": str(sum(i.subjects for i in impacts)),
            "records": str(sum(i.records for i in impacts)),
            "records_detail": (
                f"{sum(i.calls for i in impacts)} / {sum(i.recordings for i in impacts)} / "
                f"{sum(i.transcripts for i in impacts)}"
            ),
            "dpo_contact": incident.dpo_contact,
            "likely_consequences": incident.likely_consequences,
            "measures_taken": incident.measures_taken,
            "measures_proposed": incident.measures_proposed,
            "risk_level": incident.get_risk_level_display() if incident.risk_level else "",
            "risk_reasoning": incident.risk_reasoning,
            "tenant_notices": "; ".join(_notice_line(n) for n in tenant_initial),
            "tenant_acknowledgements": "; ".join(
                f"{n.recipient_name} {clock.format_utc(n.acknowledged_at)}"
                for n in tenant_initial
                if n.acknowledged_at
            ),
            "authority": authority_text,
            "subjects_notice": subjects_text,
            "delay_reasons": "; ".join(
                f"{n.recipient_name}: {n.delay_reason}" for n in notices if n.delay_reason
            ),
            "closed_at": clock.format_utc(incident.closed_at),
        }
