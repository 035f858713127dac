"""The suppression list: withdrawals, objections and restrictions that outlive erasure.

When a number's data is erased (Art. 17), what the subject asked us to stop must not start
again: an erased caller who objected stays objected. Before the ledger and the restrictions of
a number are deleted, the erasure (in ``dsr``) calls ``suppression_record``, which keeps, keyed
by the number's tombstone (``portal.redaction.number_fingerprint``, a keyed hash, never the
number), each withdrawal, objection and restriction in force with its purpose and date.

That record is pseudonymised personal data (Art. 4(5)), kept on Art. 17(3)(b) with Art. 21 and
7(3) — the controller must go on honouring the objection or withdrawal — and in the subject's
own interest. It holds no number, no text, nothing but the kind, the purpose and the date.
"""

from __future__ import annotations

from django.db import transaction

from consent.models import ConsentState, LawfulBasis, ProcessingRestriction, Suppression
from portal.redaction import number_fingerprint


@transaction.atomic
def suppression_record(*, tenant_id: int, number: str, request_ref: int) -> list[Suppression]:
    """Keep the withdrawals, objections and restrictions in force for ``number`` (E.164) by its
    tombstone, before its data is erased under request ``request_ref``. Idempotent."""
    fingerprint = number_fingerprint(number)
    wanted: dict[tuple[str, str], object] = {}
    withdrawn = ConsentState.objects.filter(
        tenant_id=tenant_id, number=number, allowed=False, lawful_basis=LawfulBasis.CONSENT
    ).values_list("purpose_code", "since")
    for code, since in withdrawn:
        wanted[(Suppression.Kind.WITHDRAWAL, code)] = since
    in_force = ProcessingRestriction.objects.filter(
        tenant_id=tenant_id, number=number, lifted_at__isnull=True
    ).values_list("kind", "started_at")
    for kind, started_at in in_force:
        key = (kind, "")  # the restriction kinds are spelled as the suppression kinds
        wanted[key] = min(started_at, wanted.get(key, started_at))
    kept = []
    for (kind, code), since in wanted.items():
        row, _ = Suppression.objects.get_or_create(
            tenant_id=tenant_id,
            fingerprint=fingerprint,
            kind=kind,
            purpose_code=code,
            defaults={"since": since, "request_ref": request_ref},
        )
        kept.append(row)
    return kept
