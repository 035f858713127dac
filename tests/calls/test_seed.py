"""Demo data: a few hundred calls per demo tenant, with audio and transcripts; idempotent."""

import wave
from io import BytesIO

import pytest

from calls import seed as calls_seed
from calls.models import Call, Recording, RecordingAccess, RetentionRule, Transcript
from consent.models import Purpose
from portal import seed as portal_seed
from tests.calls.conftest import stored_files

pytestmark = pytest.mark.django_db


def test_seed_adds_calls_media_rules_and_purposes_once(settings):
    context = {"password": "demo", "stdout": None}
    portal_seed.seed(context)
    calls_seed.seed(context)
    for slug, prefix in (("acme", "+49"), ("globex", "+353")):
        calls = Call.objects.filter(tenant__slug=slug)
        assert calls.count() == calls_seed.CALLS_PER_TENANT
        subjects = {c.subject_number for c in calls}
        assert all(number.startswith(prefix) for number in subjects)
        assert Recording.objects.filter(tenant__slug=slug).count() == 50
        assert Transcript.objects.filter(tenant__slug=slug).count() == 100
        assert RecordingAccess.objects.filter(tenant__slug=slug).exists()
        rules = {r.category: r for r in RetentionRule.objects.filter(tenant__slug=slug)}
        assert rules["complaint"].min_age_days == 5 * 365 and rules["sales"].max_age_days == 90
        bases = dict(
            Purpose.objects.filter(tenant__slug=slug).values_list("code", "default_lawful_basis")
        )
        assert bases == {
            "service_delivery": "contract",
            "quality_assurance": "legitimate_interests",
            "complaint_handling": "legal_obligation",
            "marketing": "consent",
            "training": "consent",
        }
    assert len(stored_files()) == 100
    recording = Recording.objects.first()
    with wave.open(BytesIO(recording.file.read()), "rb") as audio:
        assert audio.getnframes() > 0
    counts = (Call.objects.count(), Recording.objects.count(), Transcript.objects.count())
    calls_seed.seed(context)
    assert (Call.objects.count(), Recording.objects.count(), Transcript.objects.count()) == counts
    assert len(stored_files()) == 100
