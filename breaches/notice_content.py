"""What a breach notice says: rendered from templates, stored on the notification as sent.

A tenant's notice is rendered from that tenant's own impact only: the template receives one
tenant and one ``BreachTenantImpact`` and nothing that could name or count another tenant.
"""

from __future__ import annotations

from datetime import datetime

from django.template.loader import render_to_string

from breaches import clock
from breaches.models import BreachIncident, BreachNotification, BreachTenantImpact, RiskLevel
from portal.models import Tenant

NOT_YET = "Not yet known: will follow in a later notice (Art. 33(4))."
NOT_ASSESSED = "Not yet assessed: our assessment follows in a later notice."


def subject_line(incident: BreachIncident, phase: str) -> str:
    label = "" if phase == BreachNotification.Phase.INITIAL else f" — {_phase_label(phase).lower()}"
    return f"[Breach notice{label}] {incident.reference}: {incident.title}"[:255]


def _phase_label(phase: str) -> str:
    return dict(BreachNotification.Phase.choices)[phase]


def _risk_label(incident: BreachIncident) -> str:
    if not incident.risk_level:
        return NOT_ASSESSED
    return dict(RiskLevel.choices)[incident.risk_level]


def _categories(incident: BreachIncident) -> str:
    return ", ".join(incident.category_labels()) or "not yet known"


def _occurred(incident: BreachIncident, tz) -> str:
    if incident.occurred_from is None and incident.occurred_to is None:
        return "not yet known"
    start = clock.format_local(incident.occurred_from, tz) if incident.occurred_from else "unknown"
    end = clock.format_local(incident.occurred_to, tz) if incident.occurred_to else "unknown"
    return f"{start} to {end}"


def _common(incident: BreachIncident, phase: str, delay_reason: str) -> dict:
    return {
        "incident": incident,
        "phase": phase,
        "phase_label": _phase_label(phase),
        "risk_label": _risk_label(incident),
        "categories": _categories(incident),
        "delay_reason": delay_reason.strip(),
        "not_yet": NOT_YET,
    }


def render_tenant_notice(
    *,
    incident: BreachIncident,
    tenant: Tenant,
    impact: BreachTenantImpact,
    phase: str,
    sent_at: datetime,
    delay_reason: str = "",
    update: str = "",
) -> str:
    """The notice to one tenant, in its time zone, with its own counts only."""
    if impact.tenant_id != tenant.pk:  # a programming error that would leak another's counts
        raise ValueError("A tenant notice must be rendered from that tenant's own impact.")
    tz = tenant.timezone
    context = {
        **_common(incident, phase, delay_reason),
        "tenant": tenant,
        "impact": impact,
        "update": update.strip(),
        "occurred": _occurred(incident, tz),
        "sent_local": clock.format_local(sent_at, tz),
        "detected_local": clock.format_local(incident.detected_at, tz),
        "aware_local": clock.format_local(incident.became_aware_at, tz),
        "deadline_local": clock.format_local(incident.deadline_at, tz),
        "your_deadline_local": clock.format_local(clock.notification_deadline(sent_at), tz),
    }
    return render_to_string("breaches/notice_tenant.txt", context).strip() + "\n"


def render_authority_notice(
    *,
    incident: BreachIncident,
    authority_name: str,
    phase: str,
    sent_at: datetime,
    delay_reason: str = "",
) -> str:
    impacts = list(incident.impacts.select_related("tenant"))
    context = {
        **_common(incident, phase, delay_reason),
        "authority_name": authority_name,
        "impacts": impacts,
        "tenant_count": len(impacts),
        "total_subjects": sum(i.subjects for i in impacts),
        "total_records": sum(i.records for i in impacts),
        "occurred": _occurred(incident, "UTC"),
        "sent_utc": clock.format_utc(sent_at),
        "detected_utc": clock.format_utc(incident.detected_at),
        "aware_utc": clock.format_utc(incident.became_aware_at),
    }
    return render_to_string("breaches/notice_authority.txt", context).strip() + "\n"


def render_subject_notice(*, incident: BreachIncident) -> str:
    """Art. 34(2): in clear and plain language, at least the items of Art. 33(3)(b)–(d)."""
    context = _common(incident, BreachNotification.Phase.INITIAL, "")
    return render_to_string("breaches/notice_subjects.txt", context).strip() + "\n"
