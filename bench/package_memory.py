"""Peak memory while building an access package: it must not grow with the package.

Creates a throw-away portal (SQLite and files in a temporary folder, or S3 on a moto server in
another process), gives one subject recordings totalling ``--megabytes`` (random bytes, so
nothing compresses), then builds the package in this process while a thread samples the resident
set size (VmRSS) every few milliseconds. Reports the RSS just before the build (baseline), the
peak during it, and the difference, which must stay under 100 MB for 200 MB of recordings.

    .venv/bin/python bench/package_memory.py --megabytes 200
    .venv/bin/python bench/package_memory.py --megabytes 200 --storage s3

Linux only (reads /proc/self/status).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MB = 1024 * 1024


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class PeakSampler(threading.Thread):
    def __init__(self, interval: float = 0.002):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            self.peak = max(self.peak, rss_bytes())
            self.samples += 1
            time.sleep(self.interval)

    def stop(self):
        self._done.set()
        self.join()
        self.peak = max(self.peak, rss_bytes())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configure(workdir: Path, storage: str):
    os.environ.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="1",
        SECRET_KEY="bench-secret-key-0123456789-0123456789-0123456789-abc",
        DATA_DIR=str(workdir),
        LOG_LEVEL="WARNING",
    )
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    server = None
    if storage == "s3":
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        import boto3

        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        ).create_bucket(Bucket="bench")
        os.environ.update(
            STORAGE_BACKEND="s3",
            STORAGE_S3_BUCKET="bench",
            STORAGE_S3_ENDPOINT_URL=endpoint,
            STORAGE_S3_ACCESS_KEY_ID="bench",
            STORAGE_S3_SECRET_ACCESS_KEY="bench",
            STORAGE_S3_REGION="us-east-1",
        )
    import django

    django.setup()
    return server


def random_chunks(size: int, chunk: int = MB):
    left = size
    while left > 0:
        block = os.urandom(min(chunk, left))
        left -= len(block)
        yield block


def make_subject(total: int, per_recording: int):
    """A tenant and a subject with recordings of ``total`` bytes, written without buffering."""
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from calls.models import Call, Recording
    from dsr.services.streaming import Digest, write_stream
    from portal.services import tenant_create

    tenant = tenant_create(slug="bench", name="Bench", country="DE", supervisory_authority="DPA")
    count = max(1, total // per_recording)
    for index in range(count):
        size = per_recording if index < count - 1 else total - per_recording * (count - 1)
        call = Call.objects.create(
            tenant=tenant,
            external_id=f"bench-{index}",
            direction="inbound",
            caller="+4915112345678",
            callee="+4930901820",
            started_at=timezone.now(),
        )
        digest = Digest()
        name = write_stream(
            default_storage,
            f"tenants/{tenant.pk}/recordings/bench-{index}",
            digest.wrap(random_chunks(size)),
        )
        Recording.objects.create(
            tenant=tenant,
            call=call,
            file=name,
            content_type="audio/mpeg",
            size_bytes=digest.size,
            sha256=digest.hexdigest,
        )
    return tenant, count


def verify_package(package, expected_recordings: int) -> None:
    """Read the stored ZIP back (in chunks) and check every file against the manifest."""
    import json
    import zipfile

    with package.file.storage.open(package.file.name, "rb") as handle:
        archive = zipfile.ZipFile(handle)
        manifest = json.loads(archive.read("manifest.json"))
        for entry in manifest["files"]:
            digest = hashlib.sha256()
            with archive.open(entry["path"]) as member:
                for block in iter(lambda m=member: m.read(MB), b""):
                    digest.update(block)
            assert digest.hexdigest() == entry["sha256"], entry["path"]
        recordings = [e for e in manifest["files"] if e["path"].startswith("recordings/")]
        assert len(recordings) == expected_recordings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=200, help="recordings in total")
    parser.add_argument("--recording-megabytes", type=int, default=10, help="size of each")
    parser.add_argument("--storage", choices=["local", "s3"], default="local")
    parser.add_argument("--limit-megabytes", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="package-bench-") as tmp:
        server = configure(Path(tmp), args.storage)
        try:
            return run(args)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)


def run(args) -> int:
    from unittest import mock

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from dsr import services
    from dsr.services import packages
    from portal.audit import acting_as_system

    call_command("migrate", verbosity=0)
    with acting_as_system("bench"):
        tenant, count = make_subject(args.megabytes * MB, args.recording_megabytes * MB)
        dpo = get_user_model().objects.create_superuser("bench-dpo", "dpo@bench.example", "x")
        request = services.request_open(
            tenant=tenant, kind="access", numbers=["+4915112345678"], channel="admin", by=dpo
        )
        services.request_verify(request=request, by=dpo, method="callback")
        with mock.patch("dsr.services._fulfil"):  # build below, under measurement
            services.request_approve(request=request, by=dpo)
        gc.collect()
        baseline = rss_bytes()
        sampler = PeakSampler()
        sampler.start()
        started = time.perf_counter()
        package = packages.package_build(request_id=request.pk, build_token="bench")
        elapsed = time.perf_counter() - started
        sampler.stop()
    verify_package(package, count)
    delta = sampler.peak - baseline
    print(f"storage:            {args.storage}")
    print(f"recordings:         {count} × {args.recording_megabytes} MB = {args.megabytes} MB")
    print(f"package:            {package.size_bytes / MB:.1f} MB, sha256 {package.sha256[:16]}…")
    print(f"build time:         {elapsed:.1f} s ({package.size_bytes / MB / elapsed:.0f} MB/s)")
    print(f"RSS baseline:       {baseline / MB:.1f} MB")
    print(f"RSS peak (build):   {sampler.peak / MB:.1f} MB ({sampler.samples} samples)")
    print(f"peak above base:    {delta / MB:.1f} MB (limit {args.limit_megabytes} MB)")
    ok = delta < args.limit_megabytes * MB
    print("result:             " + ("OK" if ok else "TOO MUCH MEMORY"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
