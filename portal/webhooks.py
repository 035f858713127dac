"""Tenant webhooks: HMAC-signed event deliveries, retried with backoff.

Payloads name objects by id (requests, calls, incidents), never by phone number, so a delivery
log holds no subject's personal data.

Deliveries reach only public internet addresses: the host is resolved once, every address
checked (``address_is_public``), and the connection made to that address; redirects are not
followed, and the error a tenant sees names no network detail (Art. 32 GDPR: the portal's
own network is not reachable through a tenant's webhook).

Signature: ``X-Portal-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with the
webhook's secret. Receivers recompute it and reject old timestamps to stop replays.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from portal.errors import BusinessRuleError
from portal.models import Tenant, Webhook, WebhookDelivery
from portal.services import full_clean_or_raise

logger = logging.getLogger(__name__)

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
    *,
    tenant: Tenant,
    url: str,
    events: list[str] | None = None,
    secret: str = "",
    is_active: bool = True,
) -> Webhook:
    _validate_url(url)
    webhook = Webhook(
        tenant=tenant,
        url=url,
        events=_validate_events(events or []),
        secret=secret or secrets.token_urlsafe(32),
        is_active=is_active,
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
    # Locked first, so that an event being emitted (which holds a share lock on the webhooks
    # it queues deliveries for) commits its deliveries before they are collected and deleted.
    locked = Webhook.objects.select_for_update().filter(pk=webhook.pk).first()
    if locked is not None:
        locked.delete()


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
    targets = _emit_targets(tenant_id, event)
    if not targets:
        return []
    with transaction.atomic():
        deliveries = [
            WebhookDelivery.objects.create(
                tenant_id=tenant_id, webhook=webhook, event=event, payload=body
            )
            for webhook in targets
        ]
        # A webhook deleted since it was read takes its deliveries with it, instead of failing
        # the caller's whole transaction at commit (a delivery pointing at no webhook).
        kept = _webhooks_kept_until_commit([webhook.pk for webhook in targets])
        for delivery in [d for d in deliveries if d.webhook_id not in kept]:
            delivery.delete()
            deliveries.remove(delivery)
    for delivery in deliveries:
        webhook_deliver.delay_on_commit(delivery.pk)
    return deliveries


def _emit_targets(tenant_id: int, event: str) -> list[Webhook]:
    webhooks = Webhook.objects.for_tenant(tenant_id).filter(is_active=True)
    return [webhook for webhook in webhooks if webhook.wants(event)]


def _webhooks_kept_until_commit(ids: list[int]) -> set[int]:
    """Those of ``ids`` that still exist, locked against deletion until the transaction ends.

    PostgreSQL: ``FOR KEY SHARE`` (what the foreign key itself would take at commit; emits do
    not block each other). SQLite: the transaction holds the database's write lock already
    (it has just written), so no deletion can commit before it does.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {Webhook._meta.db_table} WHERE id = ANY(%s) FOR KEY SHARE",
                [ids],
            )
            return {row[0] for row in cursor.fetchall()}
    return set(Webhook.objects.filter(pk__in=ids).values_list("pk", flat=True))


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


UNREACHABLE = (
    "The endpoint could not be reached: no connection, no answer in time, or an address "
    "that is not on the public internet."
)


class _Refused(Exception):
    """The webhook's host resolved to an address we do not deliver to (logged, not shown)."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses that an IPv6 address leads to: mapped, 6to4, Teredo and NAT64."""
    found = []
    if address.ipv4_mapped:
        found.append(address.ipv4_mapped)
    if address.sixtofour:
        found.append(address.sixtofour)
    if address.teredo:
        found.extend(address.teredo)
    if address in _NAT64 or address in _NAT64_LOCAL:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def address_is_public(address: str) -> bool:
    """Globally routable (``ipaddress.is_global``), and so is every address it embeds.

    Refuses private, loopback, link-local, shared (100.64.0.0/10, carrier-grade NAT) and
    reserved ranges, and IPv6 forms that lead to them (IPv4-mapped, 6to4, Teredo, NAT64).
    """
    parsed = ipaddress.ip_address(address.split("%", 1)[0])
    if not parsed.is_global or parsed.is_multicast:
        return False
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed in _NAT64 or parsed in _NAT64_LOCAL or parsed.sixtofour or parsed.teredo:
            return all(inner.is_global for inner in _embedded_ipv4(parsed))
        if parsed.ipv4_mapped:
            return parsed.ipv4_mapped.is_global
    return True


def _resolve(host: str, port: int) -> str:
    """Resolve the host once and pick the address to connect to.

    Every address the name resolves to must be public (unless WEBHOOK_ALLOW_PRIVATE_HOSTS), so
    a name that mixes public and private addresses is refused. The connection then goes to
    this very address: a DNS answer that changes between check and use (DNS rebinding) cannot
    redirect the delivery.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise _Refused(f"{host} does not resolve: {exc}") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise _Refused(f"{host} resolves to no address")
    if not getattr(settings, "WEBHOOK_ALLOW_PRIVATE_HOSTS", settings.DEBUG):
        private = [a for a in addresses if not address_is_public(a)]
        if private:
            raise _Refused(f"{host} resolves to non-public address(es) {', '.join(private)}")
    return addresses[0]


def _post_pinned(url: str, body: bytes, headers: dict) -> int:
    """POST to ``url``, connected to the address resolved once; redirects are not followed.

    TLS still checks the certificate against the host name (SNI and hostname verification),
    and the request carries the name in its Host header.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _resolve(host, port)
    timeout = urllib3.Timeout(total=getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10))
    options = {"port": port, "timeout": timeout, "retries": False, "maxsize": 1}
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, **options)
    default_port = 443 if parts.scheme == "https" else 80
    host_header = host if ":" not in host else f"[{host}]"
    if port != default_port:
        host_header = f"{host_header}:{port}"
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            assert_same_host=False,
            preload_content=False,
        )
        response.drain_conn()
        return response.status
    finally:
        pool.close()


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
        try:
            status_code = _post_pinned(webhook.url, body, headers)
        except (_Refused, urllib3.exceptions.HTTPError, OSError) as exc:
            # The tenant sees one plain message; the network details are for our log only.
            logger.warning(
                "Webhook %s delivery %s not delivered: %s: %s",
                webhook.pk,
                delivery.pk,
                type(exc).__name__,
                exc,
            )
            error = UNREACHABLE
        else:
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
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
