"""Core background work: webhook deliveries."""

from celery import shared_task
from django.conf import settings

from portal import webhooks
from portal.jobs import JobFailures
from portal.models import WebhookDelivery


@shared_task(acks_late=True)
def webhook_deliver(delivery_id: int) -> str:
    delivery = webhooks.webhook_attempt(delivery_id=delivery_id)
    if delivery is None:
        return "gone"
    if delivery.status == WebhookDelivery.Status.RETRYING and not settings.CELERY_TASK_ALWAYS_EAGER:
        # With a broker, schedule the retry; in-process, the periodic sweep picks it up.
        countdown = webhooks.backoff(delivery.attempts).total_seconds()
        webhook_deliver.apply_async((delivery.pk,), countdown=countdown)
    return delivery.status


@shared_task
def webhook_retry_due() -> int:
    """Beat: send deliveries whose retry time has come (covers lost countdowns too)."""
    due = list(webhooks.deliveries_due())
    failures = JobFailures("webhook retries")
    for delivery_id in due:
        failures.run(f"delivery {delivery_id}", webhooks.webhook_attempt, delivery_id=delivery_id)
    return len(due) - len(failures.failed)
