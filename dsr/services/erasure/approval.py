"""Approving an erasure: who may (four-eyes), and what approval starts."""

from __future__ import annotations

from portal.errors import NotPermitted


def erasure_approval_check(*, request, by) -> None:
    """Approving an erasure needs ``dsr.approve_erasure`` and a second person (four-eyes):
    the approver is neither who opened nor who verified the request (SPEC, permissions).

    Approval by the tenant's policy (``auto_approve_erasure``, requests opened by the tenant's
    own API key) does not come here: it is recorded as "approved by policy" instead.
    """
    if not by.has_perm("dsr.approve_erasure"):
        raise NotPermitted("Approving an erasure needs the approve_erasure permission (DPO).")
    if by.pk in {request.opened_by_id, request.verified_by_id}:
        raise NotPermitted(
            "Four-eyes rule: an erasure must be approved by someone other than the person who "
            "opened or verified the request.",
            code="four_eyes",
        )


def erasure_approved(*, request) -> None:
    """Called in the approving transaction: the erasure task starts once it commits.

    The request moves to ``processing`` when the task starts; if the task is lost before that
    (broker down), the stuck-work beat task (``erasures_resume_stuck``) starts it again.
    """
    from dsr.tasks import erasure_run

    erasure_run.delay_on_commit(request.pk)


def erasure_discovery_action(item_kind: str) -> str:
    return "to be erased (items under a legal hold or a minimum retention period are deferred)"
