"""Who hears about a request: the tenant's webhooks, the assigned staff, the subject.

Webhook payloads carry ids only — the request, its kind, status and deadline, and for Art. 19
notices the ids of the calls concerned — never a number, name or email of the subject.
Emails are sent after the transaction commits, so a rolled-back change announces nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from dsr.models import DataSubjectRequest, SubjectNotice
from portal.access import DPO_GROUP
from portal.models import Membership
from portal.webhooks import register_event, webhook_emit

EVENTS = {
    "request.received": "A data-subject request was opened (any channel).",
    "request.forwarded": "A subject sent a request to the platform directly; it was forwarded "
    "to you and waits for your confirmation (POST /api/v1/requests/{id}/confirm/).",
    "request.confirmed": "You confirmed a request forwarded by the platform.",
    "request.status_changed": "A data-subject request changed status.",
    "request.deadline_changed": "A request's deadline moved: clock paused or resumed, or the "
    "deadline extended (Art. 12(3)).",
    "request.package_ready": "The access or portability package of a request can be downloaded.",
    "request.rectified": "Art. 19: a supplementary statement was added to the calls named "
    "(pass it on to every recipient of those calls).",
    "request.restricted": "Art. 19: processing of the calls named is restricted (stored only).",
    "request.restriction_lifted": "Art. 19: the restriction of the calls named was lifted.",
    "request.erased": "Art. 19: the calls named were erased under an erasure request (ids "
    "only): erase every copy you passed on.",
}


def register_events() -> None:
    for name, description in EVENTS.items():
        register_event(name, description)


def request_payload(request: DataSubjectRequest, **extra) -> dict:
    payload = {
        "request": request.pk,
        "kind": request.kind,
        "status": request.status,
        "due_at": request.effective_due_at,
        "extended": request.extended_due_at is not None,
        "clock_paused": request.clock_paused_at is not None,
    }
    payload.update(extra)
    return payload


def emit(request: DataSubjectRequest, event: str, **extra) -> None:
    webhook_emit(tenant=request.tenant_id, event=event, payload=request_payload(request, **extra))


def _send_later(subject: str, body: str, recipients: list[str]) -> None:
    recipients = sorted({r for r in recipients if r})
    if not recipients:
        return
    transaction.on_commit(lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients))


def admin_url(request: DataSubjectRequest) -> str:
    return reverse("admin:dsr_datasubjectrequest_change", args=[request.pk])


def notify_assignee(request: DataSubjectRequest, what: str, *, actor=None) -> None:
    """Tell the assigned staff member what happened (not when they did it themselves)."""
    assignee = request.assignee
    if assignee is None or not assignee.email or (actor is not None and actor.pk == assignee.pk):
        return
    due = timezone.localtime(request.effective_due_at, request.tenant.tzinfo)
    body = (
        f"{what}\n\n"
        f"Request #{request.pk} ({request.get_kind_display()}) for {request.tenant.name}\n"
        f"Status: {request.get_status_display()}\n"
        f"Due: {due:%Y-%m-%d %H:%M %Z}\n"
        f"Open it in the admin: {admin_url(request)}\n"
    )
    _send_later(f"[Request #{request.pk}] {what}", body, [assignee.email])


def dpo_emails() -> list[str]:
    users = (
        get_user_model()
        .objects.filter(groups__name=DPO_GROUP, is_active=True, is_staff=True)
        .exclude(email="")
    )
    return list(users.values_list("email", flat=True))


def notify_staff(request: DataSubjectRequest, subject: str, body: str, emails: list[str]) -> None:
    _send_later(f"[Request #{request.pk}] {subject}", f"{body}\n\n{admin_url(request)}\n", emails)


def tenant_contact_emails(request: DataSubjectRequest) -> list[str]:
    """The tenant's privacy contact, else its owners and admins."""
    tenant = request.tenant
    if tenant.privacy_contact_email:
        return [tenant.privacy_contact_email]
    members = Membership.objects.for_tenant(tenant).filter(
        role__in=[Membership.Role.OWNER, Membership.Role.ADMIN]
    )
    return [m.user.email for m in members.select_related("user") if m.user.email]


def notify_tenant_of_forwarded_request(request: DataSubjectRequest) -> None:
    body = render_for_tenant("dsr/email/forwarded_to_tenant.txt", {"req": request}, request.tenant)
    _send_later(
        f"Data-subject request #{request.pk} forwarded to you: please confirm",
        body,
        tenant_contact_emails(request),
    )


def render_for_tenant(template: str, context: dict, tenant) -> str:
    """Render with dates in the tenant's time zone (templates convert to the active zone)."""
    with timezone.override(tenant.tzinfo):
        return render_to_string(template, context)


def send_subject_notice(notice: SubjectNotice) -> None:
    """Email a notice to the subject when an address is known; the tenant sees it either way."""
    request = notice.request
    if not request.email:
        return
    tenant = request.tenant
    subject = f"{tenant.legal_name or tenant.name}: your request #{request.pk}"
    _send_later(subject, notice.text, [request.email])
    notice.emailed_at = timezone.now()
    notice.save(update_fields=["emailed_at"])
