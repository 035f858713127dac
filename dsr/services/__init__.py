"""Every transition of a data-subject request, one service each.

Lifecycle: ``received`` → ``verifying`` → ``in_review`` → ``approved`` | ``rejected`` →
``processing`` → ``completed`` | ``partially_completed``. Each service takes keyword-only
arguments, locks the request, refuses an illegal transition with a ``BusinessRuleError`` that
says why, records the acting user in history and in the request's timeline, and tells the
tenant (webhook) and the assigned staff (email). Admin, API, tasks and the seed all call these.

``by`` is the acting user (staff, or the creator of the API key acting); ``by=None`` is the
system (a task) or the tenant's automation policy, which is only accepted where the tenant's
settings allow it.
"""

from dsr.services.base import (
    PAUSABLE_STATUSES,
    TRANSITIONS,
    first_due_at,
    policy_snapshot,
)
from dsr.services.decision import request_approve, request_reject
from dsr.services.fulfilment import (
    request_complete,
    request_package_rebuild,
    request_partially_complete,
    request_process,
    request_rectify,
    request_restriction_lift,
    request_restriction_lift_notify,
)
from dsr.services.intake import request_confirm, request_forward_to_tenant, request_open
from dsr.services.review import (
    request_assign,
    request_extend,
    request_pause_clock,
    request_resume_clock,
    request_start_verification,
    request_verify,
)

__all__ = [
    "PAUSABLE_STATUSES",
    "TRANSITIONS",
    "first_due_at",
    "policy_snapshot",
    "request_approve",
    "request_assign",
    "request_complete",
    "request_confirm",
    "request_extend",
    "request_forward_to_tenant",
    "request_open",
    "request_package_rebuild",
    "request_partially_complete",
    "request_pause_clock",
    "request_process",
    "request_rectify",
    "request_reject",
    "request_restriction_lift",
    "request_restriction_lift_notify",
    "request_resume_clock",
    "request_start_verification",
    "request_verify",
]
