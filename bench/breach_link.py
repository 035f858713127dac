"""How long linking a breach to many calls takes (the scope "tenant + time window").

    .venv/bin/python bench/breach_link.py [CALLS]            # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench .venv/bin/python \
        bench/breach_link.py [CALLS]                          # PostgreSQL

Builds a throwaway test database, CALLS calls of one tenant (half with a recording and a
transcript, a distinct caller per 3 calls), then times: linking them all by tenant and window
(with their history rows), recomputing the per-tenant counts, linking again (nothing new),
and the notice to the tenant.
"""

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402


def timed(label, fn):
    start = time.perf_counter()
    result = fn()
    print(f"  {label:<44} {time.perf_counter() - start:8.2f} s")
    return result


def main(count: int) -> None:
    from breaches import services
    from breaches.models import BreachTenantImpact
    from calls.models import Call, Transcript
    from portal.models import Tenant

    tenant = Tenant.objects.create(slug="bench", name="Bench", privacy_contact_email="p@b.example")
    start = timezone.now() - timedelta(days=30)
    calls = [
        Call(
            tenant=tenant,
            external_id=f"bench-{i}",
            direction="inbound",
            caller=f"+4915{i // 3:09d}",
            callee="+4930123456",
            started_at=start + timedelta(seconds=i),
        )
        for i in range(count)
    ]
    Call.objects.bulk_create(calls, batch_size=5000)
    Transcript.objects.bulk_create(
        [Transcript(tenant=tenant, call=c, language="de", text="x") for c in calls[::2]],
        batch_size=5000,
    )
    incident = services.incident_open(
        title="Bench",
        description="Bench",
        became_aware_at=timezone.now(),
        data_categories=["transcripts"],
        dpo_contact="dpo@example",
    )
    print(f"{connection.vendor}, {count} calls:")
    window = {"tenant": tenant, "started_from": start, "started_to": timezone.now()}
    linked = timed(
        "link by tenant + window (with history)",
        lambda: services.incident_link_calls(incident=incident, **window),
    )
    assert linked == count
    timed("recompute per-tenant counts", lambda: services.impacts_recompute(incident=incident))
    again = timed(
        "link the same window again (nothing new)",
        lambda: services.incident_link_calls(incident=incident, **window),
    )
    assert again == 0
    timed("notify the tenant", lambda: services.incident_notify_tenants(incident=incident))
    impact = BreachTenantImpact.objects.get()
    print(
        f"  counts: calls={impact.calls} transcripts={impact.transcripts} "
        f"subjects={impact.subjects}"
    )


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    old = setup_databases(verbosity=0, interactive=False)
    try:
        main(n)
    finally:
        teardown_databases(old, verbosity=0)
