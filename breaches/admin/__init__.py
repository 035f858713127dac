"""The DPO's breach register: incidents on the clock, their tenants and notices, and actions.

Every action (assess, link calls, notify tenants, add a phase, record the authority's or the
subjects' notice, contain, close) is its own page: it shows what will happen, asks for the
required reasons, and calls the service. Support staff see the incidents touching the tenants
they serve, read-only, and only those tenants' rows on them.
"""

from __future__ import annotations

from breaches.admin.incidents import BreachIncidentAdmin
from breaches.admin.records import BreachNotificationAdmin, BreachTenantImpactAdmin

__all__ = ["BreachIncidentAdmin", "BreachNotificationAdmin", "BreachTenantImpactAdmin"]
