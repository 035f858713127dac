"""Restriction (Art. 18) and objection (Art. 21) of processing for a number; the data-subject
requests work places and lifts them, the consent check and the purpose gate honour them."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from consent.models import ProcessingRestriction
from portal.errors import BusinessRuleError
from portal.models import Tenant
from portal.numbers import normalize_number


@transaction.atomic
def processing_restriction_place(
    *, tenant: Tenant, number: str, kind: str, reason: str = "", request_id: int | None = None
) -> ProcessingRestriction:
    """Restrict (Art. 18) or object to (Art. 21) processing of a number; idempotent."""
    if kind not in ProcessingRestriction.Kind.values:
        raise BusinessRuleError(f"Unknown restriction kind {kind!r}.", field="kind")
    e164 = normalize_number(number, country=tenant.country)
    existing = (
        ProcessingRestriction.objects.for_tenant(tenant)
        .filter(number=e164, kind=kind, lifted_at__isnull=True)
        .first()
    )
    if existing is not None:
        return existing
    return ProcessingRestriction.objects.create(
        tenant=tenant, number=e164, kind=kind, reason=reason, request_id=request_id
    )


@transaction.atomic
def processing_restriction_lift(
    *, restriction: ProcessingRestriction, reason: str
) -> ProcessingRestriction:
    """Lift a restriction; the subject must have been told beforehand (Art. 18(3))."""
    if not reason.strip():
        raise BusinessRuleError("Say why the restriction is lifted.", field="reason")
    restriction = ProcessingRestriction.objects.select_for_update().get(pk=restriction.pk)
    if restriction.lifted_at is not None:
        raise BusinessRuleError("This restriction has been lifted already.", code="already_lifted")
    restriction.lifted_at = timezone.now()
    restriction.lifted_reason = reason
    restriction.save(update_fields=["lifted_at", "lifted_reason"])
    return restriction
