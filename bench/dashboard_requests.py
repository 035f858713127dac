"""Time the dashboard's request pages on a tenant with many data-subject requests.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        .venv/bin/python bench/dashboard_requests.py --requests 100000

Creates (once) a tenant with ``--requests`` requests received over three years (nine in ten
closed, the rest open in every status, some overdue, some extended), one subject number each,
and 500 calls of one subject; then requests each page ``--repeat`` times as the tenant's admin
and prints the median time and the number of SQL queries. The rows are written with
``bulk_create``: benchmark data needs no audit history or timeline.
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

from calls.models import Call  # noqa: E402
from dsr.models import (  # noqa: E402
    CLOSED_STATUSES,
    OPEN_STATUSES,
    DataSubjectRequest,
    RequestKind,
    RequestSubjectNumber,
)
from dsr.services import deadlines  # noqa: E402
from portal import services  # noqa: E402
from portal.models import Tenant  # noqa: E402

SLUG = "bench-requests"
SUBJECT = "+4915112345678"
BATCH = 5000


def _request(tenant: Tenant, i: int, now) -> DataSubjectRequest:
    received = now - timedelta(minutes=(i * 37) % (3 * 365 * 24 * 60))
    closed = i % 10 != 0
    status = CLOSED_STATUSES[i % 3] if closed else OPEN_STATUSES[(i // 10) % 5]
    due = deadlines.deadline(received, tz=tenant.timezone, country=tenant.country)
    extended = (
        deadlines.deadline(received, tz=tenant.timezone, country=tenant.country, months=3)
        if i % 17 == 0
        else None
    )
    return DataSubjectRequest(
        tenant=tenant,
        kind=RequestKind.values[i % len(RequestKind.values)],
        channel="api",
        status=status,
        name=f"Caller {i}",
        received_at=received,
        due_at=due,
        extended_due_at=extended,
        extension_months=3 if extended else None,
        effective_due_at=extended or due,
        confirmed_at=received,
        status_changed_at=min(received + timedelta(days=20), now),
        completed_at=min(received + timedelta(days=20), now) if closed else None,
        created_at=received,
    )


def build(count: int) -> tuple[Tenant, object]:
    from django.contrib.auth import get_user_model

    tenant = Tenant.objects.filter(slug=SLUG).first() or services.tenant_create(
        slug=SLUG, name="Bench Requests", country="DE", timezone="Europe/Berlin"
    )
    admin, _ = get_user_model().objects.get_or_create(username="bench-requests-admin")
    services.membership_set(user=admin, tenant=tenant, role="admin")
    now = timezone.now()
    have = DataSubjectRequest.objects.for_tenant(tenant).count()
    for start in range(have, count, BATCH):
        rows = DataSubjectRequest.objects.bulk_create(
            [_request(tenant, i, now) for i in range(start, min(start + BATCH, count))]
        )
        RequestSubjectNumber.objects.bulk_create(
            RequestSubjectNumber(
                tenant=tenant,
                request=row,
                number=SUBJECT if n == 0 else f"+49151{(start + n) % 10**8:08d}",
            )
            for n, row in enumerate(rows)
        )
    if not Call.objects.for_tenant(tenant).filter(caller=SUBJECT).exists():
        Call.objects.bulk_create(
            Call(
                tenant=tenant,
                external_id=f"bench-{i}",
                direction="inbound",
                caller=SUBJECT,
                callee="+4930901820",
                started_at=now - timedelta(hours=i),
                category="support",
            )
            for i in range(500)
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE dsr_datasubjectrequest")
            cursor.execute("ANALYZE dsr_requestsubjectnumber")
    return tenant, admin


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    setup_test_environment()
    tenant, admin = build(args.requests)
    subject_request = (
        DataSubjectRequest.objects.for_tenant(tenant)
        .filter(subject_numbers__number=SUBJECT)
        .first()
    )
    client = Client()
    client.force_login(admin)
    pages = {
        "list": "/dashboard/requests/",
        "list, page 20": "/dashboard/requests/?page=20",
        "list, overdue": "/dashboard/requests/?deadline=overdue",
        "list, due within 7 days": "/dashboard/requests/?deadline=soon",
        "list, closed erasures": "/dashboard/requests/?status=closed&kind=erasure",
        "list, by number (national format)": "/dashboard/requests/?number=0151+12345678",
        "request page (500 calls found)": f"/dashboard/requests/{subject_request.pk}/",
        "overview": "/dashboard/",
    }
    total = DataSubjectRequest.objects.for_tenant(tenant).count()
    print(f"{connection.vendor}, {total} requests, {args.repeat} requests per page")
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
