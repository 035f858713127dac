"""The transitions offered on the request page: who may, when, and which service runs."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms as django_forms
from django.http import Http404

from dsr import forms, services
from dsr.models import (
    CLOSED_STATUSES,
    PACKAGE_KINDS,
    DataSubjectRequest,
    RequestKind,
    RequestStatus,
)


@dataclass(frozen=True)
class Action:
    """One transition offered on the request page."""

    label: str
    perm: str
    form: type[django_forms.Form]
    explanation: str = ""
    danger: bool = False


ACTIONS: dict[str, Action] = {
    "confirm": Action(
        "Record the tenant's confirmation",
        "change_datasubjectrequest",
        forms.ConfirmForm,
        "The tenant (the controller) confirmed it takes this request on. The deadline still "
        "runs from the first receipt.",
    ),
    "start_verification": Action(
        "Ask for identity information",
        "verify_request",
        forms.StartVerificationForm,
        "Ask the subject only for what is needed to confirm identity.",
    ),
    "pause_clock": Action("Pause the clock", "verify_request", forms.PauseForm),
    "resume_clock": Action(
        "Resume the clock",
        "verify_request",
        forms.NoteForm,
        "The deadline moves by the days the clock stood still.",
    ),
    "verify": Action(
        "Record identity verification",
        "verify_request",
        forms.VerifyForm,
        "Record how identity was confirmed. Never upload or note a copy of an ID document.",
    ),
    "assign": Action("Assign", "assign_request", forms.AssignForm),
    "extend": Action(
        "Extend the deadline",
        "decide_request",
        forms.ExtendForm,
        "At most three months from receipt, only before the first month ends; the subject is "
        "told the new date and the reasons (Art. 12(3)).",
    ),
    "approve": Action("Approve", "decide_request", forms.ApproveForm),
    "reject": Action(
        "Reject",
        "decide_request",
        forms.RejectForm,
        "The subject is told the reasons and of the right to complain to the supervisory "
        "authority (Art. 12(4)).",
        danger=True,
    ),
    "rectify": Action(
        "Add a supplementary statement",
        "decide_request",
        forms.RectifyForm,
        "The statement is added to every call of the subject, the request is completed and the "
        "tenant's webhooks are told which calls changed (Art. 19).",
    ),
    "build_package": Action(
        "Build the package again",
        "decide_request",
        forms.NoteForm,
        "Starts a new build of the package in the background.",
    ),
    "complete": Action("Mark completed", "decide_request", forms.OutcomeForm),
    "partially_complete": Action(
        "Mark partially completed", "decide_request", forms.PartialOutcomeForm, danger=True
    ),
    "lift_notice": Action(
        "Tell the subject the restriction will be lifted",
        "decide_request",
        forms.LiftNoticeForm,
        "Art. 18(3): the subject is told before a restriction is lifted.",
    ),
    "lift_restriction": Action(
        "Lift the restriction", "decide_request", forms.ReasonForm, danger=True
    ),
    "resume_erasure": Action(
        "Run the erasure again",
        "decide_request",
        forms.NoteForm,
        "Starts the erasure's work again in the background: it skips what is erased already, "
        "erases deferred items whose reason ended, scans for residual data and closes the "
        "request when nothing is left.",
    ),
    "redact_findings": Action(
        "Cut the numbers out of what the scan found",
        "decide_request",
        forms.VerifyErasureForm,
        "The subject's numbers are replaced by [erased] in exactly the rows and columns the last "
        "residual-data scan found (other people's free text naming the subject, for example), "
        "live rows and history alike; the rest of the text stays. Then the erasure runs again.",
        danger=True,
    ),
    "verify_erasure": Action(
        "Run the residual-data scan",
        "view_datasubjectrequest",
        forms.VerifyErasureForm,
        "Searches every table (history included) and the tenant's storage for the subject's "
        "numbers now, and checks the tables that hold numbers against the request's tombstones.",
    ),
}


def possible(obj: DataSubjectRequest, action: str) -> bool:
    """Whether ``action`` makes sense in the request's current state (the service decides)."""
    status = obj.status
    transitions = services.TRANSITIONS
    if action == "confirm":
        return obj.confirmed_at is None and status not in CLOSED_STATUSES
    if action in ("start_verification", "verify", "reject"):
        return status in transitions[action][0]
    if action == "approve":
        return status in transitions["approve"][0] and obj.is_verified
    if action == "pause_clock":
        return status in services.PAUSABLE_STATUSES and obj.clock_paused_at is None
    if action == "resume_clock":
        return obj.clock_paused_at is not None
    if action == "assign":
        return status not in CLOSED_STATUSES
    if action == "extend":
        return status not in CLOSED_STATUSES and (obj.extension_months or 1) < 3
    if action == "rectify":
        return obj.kind == RequestKind.RECTIFICATION and status == RequestStatus.PROCESSING
    if action == "build_package":
        return obj.kind in PACKAGE_KINDS and status == RequestStatus.PROCESSING
    if action in ("complete", "partially_complete"):
        return status == RequestStatus.PROCESSING and obj.kind not in (
            *PACKAGE_KINDS,
            RequestKind.ERASURE,
        )
    if action == "resume_erasure":
        return obj.kind == RequestKind.ERASURE and status in (
            RequestStatus.APPROVED,
            RequestStatus.PROCESSING,
            RequestStatus.PARTIALLY_COMPLETED,
        )
    if action == "redact_findings":
        run = getattr(obj, "erasure_run", None)
        return run is not None and run.scan_clean is False and bool(run.scan_findings)
    if action == "verify_erasure":
        return obj.kind == RequestKind.ERASURE and status not in (
            RequestStatus.RECEIVED,
            RequestStatus.VERIFYING,
            RequestStatus.IN_REVIEW,
            RequestStatus.REJECTED,
        )
    restriction_done = obj.kind == RequestKind.RESTRICTION and status == RequestStatus.COMPLETED
    if action == "lift_notice":
        return restriction_done and not obj.restriction_lift_notified_at
    if action == "lift_restriction":
        return (
            restriction_done
            and obj.restriction_lift_notified_at is not None
            and obj.restriction_lifted_at is None
        )
    return False


def _numbers_of(obj: DataSubjectRequest, given: list[str]) -> list[str]:
    from dsr.services.erasure.verification import known_numbers

    return known_numbers(obj, given)


def run(action: str, obj: DataSubjectRequest, user, data: dict):
    """Call the service behind ``action``: the admin adds nothing of its own."""
    if action == "confirm":
        return services.request_confirm(request=obj, by=user, **data)
    if action == "start_verification":
        return services.request_start_verification(request=obj, by=user, **data)
    if action == "pause_clock":
        return services.request_pause_clock(request=obj, by=user, **data)
    if action == "resume_clock":
        return services.request_resume_clock(request=obj, by=user, **data)
    if action == "verify":
        return services.request_verify(request=obj, by=user, **data)
    if action == "assign":
        return services.request_assign(request=obj, by=user, **data)
    if action == "extend":
        return services.request_extend(request=obj, by=user, **data)
    if action == "approve":
        return services.request_approve(request=obj, by=user, **data)
    if action == "reject":
        return services.request_reject(request=obj, by=user, **data)
    if action == "rectify":
        return services.request_rectify(request=obj, by=user, **data)
    if action == "build_package":
        return services.request_package_rebuild(request=obj, by=user)
    if action == "complete":
        return services.request_complete(request=obj, by=user, **data)
    if action == "partially_complete":
        return services.request_partially_complete(request=obj, by=user, **data)
    if action == "lift_notice":
        return services.request_restriction_lift_notify(request=obj, by=user, **data)
    if action == "lift_restriction":
        return services.request_restriction_lift(request=obj, by=user, **data)
    if action == "resume_erasure":
        from dsr.services.erasure.execution import erasure_restart

        return erasure_restart(request=obj, by=user, **data)
    if action == "redact_findings":
        from dsr.services.erasure.execution import erasure_restart
        from dsr.services.erasure.verification import erasure_redact_findings

        erasure_redact_findings(request=obj, by=user, numbers=data["numbers"])
        if obj.status == RequestStatus.PARTIALLY_COMPLETED:
            # The closed request keeps no numbers: its final scan needs the ones given here.
            from dsr.services.erasure.execution import deferred_resume

            return deferred_resume(request_id=obj.pk, numbers=_numbers_of(obj, data["numbers"]))
        return erasure_restart(request=obj, by=user, note="After redacting residual data.")
    if action == "verify_erasure":
        from dsr.services.erasure.verification import erasure_verify

        return erasure_verify(request=obj, by=user, numbers=data["numbers"])
    raise Http404(action)
