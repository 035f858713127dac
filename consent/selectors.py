"""Reads of the consent ledger: the lawful basis for a (number, purpose) at a time.

``purpose_gate_violations`` is what the calls app asks when a call is stored for purposes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from consent.models import ConsentEvent, LawfulBasis, ProcessingRestriction, Purpose


@dataclass(frozen=True)
class BasisAnswer:
    allowed: bool
    basis: str | None
    since: datetime | None
    event_id: int | None
    reason: str


def _active_restrictions(tenant_id: int, number: str, at: datetime | None):
    queryset = ProcessingRestriction.objects.filter(tenant_id=tenant_id, number=number)
    if at is None:
        return queryset.filter(lifted_at__isnull=True)
    return queryset.filter(started_at__lte=at).filter(
        Q(lifted_at__isnull=True) | Q(lifted_at__gt=at)
    )


def lawful_basis_at(*, tenant_id: int, number: str, purpose: Purpose, at: datetime) -> BasisAnswer:
    """Whether ``number`` may be processed for ``purpose`` at ``at``, and on which basis.

    Consent-based purposes need the latest ledger event at or before ``at`` to be a giving;
    other bases come from the purpose's default basis. A restricted number is never allowed;
    an objection stops legitimate-interest processing.
    """
    kinds = set(_active_restrictions(tenant_id, number, at).values_list("kind", flat=True))
    if ProcessingRestriction.Kind.RESTRICTION in kinds:
        return BasisAnswer(False, None, None, None, "Processing is restricted (Art. 18).")
    latest = (
        ConsentEvent.objects.filter(
            tenant_id=tenant_id, number=number, purpose=purpose, occurred_at__lte=at
        )
        .order_by("-occurred_at", "-id")
        .first()
    )
    if latest is not None:
        if latest.action == ConsentEvent.Action.WITHDRAWN:
            return BasisAnswer(False, None, latest.occurred_at, latest.pk, "Consent was withdrawn.")
        if (
            latest.lawful_basis == LawfulBasis.LEGITIMATE_INTERESTS
            and ProcessingRestriction.Kind.OBJECTION in kinds
        ):
            return BasisAnswer(
                False,
                None,
                None,
                latest.pk,
                "The subject objected to legitimate-interest processing.",
            )
        return BasisAnswer(
            True, latest.lawful_basis, latest.occurred_at, latest.pk, "Recorded lawful basis."
        )
    basis = purpose.default_lawful_basis
    if basis == LawfulBasis.CONSENT:
        return BasisAnswer(False, None, None, None, "No consent recorded for this purpose.")
    if basis == LawfulBasis.LEGITIMATE_INTERESTS and ProcessingRestriction.Kind.OBJECTION in kinds:
        return BasisAnswer(
            False, None, None, None, "The subject objected to legitimate-interest processing."
        )
    return BasisAnswer(True, basis, None, None, "The purpose's default lawful basis.")


def purpose_gate_violations(
    *, tenant_id: int, number: str, purposes: list[Purpose], at: datetime
) -> list[Purpose]:
    """The purposes among ``purposes`` for which ``number`` has no valid basis at ``at``."""
    return [
        purpose
        for purpose in purposes
        if not lawful_basis_at(tenant_id=tenant_id, number=number, purpose=purpose, at=at).allowed
    ]
