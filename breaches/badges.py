"""How incidents look as badges, the same in the admin and on the tenant dashboard."""

from __future__ import annotations

from breaches.models import BreachIncident, RiskLevel

RISK_SEVERITY = {RiskLevel.HIGH: "danger", RiskLevel.RISK: "warning", RiskLevel.UNLIKELY: "ok"}
STATUS_SEVERITY = {"open": "danger", "assessing": "warning", "contained": "info", "closed": "muted"}


def risk_state(incident: BreachIncident) -> tuple[str, str]:
    """``(text, severity)`` of the risk rating."""
    if not incident.risk_level:
        return "not assessed", "danger"
    return incident.get_risk_level_display(), RISK_SEVERITY[incident.risk_level]


def status_state(incident: BreachIncident) -> tuple[str, str]:
    return incident.get_status_display(), STATUS_SEVERITY.get(incident.status, "info")
