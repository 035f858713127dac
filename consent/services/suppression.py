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

# What the subject is told (erasure certificate, access package): the minimal record kept.
SUPPRESSION_EXPLANATION = (
    "When your data is erased we keep one minimal record: for each consent you had withdrawn, "
    "each objection and each restriction still in force, its kind, the purpose and the date, "
    "filed under a keyed hash of your number (never the number itself). We keep it so that "
    "your withdrawal or objection is still respected if you call again (Article 17(3)(b) with "
    "Articles 21 and 7(3) GDPR): without it, erasing your data would also erase your objection, "
    "which is in your own interest to keep. It is pseudonymised personal data (Article 4(5)) "
    "and is used for nothing else."
)


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


def suppressions_for(*, tenant_id: int, numbers=(), fingerprints=()) -> list[Suppression]:
    """The suppression records kept for any of ``numbers`` (E.164) or tombstones."""
    fingerprints = [*fingerprints, *(number_fingerprint(n) for n in numbers)]
    return list(
        Suppression.objects.filter(tenant_id=tenant_id, fingerprint__in=fingerprints).order_by(
            "since", "kind"
        )
    )
