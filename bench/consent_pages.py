"""Time the consent pages of the dashboard on a tenant with a big ledger.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_dashconsent_bench \\
        .venv/bin/python bench/consent_pages.py --events 200000

Loads (once; again when there are fewer than ``--events``) the ledger of
``bench/consent_check.py`` — the same synthetic events over five purposes, the current state,
objections and restrictions, in bulk and without history — then requests each consent page
``--repeat`` times as the tenant's admin through Django's test client and prints the median
time and the number of SQL queries, and on PostgreSQL the plan of the ledger's first page.
The database name must contain "bench".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import consent_check as ledger  # noqa: E402  (sets Django up)
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from consent.models import ConsentEvent, ConsentState, ProcessingRestriction  # noqa: E402
from consent.views.ledger import LedgerView  # noqa: E402
from portal import services  # noqa: E402


def pages(number: str) -> list[tuple[str, str]]:
    week_ago = (timezone.localdate() - timedelta(days=7)).isoformat()
    return [
        ("ledger", "/dashboard/consent/"),
        ("ledger, page 20", "/dashboard/consent/?page=20"),
        ("ledger by number (other form)", f"/dashboard/consent/?number=0{number[3:]}"),
        ("ledger by purpose", "/dashboard/consent/?purpose=training"),
        ("ledger by action", "/dashboard/consent/?action=withdrawn"),
        ("ledger by basis", "/dashboard/consent/?lawful_basis=contract"),
        ("ledger, last week", f"/dashboard/consent/?occurred_from={week_ago}"),
        ("subject", f"/dashboard/consent/subject/?number={number}"),
        ("purposes", "/dashboard/consent/purposes/"),
        ("notices", "/dashboard/consent/notices/"),
        ("overview (with the consent-rate panel)", "/dashboard/"),
    ]


def explain_first_page(tenant) -> str:
    if connection.vendor != "postgresql":
        return ""
    queryset = (
        ConsentEvent.objects.for_tenant(tenant)
        .select_related(*LedgerView.list_select_related)
        .order_by("-occurred_at", "-id")[:51]
    )
    return queryset.explain(analyze=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    ledger.refuse_unless_dedicated()
    call_command("migrate", verbosity=0)
    tenant, purposes, notice = ledger.setup_tenant()
    if ConsentEvent.objects.for_tenant(tenant).count() < args.events:
        print(f"Loading {args.events:,} events into {ledger.database_label()}…")
        ledger.wipe(tenant)
        ledger.load(tenant, purposes, notice, args.events)
        if connection.vendor == "postgresql":
            # As autovacuum would soon: statistics, and the visibility map that lets the
            # consent-rate counts read the index alone.
            with connection.cursor() as cursor:
                for model in (ConsentEvent, ConsentState, ProcessingRestriction):
                    cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    admin, _ = get_user_model().objects.get_or_create(username="bench-consent-admin")
    services.membership_set(user=admin, tenant=tenant, role="admin")
    setup_test_environment()
    client = Client()
    client.force_login(admin)
    events = ConsentEvent.objects.for_tenant(tenant).count()
    print(f"\n{events:,} events, {ledger.database_label()}, median of {args.repeat}\n")
    print("| page | median ms | queries |\n|---|---|---|")
    for name, url in pages(ledger.number_for(1234)):
        timings = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        print(f"| {name} | {statistics.median(timings):.1f} | {len(captured)} |")
    plan = explain_first_page(tenant)
    if plan:
        print("\nPlan of the ledger's first page:\n")
        print("\n".join(f"    {line}" for line in plan.splitlines()))


if __name__ == "__main__":
    main()
