"""Load synthetic data at scale into one tenant, for benchmarks and for trying the portal big.

    python manage.py load_bench_data bench --calls 100000 --consent-events 1000000 \\
        --requests 1000 --recordings 200

Rows are written with ``bulk_create`` in chunks: benchmark data needs no audit trail, so these
rows have no history (everything else in the portal writes history). Calls carry the tenant's
standard purposes; the consent ledger alternates givings and withdrawals and its current-state
table is built alongside, so the consent check answers for every loaded number; requests are
opened through the service (deadline, numbers, timeline), recordings written as small WAV files
to the configured storage. Running it again with the same ``--seed`` adds nothing twice.
"""

from __future__ import annotations

import hashlib
import io
import random
import time
import wave
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from calls.models import Call, Recording
from consent.models import ConsentEvent, ConsentState, PrivacyNotice, Purpose
from portal.audit import acting_as_system
from portal.models import Tenant
from portal.services import tenant_create

PURPOSES = [
    # code, default basis, method of the recorded events (None: no per-subject events)
    ("service_delivery", "contract", None),
    ("quality_assurance", "legitimate_interests", None),
    ("complaint_handling", "legal_obligation", None),
    ("marketing", "consent", "ivr_keypress"),
    ("training", "consent", "web_form"),
]
CATEGORIES = ["support", "sales", "complaint"]
CHUNK = 5_000


def subject_number(country_code: str, index: int) -> str:
    # Mobile-style numbers from a fixed prefix: valid E.164, one per synthetic subject.
    prefix = {"DE": "+49151", "IE": "+35385", "FR": "+336"}.get(country_code, "+49151")
    return f"{prefix}{index:08d}"


def tiny_wav(seconds: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 8000 * seconds)
    return buffer.getvalue()


class Command(BaseCommand):
    help = "Load synthetic calls, consent events, requests and recordings at scale into a tenant."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="Tenant slug (created, country DE, if missing)")
        parser.add_argument("--calls", type=int, default=0)
        parser.add_argument("--consent-events", type=int, default=0)
        parser.add_argument("--requests", type=int, default=0)
        parser.add_argument(
            "--recordings",
            type=int,
            default=0,
            help="How many of the loaded calls get a (small) recording file",
        )
        parser.add_argument(
            "--subjects",
            type=int,
            default=0,
            help="Distinct caller numbers (default: a fifth of the calls)",
        )
        parser.add_argument("--seed", type=int, default=1)

    def handle(
        self, *args, tenant, calls, consent_events, requests, recordings, subjects, seed, **options
    ):
        for name, value in [
            ("--calls", calls),
            ("--consent-events", consent_events),
            ("--requests", requests),
            ("--recordings", recordings),
        ]:
            if value < 0:
                raise CommandError(f"{name} must not be negative.")
        if recordings > calls:
            raise CommandError("--recordings cannot exceed --calls.")
        with acting_as_system("command:load_bench_data"):
            found = Tenant.objects.filter(slug=tenant).first() or tenant_create(
                slug=tenant, name=f"Benchmark {tenant}", country="DE"
            )
            purposes, notice = self._purposes_and_notice(found)
            subjects = subjects or max(1, calls // 5, consent_events // 8, requests)
            rng = random.Random(seed)
            started = time.perf_counter()
            loaded_calls = self._calls(found, purposes, calls, subjects, seed, rng)
            loaded_events = self._consent(found, purposes, notice, consent_events, seed)
            loaded_recordings = self._recordings(found, recordings, seed)
            loaded_requests = self._requests(found, requests, subjects)
        self.stdout.write(
            f"{found.slug}: {loaded_calls:,} calls, {loaded_recordings:,} recordings, "
            f"{loaded_events:,} consent events, {loaded_requests:,} requests loaded in "
            f"{time.perf_counter() - started:.1f} s (bulk rows carry no history)."
        )

    def _purposes_and_notice(self, tenant):
        purposes = {}
        for code, basis, _method in PURPOSES:
            purposes[code], _ = Purpose.objects.get_or_create(
                tenant=tenant,
                code=code,
                defaults={
                    "description": f"Synthetic purpose {code}.",
                    "default_lawful_basis": basis,
                },
            )
        notice, _ = PrivacyNotice.objects.get_or_create(
            tenant=tenant,
            version="bench-1",
            defaults={
                "url": "https://bench.example/privacy",
                "effective_from": timezone.now() - timedelta(days=3650),
            },
        )
        return purposes, notice

    def _calls(self, tenant, purposes, total, subjects, seed, rng) -> int:
        if not total:
            return 0
        now = timezone.now()
        line = "+4930900000"
        through = Call.purposes.through
        purpose_list = list(purposes.values())
        loaded = 0
        for start in range(0, total, CHUNK):
            rows = []
            for i in range(start, min(total, start + CHUNK)):
                started_at = now - timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
                inbound = rng.random() < 0.8
                number = subject_number(tenant.country, rng.randrange(subjects))
                rows.append(
                    Call(
                        tenant=tenant,
                        external_id=f"bench-{seed}-{i}",
                        direction="inbound" if inbound else "outbound",
                        caller=number if inbound else line,
                        callee=line if inbound else number,
                        started_at=started_at,
                        ended_at=started_at + timedelta(seconds=180),
                        duration_seconds=180,
                        category=rng.choice(CATEGORIES),
                    )
                )
            with transaction.atomic():
                created = Call.objects.bulk_create(rows, ignore_conflicts=True)
                ids = dict(
                    Call.objects.for_tenant(tenant)
                    .filter(external_id__in=[row.external_id for row in created])
                    .values_list("external_id", "id")
                )
                links = [
                    through(call_id=ids[row.external_id], purpose_id=purpose.pk)
                    for index, row in enumerate(created)
                    for purpose in purpose_list[: 1 + index % 3]
                ]
                through.objects.bulk_create(links, ignore_conflicts=True)
            loaded += len(rows)
        return loaded

    def _consent(self, tenant, purposes, notice, total, seed) -> int:
        """Alternating givings and withdrawals per (number, consent purpose), a month apart;
        the current state is the last event of each pair."""
        if not total:
            return 0
        if (
            ConsentEvent.objects.for_tenant(tenant)
            .filter(source="api", evidence_document=f"bench-{seed}")
            .exists()
        ):
            return 0  # this seed's ledger is loaded already (the ledger is append-only)
        consent_purposes = [(purposes[code], method) for code, _b, method in PURPOSES if method]
        origin = timezone.now() - timedelta(days=900)
        written, index = 0, 0
        while written < total:
            events, last_of_pair = [], []
            while len(events) < CHUNK and written + len(events) < total:
                number = subject_number(tenant.country, index)
                for purpose, method in consent_purposes:
                    count = 1 + index % 3
                    for k in range(count):
                        if written + len(events) >= total:
                            break
                        events.append(
                            ConsentEvent(
                                tenant=tenant,
                                number=number,
                                purpose=purpose,
                                lawful_basis="consent",
                                action="given" if k % 2 == 0 else "withdrawn",
                                method=method,
                                notice=notice,
                                source="api",
                                evidence_document=f"bench-{seed}",
                                occurred_at=origin + timedelta(days=index % 600 + 30 * k),
                            )
                        )
                    last_of_pair.append(len(events) - 1)
                index += 1
            with transaction.atomic():
                created = ConsentEvent.objects.bulk_create(events)
                states = {}
                for position in last_of_pair:
                    event = created[position]
                    states[(event.number, event.purpose_id)] = event
                ConsentState.objects.bulk_create(
                    [
                        ConsentState(
                            tenant=tenant,
                            number=event.number,
                            purpose=event.purpose,
                            purpose_code=event.purpose.code,
                            allowed=event.action == "given",
                            lawful_basis=event.lawful_basis,
                            since=event.occurred_at,
                            event_id=event.pk,
                        )
                        for event in states.values()
                    ],
                    update_conflicts=True,
                    unique_fields=["tenant", "number", "purpose_code"],
                    update_fields=["allowed", "lawful_basis", "since", "event", "purpose"],
                )
            written += len(created)
        return written

    def _recordings(self, tenant, total, seed) -> int:
        if not total:
            return 0
        audio = tiny_wav()
        digest = hashlib.sha256(audio).hexdigest()
        seeded = Call.objects.for_tenant(tenant).filter(external_id__startswith=f"bench-{seed}-")
        missing = total - seeded.filter(recording__isnull=False).count()
        calls = seeded.filter(recording__isnull=True).order_by("id")[: max(0, missing)]
        loaded = 0
        for call in calls:
            recording = Recording(
                tenant=tenant,
                call=call,
                content_type="audio/wav",
                size_bytes=len(audio),
                duration_seconds=1,
                sha256=digest,
            )
            recording.file.save("recording.wav", ContentFile(audio), save=False)
            recording.save()
            loaded += 1
        return loaded

    def _requests(self, tenant, total, subjects) -> int:
        from dsr.models import DataSubjectRequest
        from dsr.services import request_open

        if not total:
            return 0
        existing = (
            DataSubjectRequest.objects.for_tenant(tenant)
            .filter(details__startswith="[bench]")
            .count()
        )
        kinds = ["access", "erasure", "rectification", "restriction", "portability", "objection"]
        now = timezone.now()
        for i in range(existing, total):
            request_open(
                tenant=tenant,
                kind=kinds[i % len(kinds)],
                numbers=[subject_number(tenant.country, i % subjects)],
                channel="api",
                details=f"[bench] synthetic request {i}",
                received_at=now - timedelta(days=i % 45, hours=i % 24),
            )
        return max(0, total - existing)
