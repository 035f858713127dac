"""Erasure (Art. 17): the extension point the erasure work plugs into.

The request machinery calls these functions and nothing else for erasure, so that executing
erasure (legal holds, deferral, history scrubbing, residual scan, certificates, tombstones)
can be added here without touching the transitions:

* ``erasure_approval_check`` — who may approve an erasure request (called before approval);
* ``erasure_approved`` — called in the approving transaction, once an erasure request is
  approved by a person or by the tenant's policy (``auto_approve_erasure``);
* ``erasure_discovery_action`` — what discovery says will happen to an item.

Until execution exists an approved erasure request stays ``approved``: nothing is erased and
nothing pretends to be.
"""

from __future__ import annotations

from portal.errors import NotPermitted


def erasure_approval_check(*, request, by) -> None:
    """Approving an erasure needs ``dsr.approve_erasure`` and a second person (four-eyes):
    the approver is neither who opened nor who verified the request (SPEC, permissions)."""
    if not by.has_perm("dsr.approve_erasure"):
        raise NotPermitted("Approving an erasure needs the approve_erasure permission (DPO).")
    if by.pk in {request.opened_by_id, request.verified_by_id}:
        raise NotPermitted(
            "Four-eyes rule: an erasure must be approved by someone other than the person who "
            "opened or verified the request.",
            code="four_eyes",
        )


def erasure_approved(*, request) -> None:
    """Start executing an approved erasure request.

    Extension point: erasure execution enqueues its (idempotent, resumable) task here, with
    ``transaction.on_commit``. For now the request stays ``approved``.
    """
    return None


def erasure_discovery_action(item_kind: str) -> str:
    return "to be erased (items under a legal hold or a minimum retention period are deferred)"
