"""The consent app's overview panel: consent rate per active purpose."""

from __future__ import annotations

from consent.models import Purpose
from consent.selectors import consent_rates


def consent_rate_panel(request) -> dict:
    """Per active purpose: numbers allowed now (restricted ones excluded) out of the numbers
    with a record — ``consent_rates``, the figures of the tenant's admin page. One query for
    the purposes, one for the counts."""
    purposes = Purpose.objects.for_tenant(request.tenant).filter(is_active=True).order_by("code")
    rates = consent_rates(tenant=request.tenant, purposes=list(purposes))
    recorded = [rate for rate in rates if rate.total]
    return {
        "purposes": len(rates),
        "rates": [
            (f"{rate.purpose.code} ({rate.allowed} of {rate.total})", rate.percent)
            for rate in recorded
        ],
        "unrecorded": [rate.purpose.code for rate in rates if not rate.total],
    }
