"""Background work for breaches: high-risk notices at once, notice emails, and a sweep that
picks up whatever a dead worker or a mail outage left behind."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from breaches import clock, services
from breaches.models import BreachIncident, BreachNotification, RiskLevel
from breaches.selectors import incidents_with_tenants_pending
from portal.errors import BusinessRuleError
from portal.jobs import JobFailures

logger = logging.getLogger(__name__)

EMAIL_RETRY_AFTER = timedelta(minutes=2)


@shared_task(acks_late=True)
def incident_notify_tenants_task(incident_id: int, delay_reason: str = "") -> str:
    """Send the tenant notices of a high-risk incident (idempotent: the told are skipped)."""
    incident = BreachIncident.objects.filter(pk=incident_id).first()
    if incident is None:
        return "gone"
    if incident.is_closed:
        return "closed"
    if incident.risk_level != RiskLevel.HIGH:
        return "not_high_risk"  # re-rated meanwhile: the DPO reviews and sends
    try:
        sent = services.incident_notify_tenants(incident=incident, delay_reason=delay_reason)
    except BusinessRuleError as exc:
        # E.g. past the 72 hours with no reason given: the DPO must send it with the reasons.
        logger.warning("Breach %s: tenant notices not sent: %s", incident.reference, exc)
        return exc.code
    return f"sent {len(sent)}"


@shared_task(acks_late=True)
def breach_notice_email_send(notification_id: int) -> str:
    """Email one tenant notice to the tenant's privacy contact, owners and admins."""
    with transaction.atomic():
        notice = (
            BreachNotification.objects.select_for_update()
            .select_related("incident")
            .filter(pk=notification_id)
            .first()
        )
        if notice is None:
            return "gone"
        if notice.emailed_at is not None:
            return "already_sent"
        if not notice.email_recipients:
            return "no_recipients"
        message = EmailMessage(
            subject=notice.subject,
            body=notice.content,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=notice.email_recipients,
        )
        try:
            message.send()
        except (OSError, smtplib.SMTPException) as exc:
            # Left unsent: the sweep tries again. The notice itself is recorded and visible.
            logger.warning("Breach notice %s: email failed: %s", notice.pk, exc)
            return "failed"
        notice.emailed_at = timezone.now()
        notice.save(update_fields=["emailed_at"])
    return "sent"


@shared_task
def breach_notices_sweep() -> dict:
    """Beat: resend notice emails that did not go out, and send the notices of high-risk
    incidents whose background notice was lost, while their 72 hours run."""
    now = timezone.now()
    unsent = BreachNotification.objects.filter(
        recipient=BreachNotification.Recipient.TENANT,
        emailed_at__isnull=True,
        sent_at__lte=now - EMAIL_RETRY_AFTER,
    ).exclude(email_recipients=[])
    failures = JobFailures("breach notices")
    emails = [
        failures.run(f"notification {pk}", breach_notice_email_send, pk)
        for pk in unsent.values_list("pk", flat=True)[:500]
    ]
    notified = 0
    for incident in incidents_with_tenants_pending(
        BreachIncident.objects.filter(risk_level=RiskLevel.HIGH)
    ):
        if clock.is_overdue(incident.deadline_at, now):
            continue  # needs the DPO's reasons for the delay
        sent = failures.run(
            f"incident {incident.pk}", services.incident_notify_tenants, incident=incident
        )
        notified += len(sent or [])
    return {
        "emails_sent": emails.count("sent"),
        "tenant_notices": notified,
        **failures.as_dict(),
    }
