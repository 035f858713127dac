"""Erasure benchmark: one subject with many calls, each with a recording, a transcript, a
consultation in the access log and history — erased by the erasure task, in-process.

Runs against a throwaway test database (created and dropped here), on SQLite or, with
DATABASE_URL, on PostgreSQL; recordings on the local filesystem (a temporary directory), or
with --s3 on a versioned bucket of moto's S3 server on loopback:

    .venv/bin/python bench/erasure.py --calls 1000 --noise 20000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/erasure.py

Prints the time of each phase and the cost per item; figures go to docs/benchmarks.md with the
command that produced them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

SUBJECT = "+4915112345678"
LINE = "+4930901820"
TIMES: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def timed(module, name: str, label: str) -> None:
    """Wrap ``module.name`` to add its time to TIMES[label]."""
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            TIMES[label] += time.perf_counter() - start
            CALLS[label] += 1

    setattr(module, name, wrapper)


def storage_settings(args, media: str) -> None:
    if not args.s3:
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": media},
            },
        }
        return
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket="bench")
    client.put_bucket_versioning(Bucket="bench", VersioningConfiguration={"Status": "Enabled"})
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "bench",
                "endpoint_url": endpoint,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "file_overwrite": False,
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000, help="the subject's calls")
    parser.add_argument("--noise", type=int, default=20000, help="other callers' calls")
    parser.add_argument("--s3", action="store_true", help="recordings on moto's S3 (versioned)")
    args = parser.parse_args()
    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with tempfile.TemporaryDirectory() as media:
            storage_settings(args, media)
            run(args)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


def populate(tenant, args) -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from simple_history.utils import bulk_create_with_history

    from calls.models import Call, Recording, RecordingAccess, Transcript, recording_key
    from calls.seed import sine_wav
    from consent.models import LawfulBasis, Purpose
    from consent.services import consent_give
    from tests.factories import PrivacyNoticeFactory

    now = timezone.now()
    audio = sine_wav(seconds=1)
    calls = [
        Call(
            tenant=tenant,
            external_id=f"s-{n}",
            direction="inbound",
            caller=SUBJECT,
            callee=LINE,
            started_at=now - timedelta(hours=n + 1),
            category="support",
        )
        for n in range(args.calls)
    ]
    calls = bulk_create_with_history(calls, Call, batch_size=500)
    calls = list(Call.objects.filter(tenant=tenant, caller=SUBJECT).order_by("pk"))
    recordings = []
    for call in calls:
        name = default_storage.save(recording_key(Recording(tenant=tenant), ""), ContentFile(audio))
        recordings.append(
            Recording(
                tenant=tenant,
                call=call,
                file=name,
                content_type="audio/wav",
                size_bytes=len(audio),
                sha256="0" * 64,
            )
        )
    bulk_create_with_history(recordings, Recording, batch_size=500)
    bulk_create_with_history(
        [
            Transcript(tenant=tenant, call=c, language="de-DE", text="Rufen Sie 0151 12345678 an.")
            for c in calls
        ],
        Transcript,
        batch_size=500,
    )
    bulk_create_with_history(
        [
            RecordingAccess(tenant=tenant, call=c, what="recording", how="playback", purpose="QA")
            for c in calls
        ],
        RecordingAccess,
        batch_size=500,
    )
    noise = [
        Call(
            tenant=tenant,
            external_id=f"n-{n}",
            direction="inbound",
            caller=f"+4930{7000000 + n}",
            callee=LINE,
            started_at=now - timedelta(minutes=n),
            category="support",
        )
        for n in range(args.noise)
    ]
    bulk_create_with_history(noise, Call, batch_size=2000)
    purpose = Purpose.objects.create(
        tenant=tenant,
        code="marketing",
        description="Offers",
        default_lawful_basis=LawfulBasis.CONSENT,
    )
    notice = PrivacyNoticeFactory(tenant=tenant, version="1.0")
    for _ in range(5):
        consent_give(
            tenant=tenant,
            number=SUBJECT,
            purpose=purpose,
            lawful_basis="consent",
            method="ivr_keypress",
            notice_version=notice.version,
            source="api",
        )


def run(args) -> None:
    from dsr import services
    from dsr.models import ErasureItem
    from dsr.services.erasure import execution
    from dsr.services.erasure import scan as scan_module
    from portal import services as portal_services
    from portal.access import DPO_GROUP
    from tests.factories import DataSubjectRequestFactory

    backend = "S3 (moto, versioned)" if args.s3 else "local files"
    print(f"database: {connection.vendor}; storage: {backend}")
    tenant = portal_services.tenant_create(slug="bench", name="Bench", country="DE")
    started = time.perf_counter()
    populate(tenant, args)
    print(
        f"data: {args.calls} calls of the subject (recording, transcript, access entry each), "
        f"{args.noise} other calls; made in {time.perf_counter() - started:.1f} s"
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    first = portal_services.staff_user_create(username="dpo1", group=DPO_GROUP, password="x")
    second = portal_services.staff_user_create(username="dpo2", group=DPO_GROUP, password="x")
    request = DataSubjectRequestFactory(tenant=tenant, kind="erasure", numbers=[SUBJECT])
    services.request_verify(request=request, by=first, method="callback")

    timed(execution, "item_process", "items (erase, history, per item)")
    timed(execution, "_finish_removals", "storage removals left for the end")
    timed(execution, "request_scan", "residual scans (database + storage)")
    timed(execution, "discover", "discovery")
    # Without a broker the erasure task runs in-process as soon as the approval commits.
    start = time.perf_counter()
    services.request_approve(request=request, by=second)
    total = time.perf_counter() - start
    request.refresh_from_db()
    status = request.status
    count = ErasureItem.objects.filter(request=request).count()
    print(
        f"erasure: {status} — {count} items in {total:.1f} s ({total / count * 1000:.1f} ms/item)"
    )
    for label, seconds in TIMES.items():
        print(f"  {label}: {seconds:.2f} s over {CALLS[label]} call(s)")
    request.refresh_from_db()
    start = time.perf_counter()
    result = scan_module.request_scan(request, [SUBJECT], own_rows=False, fingerprints=True)
    print(
        f"verify afterwards (full residual scan + fingerprint check): "
        f"{time.perf_counter() - start:.2f} s, clean={result.clean}, {result.tables} tables, "
        f"{result.storage_objects} stored objects"
    )


if __name__ == "__main__":
    main()
