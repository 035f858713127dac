"""Time the dashboard's breach-notice pages on a big breach register.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        .venv/bin/python bench/breach_notices.py --incidents 2000 --others 50

Creates (once) a tenant told of ``--incidents`` incidents, each also notified to ``--others``
other tenants (so the notice table holds incidents × (others + 1) tenant notices, plus a
follow-up for every fifth incident), a third of them acknowledged, a quarter contained; then
requests each page ``--repeat`` times as the tenant's admin and prints the median time and the
number of SQL queries per page. Rows are written with ``bulk_create``: benchmark data needs no
audit history.
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

from breaches.models import BreachIncident, BreachNotification, BreachTenantImpact  # noqa: E402
from portal import services  # noqa: E402
from portal.models import Tenant  # noqa: E402

SLUG = "bench-breaches"
TITLE = "Bench incident"


def _tenants(others: int) -> tuple[Tenant, list[Tenant]]:
    tenant = Tenant.objects.filter(slug=SLUG).first() or services.tenant_create(
        slug=SLUG, name="Bench Breaches"
    )
    rest = []
    for i in range(others):
        slug = f"{SLUG}-other-{i}"
        rest.append(
            Tenant.objects.filter(slug=slug).first()
            or services.tenant_create(slug=slug, name=f"Other {i}")
        )
    return tenant, rest


def build(incidents: int, others: int) -> tuple[Tenant, object]:
    from django.contrib.auth import get_user_model

    tenant, rest = _tenants(others)
    admin, _ = get_user_model().objects.get_or_create(username="bench-breach-admin")
    services.membership_set(user=admin, tenant=tenant, role="admin")
    missing = incidents - BreachIncident.objects.filter(title__startswith=TITLE).count()
    now = timezone.now()
    statuses = ["open", "assessing", "assessing", "contained"]
    for start in range(0, max(missing, 0), 500):
        made = BreachIncident.objects.bulk_create(
            BreachIncident(
                title=f"{TITLE} {start + i}",
                description="Bench",
                detected_at=now - timedelta(hours=start + i),
                became_aware_at=now - timedelta(hours=start + i),
                data_categories=["recordings"],
                risk_level=["unlikely", "risk", "high"][(start + i) % 3],
                status=statuses[(start + i) % 4],
                dpo_contact="dpo@platform.example",
            )
            for i in range(min(500, missing - start))
        )
        impacts, notices = [], []
        for n, incident in enumerate(made):
            for told in [tenant, *rest]:
                impacts.append(BreachTenantImpact(incident=incident, tenant=told, calls=3))
                sent = incident.became_aware_at + timedelta(hours=2)
                phases = ["initial", "follow_up"] if n % 5 == 0 else ["initial"]
                for phase in phases:
                    notices.append(
                        BreachNotification(
                            incident=incident,
                            recipient="tenant",
                            tenant=told,
                            recipient_name=told.name,
                            channel="email_webhook",
                            phase=phase,
                            subject=f"[Breach notice] {incident.title}",
                            content="Bench notice content\n" * 40,
                            sent_at=sent,
                            acknowledged_at=sent + timedelta(hours=1) if n % 3 == 0 else None,
                        )
                    )
        BreachTenantImpact.objects.bulk_create(impacts, batch_size=5000)
        BreachNotification.objects.bulk_create(notices, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("breaches_breachincident", "breaches_breachnotification"):
                cursor.execute(f"ANALYZE {table}")
    return tenant, admin


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--others", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    setup_test_environment()
    tenant, admin = build(args.incidents, args.others)
    incident = BreachIncident.objects.for_tenant(tenant).order_by("-became_aware_at").first()
    client = Client()
    client.force_login(admin)
    pages = {
        "overview": "/dashboard/",
        "breach notices": "/dashboard/breaches/",
        "breach notices, page 2": "/dashboard/breaches/?page=2",
        "to acknowledge": "/dashboard/breaches/?acknowledgement=unacknowledged",
        "contained, high risk": "/dashboard/breaches/?status=contained&risk_level=high",
        "notice page": f"/dashboard/breaches/{incident.pk}/",
        "acknowledge (confirm)": f"/dashboard/breaches/{incident.pk}/acknowledge/",
        "members (a core list, for reference)": "/dashboard/members/",
    }
    notices = BreachNotification.objects.count()
    told = BreachIncident.objects.for_tenant(tenant).count()
    print(f"{connection.vendor}, {told} incidents told to the tenant, {notices} notices in all")
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
