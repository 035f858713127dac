"""Tenant webhooks: HMAC-signed event deliveries, retried with backoff.

Payloads name objects by id (requests, calls, incidents), never by phone number, so a delivery
log holds no subject's personal data.

Signature: ``X-Portal-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with the
webhook's secret. Receivers recompute it and reject old timestamps to stop replays.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from portal.errors import BusinessRuleError
from portal.models import Tenant, Webhook, WebhookDelivery
from portal.services import full_clean_or_raise

SIGNATURE_HEADER = "X-Portal-Signature"
EVENT_HEADER = "X-Portal-Event"
DELIVERY_HEADER = "X-Portal-Delivery"

# Every event type a webhook may subscribe to. Apps add theirs with ``register_event``.
EVENT_TYPES: dict[str, str] = {"webhook.test": "A test delivery sent from the dashboard or API."}


def register_event(name: str, description: str) -> None:
    EVENT_TYPES[name] = description


def max_attempts() -> int:
    return getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 7)


def backoff(attempt: int) -> timedelta:
    """Delay after the given failed attempt: 30 s, 2 min, 8 min, 32 min, ~2 h, ~8.5 h."""
    return timedelta(seconds=30 * 4 ** (attempt - 1))


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(secret: str, body: bytes, header: str, *, tolerance: int = 300) -> bool:
    """What a receiver does; used by our tests and documented for integrators."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=")[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _validate_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise BusinessRuleError(
            f"Unknown event type(s): {', '.join(unknown)}. "
            f"Known: {', '.join(sorted(EVENT_TYPES))}.",
            field="events",
        )
    return sorted(set(events))


def _validate_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BusinessRuleError("The webhook URL must be an http(s) URL.", field="url")
    if parts.scheme != "https" and not getattr(settings, "WEBHOOK_ALLOW_HTTP", settings.DEBUG):
        raise BusinessRuleError("The webhook URL must use https.", field="url")


@transaction.atomic
def webhook_create(
    *, tenant: Tenant, url: str, events: list[str] | None = None, secret: str = ""
) -> Webhook:
    _validate_url(url)
    webhook = Webhook(
        tenant=tenant,
        url=url,
        events=_validate_events(events or []),
        secret=secret or secrets.token_urlsafe(32),
    )
    full_clean_or_raise(webhook)
    webhook.save()
    return webhook


@transaction.atomic
def webhook_update(*, webhook: Webhook, **changes) -> Webhook:
    if "url" in changes:
        _validate_url(changes["url"])
    if "events" in changes:
        changes["events"] = _validate_events(changes["events"] or [])
    for field, value in changes.items():
        if field not in ("url", "events", "secret", "is_active"):
            raise BusinessRuleError(f"{field} cannot be changed.", field=field)
        setattr(webhook, field, value)
    full_clean_or_raise(webhook)
    webhook.save()
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()


def webhook_emit(*, tenant: Tenant | int, event: str, payload: dict) -> list[WebhookDelivery]:
    """Queue ``event`` for every active webhook of the tenant that wants it.

    Deliveries are created in the caller's transaction and sent after it commits, so a rolled
    back change never announces itself.
    """
    from portal.tasks import webhook_deliver

    if event not in EVENT_TYPES:
        raise ValueError(f"Unregistered webhook event {event!r}")
    tenant_id = tenant.pk if isinstance(tenant, Tenant) else tenant
    body = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    deliveries = []
    for webhook in Webhook.objects.for_tenant(tenant_id).filter(is_active=True):
        if not webhook.wants(event):
            continue
        delivery = WebhookDelivery.objects.create(
            tenant_id=tenant_id, webhook=webhook, event=event, payload=body
        )
        webhook_deliver.delay_on_commit(delivery.pk)
        deliveries.append(delivery)
    return deliveries


def webhook_send_test(*, webhook: Webhook) -> WebhookDelivery:
    from portal.tasks import webhook_deliver

    delivery = WebhookDelivery.objects.create(
        tenant_id=webhook.tenant_id,
        webhook=webhook,
        event="webhook.test",
        payload={"message": "Test delivery from the Call Privacy Portal."},
    )
    webhook_deliver.delay_on_commit(delivery.pk)
    return delivery


def _host_is_private(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local:
            return True
    return False


def delivery_body(delivery: WebhookDelivery) -> bytes:
    envelope = {
        "id": delivery.pk,
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "tenant": delivery.webhook.tenant.slug,
        "data": delivery.payload,
    }
    return json.dumps(envelope, cls=DjangoJSONEncoder, sort_keys=True).encode()


def webhook_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Send one delivery once; record the outcome and when to try again.

    Idempotent: a delivered or failed delivery is left alone.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("webhook", "webhook__tenant")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status in (
            WebhookDelivery.Status.DELIVERED,
            WebhookDelivery.Status.FAILED,
        ):
            return delivery
        if (
            delivery.status == WebhookDelivery.Status.RETRYING
            and delivery.next_attempt_at
            and delivery.next_attempt_at > timezone.now()
        ):
            return delivery  # not due yet: another path already tried it
        webhook = delivery.webhook
        body = delivery_body(delivery)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "CallPrivacyPortal-Webhooks/1",
            SIGNATURE_HEADER: sign(webhook.secret, body, int(time.time())),
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: str(delivery.pk),
        }
        error, status_code = "", None
        host = urlsplit(webhook.url).hostname or ""
        if not getattr(settings, "WEBHOOK_ALLOW_PRIVATE_HOSTS", settings.DEBUG) and (
            _host_is_private(host)
        ):
            error = f"Refused to deliver to a private address ({host})."
        else:
            try:
                response = requests.post(
                    webhook.url,
                    data=body,
                    headers=headers,
                    timeout=getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10),
                    allow_redirects=False,
                )
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}"
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        if not error:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
        elif delivery.attempts >= max_attempts():
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.status = WebhookDelivery.Status.RETRYING
            delivery.next_attempt_at = timezone.now() + backoff(delivery.attempts)
        delivery.save()
    return delivery


def deliveries_due(now=None):
    now = now or timezone.now()
    return WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.RETRYING, next_attempt_at__lte=now
    ).values_list("pk", flat=True)
