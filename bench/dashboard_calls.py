"""Time the dashboard's calls pages on a tenant with 100,000 calls.

    .venv/bin/python bench/dashboard_calls.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        .venv/bin/python bench/dashboard_calls.py --calls 100000 --repeat 11

Creates a throwaway test database (dropped at the end), one tenant with ``--calls`` calls over
a year (about 1% flagged by the purpose gate, 0.1% restricted), two purposes per call, 500
recordings and transcripts, a retention rule per category and 30 logged consultations of the
call that is opened. Then requests each page ``--repeat`` times as the tenant's admin through
Django's test client and prints the median time (whole request, template rendering included)
and the number of SQL statements. Rows are written with ``bulk_create``: benchmark data needs
no audit history.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

BATCH = 5000


def _queries_and_ms(client: Client, url: str, repeat: int) -> tuple[float, int, int]:
    """(median ms, SQL statements of one request, status)."""
    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    client.get(url)  # warm up
    with connection.execute_wrapper(counter):
        response = client.get(url)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), count, response.status_code


def build(n_calls: int):
    from django.contrib.auth import get_user_model

    from calls import services
    from calls.models import Call, Recording, RecordingAccess, Transcript
    from calls.seed import sine_wav
    from consent.models import LawfulBasis, Purpose
    from portal.services import membership_set, tenant_create

    tenant = tenant_create(slug="bench-calls", name="Bench Calls", country="DE")
    admin = get_user_model().objects.create_user("bench-admin", password="x")
    membership_set(user=admin, tenant=tenant, role="admin")
    purposes = [
        Purpose.objects.create(
            tenant=tenant, code=code, description=code, default_lawful_basis=basis
        )
        for code, basis in [
            ("service_delivery", LawfulBasis.CONTRACT),
            ("quality_assurance", LawfulBasis.LEGITIMATE_INTERESTS),
            ("marketing", LawfulBasis.CONSENT),
        ]
    ]
    for category, max_age, min_age in [("support", 365, None), ("complaint", 2190, 1825)]:
        services.retention_rule_create(
            tenant=tenant,
            category=category,
            max_age_days=max_age,
            min_age_days=min_age,
            legal_reference="§ 195 BGB" if min_age else "",
        )
    rng = random.Random(8)
    numbers = [f"+4930{rng.randint(1000000, 9999999)}" for _ in range(20_000)]
    now = timezone.now()
    categories = ["support"] * 6 + ["sales"] * 3 + ["complaint"]
    rows = []
    for n in range(n_calls):
        rows.append(
            Call(
                tenant=tenant,
                external_id=f"bench-{n}",
                direction="inbound" if n % 4 else "outbound",
                caller=numbers[n % len(numbers)],
                callee="+49301234560",
                started_at=now - timedelta(minutes=5 * n),
                ended_at=now - timedelta(minutes=5 * n - 3),
                duration_seconds=180,
                category=categories[n % len(categories)],
                gate_flags=["marketing"] if n % 100 == 7 else [],
                is_restricted=n % 1000 == 13,
            )
        )
        if len(rows) == BATCH:
            Call.objects.bulk_create(rows)
            rows = []
    Call.objects.bulk_create(rows)
    through = Call.purposes.through
    ids = list(Call.objects.for_tenant(tenant).values_list("pk", flat=True))
    links = []
    for i, call_id in enumerate(ids):
        links.append(through(call_id=call_id, purpose_id=purposes[0].pk))
        links.append(through(call_id=call_id, purpose_id=purposes[1 + i % 2].pk))
        if len(links) >= BATCH:
            through.objects.bulk_create(links)
            links = []
    through.objects.bulk_create(links)
    # Media for the newest 500 calls (one real file, the others point at the same bytes).
    opened = Call.objects.for_tenant(tenant).order_by("-started_at").first()
    wav = sine_wav(seconds=2)
    services.recording_attach(call=opened, file=io.BytesIO(wav), content_type="audio/wav")
    services.transcript_set(call=opened, language="de-DE", text="Guten Tag. " * 40)
    stored = Recording.objects.get(call=opened)
    newest = ids[1:500]
    Recording.objects.bulk_create(
        Recording(
            tenant=tenant,
            call_id=call_id,
            file=stored.file.name,
            content_type="audio/wav",
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
        )
        for call_id in newest
    )
    Transcript.objects.bulk_create(
        Transcript(tenant=tenant, call_id=call_id, language="de-DE", text="Guten Tag.")
        for call_id in newest
    )
    RecordingAccess.objects.bulk_create(
        RecordingAccess(
            tenant=tenant,
            call=opened,
            user=admin,
            what="recording",
            how="playback",
            purpose="Quality review",
            accessed_at=now - timedelta(hours=i),
        )
        for i in range(30)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    target = Call.objects.filter(tenant=tenant, external_id="bench-4242").get().caller
    return tenant, admin, opened, "0" + target[3:]  # the number as Germans write it


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    setup_test_environment()
    media = tempfile.TemporaryDirectory()
    storages = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": media.name},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with override_settings(STORAGES=storages, MEDIA_ROOT=media.name):
            run(args)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)
        media.cleanup()


def run(args) -> None:
    from urllib.parse import parse_qs, urlsplit

    start = time.perf_counter()
    tenant, admin, opened, national = build(args.calls)
    print(f"built {args.calls} calls in {time.perf_counter() - start:.0f} s")
    client = Client()
    client.force_login(admin)
    played = client.post(
        f"/dashboard/calls/{opened.pk}/", {"what": "recording", "purpose": "quality_review"}
    )
    token = parse_qs(urlsplit(played["Location"]).query)["recording"][0]
    week_ago = (timezone.localdate() - timedelta(days=7)).isoformat()
    pages = {
        "list, first page": "/dashboard/calls/",
        "list, page 20": "/dashboard/calls/?page=20",
        f"search by number ({national[:4]}…, national)": f"/dashboard/calls/?number={national}",
        "flagged by the purpose gate (1%)": "/dashboard/calls/?flagged=on",
        "restricted (0.1%)": "/dashboard/calls/?restricted=on",
        "purpose + category": "/dashboard/calls/?purpose=marketing&category=complaint",
        "last 7 days": f"/dashboard/calls/?started_after={week_ago}",
        "call page": f"/dashboard/calls/{opened.pk}/",
        "call page with the player": f"/dashboard/calls/{opened.pk}/?recording={token}",
        "recording stream (2 s WAV)": f"/dashboard/calls/{opened.pk}/recording/?access={token}",
        "retention rules": "/dashboard/calls/retention-rules/",
        "overview (all panels)": "/dashboard/",
    }
    print(f"{connection.vendor}, {args.calls} calls, {args.repeat} requests per page")
    print("| page | median ms | queries |")
    print("|---|---|---|")
    for name, url in pages.items():
        ms, queries, status = _queries_and_ms(client, url, args.repeat)
        assert status == 200, (url, status)
        print(f"| {name} | {ms:.1f} | {queries} |")


if __name__ == "__main__":
    main()
