"""Time the core's dashboard pages on a tenant with a big webhook delivery log.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        .venv/bin/python bench/dashboard_pages.py --deliveries 100000

Creates (once) a tenant with 20 webhooks, ``--deliveries`` deliveries spread over 10 weeks,
30 API keys and 30 members, then requests each page ``--repeat`` times as the tenant's admin
and prints the median time and the number of SQL queries per page. The rows are written with
``bulk_create``: benchmark data needs no audit history.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from portal import services  # noqa: E402
from portal.models import Tenant, Webhook, WebhookDelivery  # noqa: E402

SLUG = "bench-dashboard"


def build(deliveries: int) -> tuple[Tenant, object]:
    from django.contrib.auth import get_user_model

    tenant = Tenant.objects.filter(slug=SLUG).first() or services.tenant_create(
        slug=SLUG, name="Bench Dashboard"
    )
    users = get_user_model().objects
    admin, _ = users.get_or_create(username="bench-admin")
    services.membership_set(user=admin, tenant=tenant, role="admin")
    for i in range(30 - tenant.memberships.count()):
        user, _ = users.get_or_create(username=f"bench-member-{i}")
        services.membership_set(user=user, tenant=tenant, role="viewer")
    while services.ApiKey.objects.for_tenant(tenant).count() < 30:
        services.api_key_create(tenant=tenant, name="bench", created_by=admin)
    hooks = list(Webhook.objects.for_tenant(tenant))
    if not hooks:
        Webhook.objects.bulk_create(
            Webhook(tenant=tenant, url=f"https://hooks.example.com/{i}", secret="x" * 32)
            for i in range(20)
        )
        hooks = list(Webhook.objects.for_tenant(tenant))
    missing = deliveries - WebhookDelivery.objects.for_tenant(tenant).count()
    now = timezone.now()
    statuses = ["delivered"] * 18 + ["retrying", "failed"]
    batch = []
    for i in range(max(missing, 0)):
        batch.append(
            WebhookDelivery(
                tenant=tenant,
                webhook=hooks[i % len(hooks)],
                event="webhook.test",
                payload={"n": i},
                status=statuses[i % len(statuses)],
                attempts=1,
                created_at=now - timedelta(minutes=(i * 7) % (70 * 24 * 60)),
            )
        )
        if len(batch) == 5000:
            WebhookDelivery.objects.bulk_create(batch)
            batch = []
    WebhookDelivery.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE portal_webhookdelivery")
    return tenant, admin


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    setup_test_environment()
    tenant, admin = build(args.deliveries)
    webhook = Webhook.objects.for_tenant(tenant).first()
    client = Client()
    client.force_login(admin)
    pages = {
        "overview": "/dashboard/",
        "API keys": "/dashboard/api-keys/",
        "webhooks": "/dashboard/webhooks/",
        "webhook detail": f"/dashboard/webhooks/{webhook.pk}/",
        "members": "/dashboard/members/",
        "settings": "/dashboard/settings/",
    }
    total = WebhookDelivery.objects.for_tenant(tenant).count()
    print(f"{connection.vendor}, {total} webhook deliveries, {args.repeat} requests per page")
    print("| page | median ms | queries |")
    print("|---|---|---|")
    for name, url in pages.items():
        client.get(url)  # warm up
        times = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        print(f"| {name} | {statistics.median(times):.1f} | {len(queries)} |")


if __name__ == "__main__":
    main()
