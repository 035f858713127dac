"""Demo calls for ``manage.py seed_demo`` (idempotent): a few hundred calls per demo tenant,
short generated WAV recordings for some, transcripts, a few logged consultations, the purposes
the calls are processed for and the tenants' retention rules."""

from __future__ import annotations

import io
import math
import random
import wave
from array import array
from datetime import timedelta

import phonenumbers
from django.contrib.auth import get_user_model
from django.utils import timezone

from calls.models import Call, Recording, RecordingAccess, RetentionRule, Transcript, recording_key
from calls.services import recording_access_log, retention_rule_create
from calls.services.storage import save_hashed
from consent.models import LawfulBasis, Purpose
from consent.selectors import purpose_gate_violations
from portal.models import Tenant
from portal.numbers import normalize_number

CALLS_PER_TENANT = 300
RECORDINGS_PER_TENANT = 50
TRANSCRIPTS_PER_TENANT = 100

# The consent work seeds the same codes: one purpose per code and tenant.
DEMO_PURPOSES = {
    "service_delivery": (LawfulBasis.CONTRACT, "Handling your order, contract or service call."),
    "quality_assurance": (
        LawfulBasis.LEGITIMATE_INTERESTS,
        "Reviewing calls to keep the quality of our service.",
    ),
    "complaint_handling": (
        LawfulBasis.LEGAL_OBLIGATION,
        "Recording and handling complaints as the law requires.",
    ),
    "marketing": (LawfulBasis.CONSENT, "Offers about our products, if you agree."),
    "training": (LawfulBasis.CONSENT, "Training new staff with real calls, if you agree."),
}

RETENTION_RULES = {
    "complaint": {
        "min_age_days": 5 * 365,
        "max_age_days": 6 * 365,
        # A limitation period: kept for legal claims (e), not by a duty to keep (b).
        "legal_ground": "art_17_3_e",
        "legal_reference": "Statute of limitations for claims arising from complaints "
        "(e.g. § 195, § 199 BGB; Statute of Limitations Act 1957 s. 11 in Ireland).",
    },
    "sales": {"max_age_days": 90, "legal_reference": ""},
    "support": {"max_age_days": 365, "legal_reference": ""},
}

# Per category: the purposes a call is processed for, and how far back calls go (days).
CATEGORIES = [
    ("support", ["service_delivery", "quality_assurance"], 360, 0.45),
    ("sales", ["service_delivery", "marketing"], 100, 0.25),
    ("complaint", ["complaint_handling", "quality_assurance"], 6 * 365 + 60, 0.15),
    ("", ["service_delivery"], 500, 0.15),
]

TENANT_NUMBERS = {
    # slug: (company line, subject number patterns, transcript language, lines)
    "acme": (
        "+49 30 1234560",
        ["030 {d7}", "0151 {d8}", "+49 40 {d7}", "0176 {d8}"],
        "de-DE",
        [
            "Guten Tag, Sie sprechen mit Acme Telecom, mein Name ist Jana.",
            "Ich habe eine Frage zu meiner letzten Rechnung.",
            "Können Sie mich unter {number} zurückrufen?",
            "Gerne, ich habe das notiert. Vielen Dank für Ihren Anruf.",
        ],
    ),
    "globex": (
        "+353 1 6123450",
        ["01 {d7}", "087 {d7}", "+353 21 {d7}", "085 {d7}"],
        "en-IE",
        [
            "Hello, you're through to Globex Support, this is Aoife.",
            "My router keeps dropping the connection every evening.",
            "Could you ring me back on {number} after six?",
            "Of course, I've logged that for you. Thanks for calling.",
        ],
    ),
}


def sine_wav(seconds: float = 1.0, frequency: float = 440.0, rate: int = 8000) -> bytes:
    """A short mono 16-bit WAV of a sine tone, made in memory."""
    frames = array(
        "h",
        (
            int(12000 * math.sin(2 * math.pi * frequency * i / rate))
            for i in range(int(seconds * rate))
        ),
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(frames.tobytes())
    return buffer.getvalue()


def _purposes(tenant: Tenant) -> dict[str, Purpose]:
    purposes = {}
    for code, (basis, description) in DEMO_PURPOSES.items():
        purposes[code], _ = Purpose.objects.get_or_create(
            tenant=tenant,
            code=code,
            defaults={"default_lawful_basis": basis, "description": description},
        )
    return purposes


def _rules(tenant: Tenant) -> None:
    existing = set(RetentionRule.objects.for_tenant(tenant).values_list("category", flat=True))
    for category, fields in RETENTION_RULES.items():
        if category not in existing:
            retention_rule_create(tenant=tenant, category=category, **fields)


def _digits(rng: random.Random, pattern: str) -> str:
    return pattern.format(
        d7="".join(rng.choice("0123456789") for _ in range(7)),
        d8="".join(rng.choice("0123456789") for _ in range(8)),
    )


def _pick_category(roll: float) -> tuple[str, list[str], int]:
    cumulative = 0.0
    for category, codes, max_days, share in CATEGORIES:
        cumulative += share
        if roll <= cumulative:
            return category, codes, max_days
    return CATEGORIES[-1][:3]


def _calls(tenant: Tenant, purposes: dict[str, Purpose]) -> list[Call]:
    company, patterns, _language, _lines = TENANT_NUMBERS[tenant.slug]
    rng = random.Random(f"calls:{tenant.slug}")
    company_e164 = normalize_number(company, country=tenant.country)
    # A pool of subjects, so that most of them called more than once (as in real life).
    subjects = [
        normalize_number(_digits(rng, rng.choice(patterns)), country=tenant.country)
        for _ in range(CALLS_PER_TENANT // 4)
    ]
    now = timezone.now()
    existing = set(
        Call.objects.for_tenant(tenant)
        .filter(external_id__startswith=f"demo-{tenant.slug}-")
        .values_list("external_id", flat=True)
    )
    new_calls, new_purposes = [], []
    for index in range(CALLS_PER_TENANT):
        # Draw every value whether or not the call exists, so reruns produce the same calls.
        category, codes, max_days = _pick_category(rng.random())
        inbound = rng.random() < 0.8
        subject = rng.choice(subjects)
        started = now - timedelta(days=rng.uniform(0, max_days), seconds=rng.randint(0, 86400))
        seconds = rng.randint(40, 900)
        codes = codes + (["training"] if rng.random() < 0.1 else [])
        external_id = f"demo-{tenant.slug}-{index:04d}"
        if external_id in existing:
            continue
        call = Call(
            tenant=tenant,
            external_id=external_id,
            direction=Call.Direction.INBOUND if inbound else Call.Direction.OUTBOUND,
            caller=subject if inbound else company_e164,
            callee=company_e164 if inbound else subject,
            started_at=started,
            ended_at=started + timedelta(seconds=seconds),
            duration_seconds=seconds,
            category=category,
        )
        chosen = [purposes[code] for code in codes]
        consent_based = [p for p in chosen if p.default_lawful_basis == LawfulBasis.CONSENT]
        if consent_based:
            # As the purpose gate in flag mode would: purposes with no basis at the call's start.
            call.gate_flags = sorted(
                p.code
                for p in purpose_gate_violations(
                    tenant_id=tenant.pk,
                    number=call.subject_number,
                    purposes=consent_based,
                    at=started,
                )
            )
        new_calls.append(call)
        new_purposes.append(chosen)
    # Demo rows are bulk-created, so they have no history rows (simple-history does not see
    # bulk_create): made-up calls need no audit trail, and seeding stays quick. Real calls
    # always go through the services, which save one by one with history.
    Call.objects.bulk_create(new_calls)
    through = Call.purposes.through
    through.objects.bulk_create(
        [
            through(call_id=call.pk, purpose_id=purpose.pk)
            for call, chosen in zip(new_calls, new_purposes, strict=True)
            for purpose in chosen
        ]
    )
    return new_calls


def _spoken(e164: str) -> str:
    """A number as a caller would say it (national format): transcripts are free text."""
    return phonenumbers.format_number(
        phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.NATIONAL
    )


def _media(tenant: Tenant) -> tuple[int, int]:
    _company, _patterns, language, lines = TENANT_NUMBERS[tenant.slug]
    demo_calls = Call.objects.for_tenant(tenant).filter(
        external_id__startswith=f"demo-{tenant.slug}-"
    )
    without_recording = list(
        demo_calls.filter(recording__isnull=True).order_by("external_id")[:RECORDINGS_PER_TENANT]
    )
    have = Recording.objects.for_tenant(tenant).count()
    recordings = []
    for index, call in enumerate(without_recording[: max(0, RECORDINGS_PER_TENANT - have)]):
        seconds = 1 + index % 3
        audio = io.BytesIO(sine_wav(seconds=seconds, frequency=330 + 55 * (index % 5)))
        name = recording_key(Recording(tenant_id=tenant.pk), "")
        stored = save_hashed(name, audio, content_type="audio/wav")
        recordings.append(
            Recording(
                tenant=tenant,
                call=call,
                file=stored.name,
                content_type="audio/wav",
                size_bytes=stored.size,
                duration_seconds=seconds,
                sha256=stored.sha256,
            )
        )
    Recording.objects.bulk_create(recordings)  # demo data: no history, as for the calls
    have_text = Transcript.objects.for_tenant(tenant).count()
    without_transcript = demo_calls.filter(transcript__isnull=True).order_by("external_id")
    transcripts = [
        Transcript(
            tenant=tenant,
            call=call,
            language=language,
            text="\n".join(lines).format(number=_spoken(call.subject_number)),
        )
        for call in without_transcript[: max(0, TRANSCRIPTS_PER_TENANT - have_text)]
    ]
    Transcript.objects.bulk_create(transcripts)
    return len(recordings), len(transcripts)


def _accesses(tenant: Tenant) -> int:
    if RecordingAccess.objects.for_tenant(tenant).exists():
        return 0
    user = get_user_model().objects.filter(username=f"{tenant.slug}-admin").first()
    calls = list(
        Call.objects.for_tenant(tenant).filter(recording__isnull=False).order_by("external_id")[:3]
    )
    for call, purpose in zip(
        calls, ["Quality review", "Handling a complaint", "Support case"], strict=False
    ):
        recording_access_log(
            call=call, what="recording", how="playback", purpose=purpose, user=user
        )
    return len(calls)


def seed(context: dict) -> None:
    stdout = context.get("stdout")
    for tenant in Tenant.objects.filter(slug__in=TENANT_NUMBERS).order_by("slug"):
        purposes = _purposes(tenant)
        _rules(tenant)
        created = _calls(tenant, purposes)
        recordings, transcripts = _media(tenant)
        accesses = _accesses(tenant)
        if stdout is not None:
            stdout.write(
                f"calls: {tenant.slug}: {len(created)} new call(s), {recordings} recording(s), "
                f"{transcripts} transcript(s), {accesses} logged consultation(s)"
            )
