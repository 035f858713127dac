"""Calls benchmarks: batch ingest through the API, number search on a big table, the sweep.

Runs against a throwaway test database (created and dropped here), on SQLite or, with
DATABASE_URL, on PostgreSQL:

    .venv/bin/python bench/calls.py --calls 200000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/calls.py

Figures go to docs/benchmarks.md with the command that produced them.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402


def _queries(fn) -> int:
    """How many SQL statements ``fn`` runs (the request cycle resets Django's own log)."""
    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        fn()
    return count


def _timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.0f} ms (min {min(values) * 1000:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000, help="calls in the big table")
    parser.add_argument("--sweep", type=int, default=2_000, help="calls for the sweep to delete")
    args = parser.parse_args()

    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


def run(args) -> None:
    from calls.models import Call
    from calls.services import retention_rule_create, retention_sweep
    from consent.models import LawfulBasis, Purpose
    from portal.services import api_key_create, tenant_create

    print(f"database: {connection.vendor}")
    tenant = tenant_create(slug="bench", name="Bench", country="DE")
    Purpose.objects.create(
        tenant=tenant,
        code="service_delivery",
        description="x",
        default_lawful_basis=LawfulBasis.CONTRACT,
    )
    Purpose.objects.create(
        tenant=tenant,
        code="quality_assurance",
        description="x",
        default_lawful_basis=LawfulBasis.LEGITIMATE_INTERESTS,
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(tenant=tenant).key}")

    # 1. Batch ingest: 500 calls per request, with history, purposes and the purpose gate.
    start = timezone.now() - timedelta(days=1)
    counter = iter(range(10**9))

    def batch():
        items = []
        for _ in range(500):
            n = next(counter)
            items.append(
                {
                    "external_id": f"b-{n}",
                    "direction": "inbound",
                    "caller": f"030 7{n:07d}",
                    "callee": "+49 30 1234560",
                    "started_at": start.isoformat(),
                    "ended_at": (start + timedelta(minutes=3)).isoformat(),
                    "purposes": ["service_delivery", "quality_assurance"],
                    "category": "support",
                }
            )
        response = client.post("/api/v1/calls/batch/", {"calls": items}, format="json")
        assert response.status_code == 201, response.content[:300]

    print(f"batch of 500 calls: {_queries(batch)} queries")
    times = _timed(batch, 5)
    print(
        f"batch of 500 calls (2 purposes each): {_ms(times)}; "
        f"{500 / statistics.median(times):.0f} calls/s"
    )

    # 2. Number search on a big table (bulk-filled: the search does not care about history).
    rng = random.Random(1)
    now = timezone.now()
    rows = []
    for n in range(args.calls):
        rows.append(
            Call(
                tenant=tenant,
                external_id=f"big-{n}",
                direction="inbound",
                caller=f"+4930{rng.randint(1000000, 9999999)}",
                callee="+49301234560",
                started_at=now - timedelta(minutes=n),
                category="support",
            )
        )
        if len(rows) == 5000:
            Call.objects.bulk_create(rows)
            rows = []
    Call.objects.bulk_create(rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE calls_call")
    target = Call.objects.filter(external_id="big-4242").values_list("caller", flat=True).get()
    national = "0" + target[3:]

    def search():
        response = client.get("/api/v1/calls/", {"number": national})
        assert response.status_code == 200 and response.json()["count"] >= 1

    search()
    queries = _queries(search)
    times = _timed(search, 30)
    print(
        f"search by number ('{national[:4]}…', national format) among {args.calls} calls: "
        f"{_ms(times)}, {queries} queries"
    )

    def page():
        response = client.get("/api/v1/calls/", {"page_size": 100})
        assert response.status_code == 200

    queries = _queries(page)
    times = _timed(page, 10)
    print(f"first page of 100 calls among {args.calls}: {_ms(times)}, {queries} queries")

    # 3. Retention sweep: delete calls past the maximum, one transaction each, with history.
    retention_rule_create(tenant=tenant, category="sales", max_age_days=90)
    old = now - timedelta(days=200)
    Call.objects.bulk_create(
        Call(
            tenant=tenant,
            external_id=f"old-{n}",
            direction="inbound",
            caller=f"+4930{5000000 + n}",
            callee="+49301234560",
            started_at=old,
            category="sales",
        )
        for n in range(args.sweep)
    )
    start_time = time.perf_counter()
    report = retention_sweep()
    elapsed = time.perf_counter() - start_time
    print(
        f"sweep deleted {report.deleted_total} calls in {elapsed:.1f} s "
        f"({report.deleted_total / elapsed:.0f} calls/s); second run deleted "
        f"{retention_sweep().deleted_total}"
    )


if __name__ == "__main__":
    main()
