"""Webhooks reach only public internet addresses, checked on the address connected to."""

import socket

import pytest

from portal import webhooks
from portal.models import WebhookDelivery
from tests.factories import WebhookFactory

pytestmark = pytest.mark.django_db


class FakeDns:
    """socket.getaddrinfo as seen by portal.webhooks: answers from a list, counting queries."""

    def __init__(self, *answers: str):
        self.answers = list(answers)
        self.queries = 0

    def __call__(self, host, port, *args, **kwargs):
        self.queries += 1
        address = self.answers[min(self.queries, len(self.answers)) - 1]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]


@pytest.fixture
def production(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False


@pytest.fixture
def connections(monkeypatch):
    """Where deliveries really connect to (nothing leaves the machine)."""
    made = []

    def connect(address, *args, **kwargs):
        made.append(address[0])
        raise ConnectionRefusedError("refused in the test")

    monkeypatch.setattr("urllib3.util.connection.create_connection", connect)
    return made


def deliver(url: str, tenant) -> WebhookDelivery:
    webhook = WebhookFactory(tenant=tenant, url=url)
    delivery = WebhookDelivery.objects.create(
        tenant=tenant, webhook=webhook, event="webhook.test", payload={}
    )
    return webhooks.webhook_attempt(delivery_id=delivery.pk)


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.5",
        "127.0.0.1",
        "169.254.169.254",  # cloud metadata
        "100.64.1.1",  # shared address space (carrier-grade NAT)
        "192.0.0.1",  # IETF protocol assignments
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:10.0.0.5",  # IPv4-mapped
        "64:ff9b::a00:5",  # NAT64 of 10.0.0.5
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:a00:5::1",  # 6to4 of 10.0.0.5
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address, tenant_a, production, connections, monkeypatch):
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", FakeDns(address))
    delivery = deliver("https://hooks.example.com/in", tenant_a)
    assert delivery.status == "retrying" and delivery.last_status_code is None
    assert connections == []
    assert delivery.last_error == webhooks.UNREACHABLE  # no address, host or port named
    assert address not in delivery.last_error and "example.com" not in delivery.last_error


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "64:ff9b::808:808"])
def test_public_addresses_pass(address):
    assert webhooks.address_is_public(address)


def test_the_connection_goes_to_the_address_that_was_checked(
    tenant_a, production, connections, monkeypatch
):
    # DNS rebinding: a public answer for the check, a private one a moment later.
    dns = FakeDns("93.184.215.14", "127.0.0.1")
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", dns)
    delivery = deliver("https://hooks.example.com/in", tenant_a)
    assert dns.queries == 1
    assert connections == ["93.184.215.14"]
    assert delivery.last_error == webhooks.UNREACHABLE
    assert "93.184" not in delivery.last_error and "refused" not in delivery.last_error


def test_a_name_with_any_private_address_is_refused(tenant_a, production, connections, monkeypatch):
    def mixed(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", mixed)
    delivery = deliver("https://hooks.example.com/in", tenant_a)
    assert connections == [] and delivery.last_error == webhooks.UNREACHABLE


def test_delivery_uses_the_resolved_address_with_the_name_as_host(
    tenant_a, webhook_receiver, monkeypatch
):
    port = webhook_receiver.server.server_port
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", FakeDns("127.0.0.1"))
    delivery = deliver(f"http://hooks.example.test:{port}/in?x=1", tenant_a)
    assert delivery.status == "delivered", delivery.last_error
    received = webhook_receiver.requests[0]
    assert received["headers"]["Host"] == f"hooks.example.test:{port}"
    assert received["path"] == "/in?x=1"


def test_redirects_are_not_followed(tenant_a, webhook_receiver):
    webhook_receiver.statuses = [302]
    delivery = deliver(webhook_receiver.url, tenant_a)
    assert delivery.status == "retrying" and delivery.last_error == "HTTP 302"
    assert len(webhook_receiver.requests) == 1


def test_network_details_go_to_the_server_log_only(
    tenant_a, production, connections, monkeypatch, caplog
):
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", FakeDns("10.9.8.7"))
    delivery = deliver("https://hooks.example.com/in", tenant_a)
    assert "10.9.8.7" not in delivery.last_error
    assert "10.9.8.7" in caplog.text
