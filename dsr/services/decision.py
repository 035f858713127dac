"""The decision: approval (by a person or by the tenant's policy) and rejection."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from dsr.models import (
    PACKAGE_KINDS,
    DataSubjectRequest,
    RejectionGround,
    RequestKind,
    SubjectNotice,
)
from dsr.services import erasure, notifications
from dsr.services.base import (
    check_transition,
    end_open_pause,
    letter_context,
    lock,
    notice_record,
    policy_snapshot,
    refuse_closed,
    require_confirmed,
    require_perm,
    require_policy,
    transition,
)
from dsr.services.fulfilment import objection_apply, request_process, restriction_apply
from portal.errors import BusinessRuleError


@transaction.atomic
def request_approve(
    *,
    request: DataSubjectRequest,
    by,
    reasons: str = "",
    by_policy: bool = False,
) -> DataSubjectRequest:
    """Approve a verified, confirmed request — by a person with ``decide_request`` (and for
    erasure ``approve_erasure`` and four-eyes), or by the tenant's automation policy.
    Fulfilment starts at once (see ``_fulfil``)."""
    request = lock(request)
    if by_policy:
        setting = require_policy(request)
    else:
        require_perm(by, "decide_request", "approve a request", system_may=False)
        if request.kind == RequestKind.ERASURE:
            erasure.erasure_approval_check(request=request, by=by)
        setting = ""
    refuse_closed(request, "be approved")
    require_confirmed(request)
    if not request.is_verified:
        raise BusinessRuleError(
            f"Request #{request.pk} is not verified: record how the subject's identity was "
            "confirmed before approving it (an unverified request cannot be fulfilled).",
            code="not_verified",
        )
    check_transition(request, "approve")
    now = timezone.now()
    reasons = (reasons or "").strip()
    if by_policy:
        reasons = reasons or f"Approved by policy (tenant setting {setting})."
    transition(
        request,
        "approve",
        by=by,
        note=reasons,
        reason=f"approved by policy ({setting})" if by_policy else "approved",
        decided_by=None if by_policy else by,
        decided_at=now,
        approved_at=now,
        approved_by_policy=by_policy,
        decision_reasons=reasons,
        policy_snapshot=policy_snapshot(request.tenant),
    )
    _fulfil(request, by=by)
    return request


def _fulfil(request: DataSubjectRequest, *, by) -> None:
    """What follows approval, by kind."""
    if request.kind in PACKAGE_KINDS:
        from dsr.tasks import package_build

        package_build.delay_on_commit(request.pk)
    elif request.kind == RequestKind.ERASURE:
        erasure.erasure_approved(request=request)
    elif request.kind == RequestKind.RESTRICTION:
        restriction_apply(request, by=by)
    elif request.kind == RequestKind.OBJECTION:
        objection_apply(request, by=by)
    elif request.kind == RequestKind.RECTIFICATION:
        # The supplementary statement is written by staff (request_rectify).
        request_process(request=request, by=by)


@transaction.atomic
def request_reject(
    *, request: DataSubjectRequest, by, ground: str, reasons: str
) -> DataSubjectRequest:
    """Refuse a request with the reasons; the refusal tells the subject of the right to
    complain to the supervisory authority and to a judicial remedy (Art. 12(4))."""
    require_perm(by, "decide_request", "reject a request", system_may=False)
    request = lock(request)
    if ground not in RejectionGround.values:
        raise BusinessRuleError(f"Unknown ground {ground!r}.", field="ground")
    if not (reasons or "").strip():
        raise BusinessRuleError("Give the reasons for the refusal.", field="reasons")
    check_transition(request, "reject")
    require_confirmed(request)
    now = timezone.now()
    end_open_pause(request, by=by)
    transition(
        request,
        "reject",
        by=by,
        note=reasons.strip(),
        decided_by=by,
        decided_at=now,
        rejected_at=now,
        completed_at=now,
        rejection_ground=ground,
        decision_reasons=reasons.strip(),
        policy_snapshot=policy_snapshot(request.tenant),
    )
    text = notifications.render_for_tenant(
        "dsr/notice_refusal.txt",
        letter_context(
            request,
            ground=RejectionGround(ground).label,
            reasons=reasons.strip(),
            authority=request.tenant.supervisory_authority,
        ),
        request.tenant,
    )
    notice_record(request, SubjectNotice.Kind.REFUSAL, text, by=by)
    return request
