"""Writes for notices: to tenants (initial and in phases), the authority and data subjects;
decisions not to notify; acknowledgements."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from breaches import notice_content
from breaches.models import (
    BreachIncident,
    BreachNotification,
    BreachTenantImpact,
    RiskLevel,
    SubjectNoticeGround,
)
from breaches.services.common import (
    check_sent_at,
    lock_incident,
    require_delay_reason,
    require_notice_items,
    require_text,
)
from portal.access import membership_role
from portal.errors import BusinessRuleError, NotPermitted
from portal.models import ApiKey, Membership, Tenant
from portal.webhooks import webhook_emit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Recipient = BreachNotification.Recipient
Phase = BreachNotification.Phase
Channel = BreachNotification.Channel

NOTIFIED_EVENT = "breach.notified"
TENANT_EMAIL_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)


def tenant_notice_emails(tenant: Tenant) -> list[str]:
    """The tenant's privacy contact and its owners' and admins' addresses, each once."""
    addresses = [tenant.privacy_contact_email] + list(
        Membership.objects.for_tenant(tenant)
        .filter(role__in=TENANT_EMAIL_ROLES, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    seen: dict[str, str] = {}
    for address in addresses:
        if address and address.lower() not in seen:
            seen[address.lower()] = address
    return sorted(seen.values(), key=str.lower)


def _send_tenant_notice(
    *,
    incident: BreachIncident,
    impact: BreachTenantImpact,
    phase: str,
    sent_at: datetime,
    delay_reason: str = "",
    update: str = "",
    by: AbstractBaseUser | None = None,
) -> BreachNotification:
    """One tenant's notice: recorded, emailed (after commit) and announced by webhook."""
    from breaches.tasks import breach_notice_email_send

    tenant = impact.tenant
    notice = BreachNotification(
        incident=incident,
        recipient=Recipient.TENANT,
        tenant=tenant,
        recipient_name=tenant.legal_name or tenant.name,
        channel=Channel.EMAIL_AND_WEBHOOK,
        phase=phase,
        subject=notice_content.subject_line(incident, phase),
        content=notice_content.render_tenant_notice(
            incident=incident,
            tenant=tenant,
            impact=impact,
            phase=phase,
            sent_at=sent_at,
            delay_reason=delay_reason,
            update=update,
        ),
        sent_at=sent_at,
        sent_by=by if getattr(by, "is_authenticated", False) else None,
        delay_reason=delay_reason,
        email_recipients=tenant_notice_emails(tenant),
    )
    try:
        with transaction.atomic():
            notice.save()
    except IntegrityError:
        raise BusinessRuleError(
            f"{tenant.name} has had its {notice.get_phase_display().lower()} notice already.",
            code="already_notified",
        ) from None
    # Ids and counts only: a delivery log never holds a subject's data or another tenant's.
    webhook_emit(
        tenant=tenant,
        event=NOTIFIED_EVENT,
        payload={
            "incident": incident.pk,
            "reference": incident.reference,
            "notification": notice.pk,
            "phase": phase,
            "risk_level": incident.risk_level or None,
            "status": incident.status,
            "became_aware_at": incident.became_aware_at,
            "sent_at": sent_at,
            "calls": impact.calls,
            "recordings": impact.recordings,
            "transcripts": impact.transcripts,
            "subjects": impact.subjects,
        },
    )
    breach_notice_email_send.delay_on_commit(notice.pk)
    return notice


@transaction.atomic
def incident_notify_tenants(
    *, incident: BreachIncident, delay_reason: str = "", by: AbstractBaseUser | None = None
) -> list[BreachNotification]:
    """Tell every affected tenant not yet told, at once, each with its own counts (Art. 33(2)).

    There is no "do not notify" path for a tenant whose data a breach touched, whatever our
    rating: the controller decides what its authority must hear. Idempotent: tenants told
    already are skipped, so a repeated call (or task) sends nothing twice.
    """
    from breaches.selectors import notified_tenant_ids

    incident = lock_incident(incident)
    impacts = list(incident.impacts.select_related("tenant").order_by("tenant__name"))
    if not impacts:
        raise BusinessRuleError(
            f"{incident.reference} touches no tenant's data: link the affected calls first.",
            code="no_affected_tenants",
        )
    told = notified_tenant_ids(incident)
    pending = [impact for impact in impacts if impact.tenant_id not in told]
    if not pending:
        return []
    require_notice_items(incident)
    sent_at = timezone.now()
    reason = require_delay_reason(
        incident, sent_at=sent_at, delay_reason=delay_reason, phase=Phase.INITIAL
    )
    return [
        _send_tenant_notice(
            incident=incident,
            impact=impact,
            phase=Phase.INITIAL,
            sent_at=sent_at,
            delay_reason=reason,
            by=by,
        )
        for impact in pending
    ]


@transaction.atomic
def incident_add_phase(
    *, incident: BreachIncident, phase: str, update: str, by: AbstractBaseUser | None = None
) -> list[BreachNotification]:
    """A follow-up or final notice to every tenant told already (Art. 33(4))."""
    from breaches.selectors import notified_tenant_ids, tenants_not_yet_notified

    incident = lock_incident(incident)
    if phase not in (Phase.FOLLOW_UP, Phase.FINAL):
        raise BusinessRuleError("A later phase is follow_up or final.", field="phase")
    update = require_text(update, field="update", message="Say what is new in this notice.")
    pending = list(tenants_not_yet_notified(incident).values_list("name", flat=True))
    if pending:
        raise BusinessRuleError(
            f"Send the initial notice first to: {', '.join(pending)}.",
            code="tenants_not_notified",
        )
    told = notified_tenant_ids(incident)
    if not told:
        raise BusinessRuleError("No tenant has been told of this incident yet.", code="no_notices")
    if (
        phase == Phase.FINAL
        and incident.notifications.filter(recipient=Recipient.TENANT, phase=Phase.FINAL).exists()
    ):
        raise BusinessRuleError("The final notice has been sent already.", code="already_notified")
    require_notice_items(incident)
    sent_at = timezone.now()
    impacts = incident.impacts.filter(tenant_id__in=told).select_related("tenant")
    return [
        _send_tenant_notice(
            incident=incident, impact=impact, phase=phase, sent_at=sent_at, update=update, by=by
        )
        for impact in impacts.order_by("tenant__name")
    ]


def _validate_choice(value: str, choices, field: str) -> str:
    if value not in choices.values:
        raise BusinessRuleError(
            f"Unknown {field} {value!r}: use {', '.join(choices.values)}.", field=field
        )
    return value


@transaction.atomic
def incident_record_authority_notification(
    *,
    incident: BreachIncident,
    authority_name: str,
    channel: str,
    sent_at: datetime | None = None,
    content: str = "",
    reference: str = "",
    phase: str = Phase.INITIAL,
    delay_reason: str = "",
    by: AbstractBaseUser | None = None,
) -> BreachNotification:
    """Record a notification made to a supervisory authority (its content and time)."""
    incident = lock_incident(incident)
    authority_name = require_text(
        authority_name, field="authority_name", message="Name the supervisory authority."
    )
    _validate_choice(channel, Channel, "channel")
    _validate_choice(phase, Phase, "phase")
    sent_at = check_sent_at(sent_at, incident)
    reason = require_delay_reason(incident, sent_at=sent_at, delay_reason=delay_reason, phase=phase)
    if not content.strip():
        require_notice_items(incident)
    notice = BreachNotification.objects.create(
        incident=incident,
        recipient=Recipient.SUPERVISORY_AUTHORITY,
        recipient_name=authority_name,
        channel=channel,
        phase=phase,
        subject=notice_content.subject_line(incident, phase),
        content=content.strip()
        or notice_content.render_authority_notice(
            incident=incident,
            authority_name=authority_name,
            phase=phase,
            sent_at=sent_at,
            delay_reason=reason,
        ),
        reference=reference.strip(),
        sent_at=sent_at,
        sent_by=by if getattr(by, "is_authenticated", False) else None,
        delay_reason=reason,
    )
    if incident.authority_not_notified_reasoning:
        # Notified after all: the earlier decision stays in the history.
        incident.authority_not_notified_reasoning = ""
    incident.authority_decided_at = sent_at
    incident.save()
    return notice


@transaction.atomic
def incident_decide_authority_not_notified(
    *, incident: BreachIncident, reasoning: str
) -> BreachIncident:
    """Record why the supervisory authority is not notified (Art. 33(5): documented either way).

    Where tenants' data is concerned, they are the controllers and notify their authorities:
    the reasoning says so. Where the platform is the controller, only a breach unlikely to
    result in a risk may go unnotified (Art. 33(1)).
    """
    incident = lock_incident(incident)
    reasoning = require_text(
        reasoning, field="reasoning", message="Give the reasoning for not notifying."
    )
    if not incident.risk_level:
        raise BusinessRuleError(
            "Assess the risk first: the decision rests on it.",
            code="not_assessed",
            field="risk_level",
        )
    if incident.notifications.filter(recipient=Recipient.SUPERVISORY_AUTHORITY).exists():
        raise BusinessRuleError("The authority has been notified already.", code="already_notified")
    if not incident.impacts.exists() and incident.risk_level != RiskLevel.UNLIKELY:
        raise BusinessRuleError(
            "Art. 33(1): a breach likely to result in a risk must be notified to the "
            "supervisory authority; only one unlikely to result in a risk may go unnotified.",
            code="notification_required",
            field="risk_level",
        )
    incident.authority_not_notified_reasoning = reasoning
    incident.authority_decided_at = timezone.now()
    incident.save()
    return incident


@transaction.atomic
def incident_record_subject_notification(
    *,
    incident: BreachIncident,
    channel: str,
    content: str = "",
    sent_at: datetime | None = None,
    recipient: str = Recipient.DATA_SUBJECTS,
    reference: str = "",
    by: AbstractBaseUser | None = None,
) -> BreachNotification:
    """Record a communication to the data subjects, or a public one (Art. 34)."""
    incident = lock_incident(incident)
    if recipient not in (Recipient.DATA_SUBJECTS, Recipient.PUBLIC):
        raise BusinessRuleError("Subjects are told directly or publicly.", field="recipient")
    _validate_choice(channel, Channel, "channel")
    sent_at = check_sent_at(sent_at, incident)
    if not content.strip():
        require_notice_items(incident)
    notice = BreachNotification.objects.create(
        incident=incident,
        recipient=recipient,
        recipient_name=dict(Recipient.choices)[recipient],
        channel=channel,
        phase=Phase.INITIAL,
        subject=f"{incident.reference}: {incident.title}"[:255],
        content=content.strip() or notice_content.render_subject_notice(incident=incident),
        reference=reference.strip(),
        sent_at=sent_at,
        sent_by=by if getattr(by, "is_authenticated", False) else None,
    )
    if incident.subjects_not_notified_ground != SubjectNoticeGround.DISPROPORTIONATE_EFFORT:
        # Told after all (a public communication is how Art. 34(3)(c) is met: keep that one).
        incident.subjects_not_notified_ground = ""
        incident.subjects_not_notified_reasoning = ""
    incident.subjects_decided_at = sent_at
    incident.save()
    return notice


@transaction.atomic
def incident_decide_subjects_not_notified(
    *, incident: BreachIncident, ground: str, reasoning: str
) -> BreachIncident:
    """Record why data subjects are not told, on an Art. 34(1)/(3) ground, with reasoning."""
    incident = lock_incident(incident)
    _validate_choice(ground, SubjectNoticeGround, "ground")
    reasoning = require_text(
        reasoning, field="reasoning", message="Give the reasoning for not telling the subjects."
    )
    if not incident.risk_level:
        raise BusinessRuleError(
            "Assess the risk first: the decision rests on it.",
            code="not_assessed",
            field="risk_level",
        )
    if ground == SubjectNoticeGround.NOT_HIGH_RISK and incident.risk_level == RiskLevel.HIGH:
        raise BusinessRuleError(
            "The incident is rated high risk: choose an Art. 34(3) ground, or tell the subjects.",
            field="ground",
        )
    if (
        ground == SubjectNoticeGround.DISPROPORTIONATE_EFFORT
        and not incident.notifications.filter(recipient=Recipient.PUBLIC).exists()
    ):
        raise BusinessRuleError(
            "Art. 34(3)(c): record the public communication that informs the subjects first.",
            field="ground",
        )
    incident.subjects_not_notified_ground = ground
    incident.subjects_not_notified_reasoning = reasoning
    incident.subjects_decided_at = timezone.now()
    incident.save()
    return incident


@transaction.atomic
def notification_acknowledge(
    *,
    notification: BreachNotification,
    user: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
) -> BreachNotification:
    """The tenant confirms receipt of a notice: by one of its users, or by its API key.

    Idempotent: the first acknowledgement is kept.
    """
    notification = BreachNotification.objects.select_for_update().get(pk=notification.pk)
    if notification.recipient != Recipient.TENANT:
        raise BusinessRuleError("Only tenant notices are acknowledged.", code="not_a_tenant_notice")
    if api_key is not None:
        if api_key.tenant_id != notification.tenant_id or not api_key.is_active:
            raise NotPermitted("This key cannot acknowledge another tenant's notice.")
    elif user is None or membership_role(user, notification.tenant) is None:
        raise NotPermitted("Only the tenant's own users or API keys acknowledge its notices.")
    if notification.acknowledged_at is not None:
        return notification
    notification.acknowledged_at = timezone.now()
    notification.acknowledged_by = user if getattr(user, "is_authenticated", False) else None
    notification.acknowledged_by_api_key = api_key
    notification.save()
    return notification


@transaction.atomic
def incident_acknowledge(
    *,
    incident: BreachIncident,
    tenant: Tenant,
    user: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
) -> list[BreachNotification]:
    """Acknowledge every notice of the incident the tenant has not acknowledged yet."""
    pending = BreachNotification.objects.for_tenant(tenant).filter(
        incident=incident, recipient=Recipient.TENANT, acknowledged_at__isnull=True
    )
    return [
        notification_acknowledge(notification=notice, user=user, api_key=api_key)
        for notice in pending.order_by("sent_at", "id")
    ]
