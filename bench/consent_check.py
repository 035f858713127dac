"""Benchmark of the call-time consent check with a big ledger.

Loads ``--events`` consent events (one million by default) for a tenant ``bench`` into a
dedicated database, then measures ``GET /api/v1/consent/check/`` two ways:

* in-process: ``consent.selectors.consent_check`` called directly (the database round trip and
  the Python around it);
* over HTTP: a real gunicorn server on loopback, one sync worker, called with an API key
  (authentication, throttling, the view, JSON, TCP).

and prints median, p99, mean and max per call, the query plan (PostgreSQL) and a Markdown
section for docs/benchmarks.md.

The load is fast on purpose: ``bulk_create`` in chunks, and the current-state table is built
directly from the generated events instead of through ``consent_give``. Bulk loads write no
history rows and skip the services' rule checks; that is acceptable here because the data is
synthetic, generated to obey the rules, and the check reads only the state table.

Usage (the database name must contain "bench": the script deletes the bench tenant's ledger
when it reloads it):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        .venv/bin/python bench/consent_check.py --events 1000000
    DATABASE_URL=sqlite:////tmp/portal_bench.sqlite3 \\
        .venv/bin/python bench/consent_check.py --events 100000
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnop")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from consent.models import (  # noqa: E402
    ConsentEvent,
    ConsentState,
    LawfulBasis,
    PrivacyNotice,
    ProcessingRestriction,
    Purpose,
    Suppression,
)
from consent.selectors import consent_check, consent_check_queryset  # noqa: E402
from portal.models import Tenant  # noqa: E402
from portal.redaction import number_fingerprint  # noqa: E402
from portal.services import api_key_create, tenant_create  # noqa: E402

TENANT = "bench"
# (code, default basis, method of its events, events per (number, purpose) cycle)
PURPOSES = [
    ("marketing", LawfulBasis.CONSENT, "ivr_keypress", (1, 2, 3)),
    ("training", LawfulBasis.CONSENT, "web_form", (2, 1, 3)),
    ("service_delivery", LawfulBasis.CONTRACT, "contract_clause", (1,)),
    ("complaint_handling", LawfulBasis.LEGAL_OBLIGATION, "legal_obligation_notice", (1,)),
    ("quality_assurance", LawfulBasis.LEGITIMATE_INTERESTS, None, ()),  # no events: default
]
NUMBERS_PER_CHUNK = 2_000


def number_for(i: int) -> str:
    return f"+4930{i:08d}"


def database_label() -> str:
    settings = connection.settings_dict
    return f"{connection.vendor} ({settings['NAME']})"


def refuse_unless_dedicated() -> None:
    if "bench" not in str(connection.settings_dict["NAME"]):
        sys.exit(
            "Use a dedicated benchmark database whose name contains 'bench' (DATABASE_URL): "
            "this script deletes and reloads the bench tenant's ledger."
        )


def setup_tenant():
    tenant = Tenant.objects.filter(slug=TENANT).first() or tenant_create(
        slug=TENANT, name="Benchmark", country="DE"
    )
    purposes = {}
    for code, basis, _method, _cycle in PURPOSES:
        purposes[code], _ = Purpose.objects.get_or_create(
            tenant=tenant,
            code=code,
            defaults={"description": f"Benchmark purpose {code}", "default_lawful_basis": basis},
        )
    notice, _ = PrivacyNotice.objects.get_or_create(
        tenant=tenant,
        version="1.0",
        defaults={
            "url": "https://bench.example/privacy/1.0",
            "effective_from": timezone.now() - timedelta(days=3650),
        },
    )
    return tenant, purposes, notice


def wipe(tenant) -> None:
    """Remove the bench tenant's ledger with plain SQL (the ORM refuses: the ledger is
    append-only; this is the benchmark's own synthetic data in its own database)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for table in (
            ConsentState._meta.db_table,
            ConsentEvent._meta.db_table,
            ProcessingRestriction._meta.db_table,
            Suppression._meta.db_table,
        ):
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])


def load(tenant, purposes, notice, total: int) -> int:
    """Insert ``total`` events and the state of every (number, purpose); return the numbers."""
    start = timezone.now() - timedelta(days=900)
    written = 0
    numbers = 0
    t0 = time.perf_counter()
    while written < total:
        events: list[ConsentEvent] = []
        last_of_pair: list[int] = []  # index in ``events`` of each pair's latest event
        restrictions = []
        for i in range(numbers, numbers + NUMBERS_PER_CHUNK):
            if written + len(events) >= total:
                break
            number = number_for(i)
            numbers += 1
            for code, basis, method, cycle in PURPOSES:
                # Alternating givings and withdrawals, a month apart (contract and legal
                # obligation: one record each).
                for k in range(cycle[i % len(cycle)] if cycle else 0):
                    events.append(
                        ConsentEvent(
                            tenant=tenant,
                            number=number,
                            purpose=purposes[code],
                            lawful_basis=basis,
                            action="given" if k % 2 == 0 else "withdrawn",
                            method=method,
                            notice=notice,
                            occurred_at=start + timedelta(days=(i % 600) + 30 * k, minutes=k),
                            source="api",
                        )
                    )
                if cycle:
                    last_of_pair.append(len(events) - 1)
            if i % 97 == 0:
                restrictions.append(
                    ProcessingRestriction(tenant=tenant, number=number, kind="objection")
                )
            if i % 251 == 0:
                restrictions.append(
                    ProcessingRestriction(tenant=tenant, number=number, kind="restriction")
                )
        with transaction.atomic():
            created = ConsentEvent.objects.bulk_create(events, batch_size=5_000)
            ConsentState.objects.bulk_create(
                (
                    ConsentState(
                        tenant=tenant,
                        number=e.number,
                        purpose=e.purpose,
                        purpose_code=e.purpose.code,
                        allowed=e.action == "given",
                        lawful_basis=e.lawful_basis,
                        since=e.occurred_at,
                        event_id=e.pk,
                    )
                    for e in (created[index] for index in last_of_pair)
                ),
                batch_size=5_000,
            )
            ProcessingRestriction.objects.bulk_create(restrictions)
        written += len(created)
        rate = written / (time.perf_counter() - t0)
        print(f"\r  loaded {written:>9,} events ({rate:,.0f}/s)", end="", flush=True)
    print()
    return numbers


def load_suppressions(tenant, numbers: int) -> int:
    """Suppression records as erasures leave them (by tombstone): an objection for one number
    in 89 and a withdrawal of marketing for one in 53, among numbers the ledger still has and
    numbers it never saw (erased), so that the check's suppression lookups find rows."""
    if Suppression.objects.filter(tenant=tenant).exists():
        return Suppression.objects.filter(tenant=tenant).count()
    since = timezone.now() - timedelta(days=30)
    rows = []
    for i in range(0, numbers + numbers // 10):
        fingerprint = number_fingerprint(number_for(i))
        common = {"tenant": tenant, "fingerprint": fingerprint, "since": since, "request_ref": i}
        if i % 89 == 0:
            rows.append(Suppression(kind="objection", **common))
        if i % 53 == 0:
            rows.append(Suppression(kind="withdrawal", purpose_code="marketing", **common))
    Suppression.objects.bulk_create(rows, batch_size=5_000)
    return len(rows)


def analyze() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def samples(numbers: int, count: int, seed: int = 7) -> list[tuple[str, str]]:
    """Random (number, purpose) questions; one in ten for a number the ledger never saw."""
    rng = random.Random(seed)
    codes = [code for code, *_ in PURPOSES]
    out = []
    for _ in range(count):
        i = rng.randrange(numbers) if rng.random() > 0.1 else numbers + rng.randrange(10**6)
        out.append((number_for(i), rng.choice(codes)))
    return out


def summary(timings: list[float]) -> dict:
    ms = sorted(t * 1000 for t in timings)
    return {
        "median": statistics.median(ms),
        "p99": statistics.quantiles(ms, n=100, method="inclusive")[98],
        "mean": statistics.fmean(ms),
        "max": ms[-1],
        "n": len(ms),
    }


def measure_in_process(tenant, questions) -> dict:
    for number, code in questions[:200]:  # warm up connection, caches, plan
        consent_check(tenant, number, code)
    with CaptureQueriesContext(connection) as queries:
        consent_check(tenant, *questions[0])
    assert len(queries) == 1, queries.captured_queries
    timings = []
    for number, code in questions:
        t0 = time.perf_counter()
        consent_check(tenant, number, code)
        timings.append(time.perf_counter() - t0)
    return summary(timings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure_http(tenant, questions) -> dict:
    import requests

    key = api_key_create(tenant=tenant, name="benchmark").key
    port = free_port()
    env = {**os.environ, "DEBUG": "0", "API_THROTTLE_RATE": "100000000/min"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start")
        session = requests.Session()
        session.headers["Authorization"] = f"Api-Key {key}"
        url = f"{base}/api/v1/consent/check/"
        for number, code in questions[:200]:
            response = session.get(url, params={"number": number, "purpose": code})
            assert response.status_code == 200, response.text
        timings = []
        for number, code in questions:
            t0 = time.perf_counter()
            response = session.get(url, params={"number": number, "purpose": code})
            timings.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.text
        return summary(timings)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="ledger size to load")
    parser.add_argument("--samples", type=int, default=5_000, help="checks timed per mode")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP measurement")
    parser.add_argument("--reload", action="store_true", help="reload even if the size matches")
    args = parser.parse_args()

    refuse_unless_dedicated()
    call_command("migrate", verbosity=0)
    tenant, purposes, notice = setup_tenant()
    existing = ConsentEvent.objects.filter(tenant=tenant).count()
    if args.reload or existing != args.events:
        print(f"Loading {args.events:,} consent events into {database_label()} …")
        wipe(tenant)
        t0 = time.perf_counter()
        numbers = load(tenant, purposes, notice, args.events)
        print(f"  load took {time.perf_counter() - t0:,.0f} s")
        analyze()
    else:
        numbers = ConsentState.objects.filter(tenant=tenant).values("number").distinct().count()
        print(f"Reusing the {existing:,} events already loaded in {database_label()}.")
    suppressions = load_suppressions(tenant, numbers)
    analyze()
    events = ConsentEvent.objects.filter(tenant=tenant).count()
    states = ConsentState.objects.filter(tenant=tenant).count()
    print(
        f"Ledger: {events:,} events, {states:,} current states, {numbers:,} numbers, "
        f"{suppressions:,} suppression records."
    )

    questions = samples(numbers, args.samples)
    if connection.vendor == "postgresql":
        number, code = questions[0]
        plan = consent_check_queryset(
            tenant_id=tenant.pk, number=number, purpose_code=code
        ).explain(analyze=True)
        print("\nPlan of one check (EXPLAIN ANALYZE):\n" + plan + "\n")
    results = {"in-process (selector)": measure_in_process(tenant, questions)}
    if not args.no_http:
        results["HTTP (gunicorn, 1 sync worker, loopback)"] = measure_http(tenant, questions)

    command = "DATABASE_URL=… .venv/bin/python bench/consent_check.py --events " + str(args.events)
    print(f"\n| {database_label()}, {events:,} events | median | p99 | mean | max | calls |")
    print("|---|---|---|---|---|---|")
    for label, r in results.items():
        print(
            f"| {label} | {r['median']:.2f} ms | {r['p99']:.2f} ms | {r['mean']:.2f} ms "
            f"| {r['max']:.2f} ms | {r['n']:,} |"
        )
    print(f"\nCommand: {command}")


if __name__ == "__main__":
    main()
