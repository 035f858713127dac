"""Retention sweep benchmark: calls per second deleted by ``retention_sweep``.

Each call past its maximum has a history row, a recording (a file key to remove) and a
transcript, as real calls do. Runs against a throwaway test database (created and dropped
here), on SQLite or, with DATABASE_URL, on PostgreSQL:

    .venv/bin/python bench/retention.py --calls 3000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench .venv/bin/python \
        bench/retention.py --calls 3000

``PORTAL_ROOT`` runs it against another checkout (e.g. the version before a change), to
compare. Figures go to docs/benchmarks.md with the command that produced them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, os.environ.get("PORTAL_ROOT") or str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3_000, help="calls for the sweep to delete")
    args = parser.parse_args()
    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


def run(args) -> None:
    from simple_history.utils import bulk_create_with_history

    from calls.models import Call, Recording, Transcript
    from calls.services import retention_rule_create, retention_sweep
    from portal.services import tenant_create

    print(f"database: {connection.vendor}")
    tenant = tenant_create(slug="bench", name="Bench", country="DE")
    retention_rule_create(tenant=tenant, category="sales", max_age_days=90)
    old = timezone.now() - timedelta(days=200)
    calls = bulk_create_with_history(
        [
            Call(
                tenant=tenant,
                external_id=f"old-{n}",
                direction="inbound",
                caller=f"+4930{5000000 + n}",
                callee="+49301234560",
                started_at=old,
                category="sales",
            )
            for n in range(args.calls)
        ],
        Call,
        batch_size=500,
    )
    calls = list(Call.objects.filter(tenant=tenant).order_by("pk"))
    bulk_create_with_history(
        [
            Recording(
                tenant=tenant,
                call=call,
                file=f"tenants/{tenant.pk}/recordings/bench-{call.pk}",
                content_type="audio/mpeg",
                size_bytes=1000,
                sha256="0" * 64,
            )
            for call in calls
        ],
        Recording,
        batch_size=500,
    )
    bulk_create_with_history(
        [
            Transcript(tenant=tenant, call=call, language="de-DE", text=f"Hallo {call.caller}")
            for call in calls
        ],
        Transcript,
        batch_size=500,
    )
    start = time.perf_counter()
    report = retention_sweep()
    elapsed = time.perf_counter() - start
    print(
        f"sweep deleted {report.deleted_total} calls (with recording and transcript) in "
        f"{elapsed:.1f} s ({report.deleted_total / elapsed:.0f} calls/s); "
        f"second run deleted {retention_sweep().deleted_total}"
    )


if __name__ == "__main__":
    main()
