"""Shared pieces of the calls tests: audio, uploads, stored files, purposes."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from calls.seed import sine_wav
from consent.models import ConsentEvent, LawfulBasis
from tests.factories import PurposeFactory


@pytest.fixture
def wav() -> bytes:
    return sine_wav(seconds=2)


def stored_files() -> list[Path]:
    """Every file in the (filesystem) default storage of the test."""
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def media_rows(call) -> None:
    """A recording row (no file behind it) and a transcript: enough for lists to show them."""
    from calls.models import Recording, Transcript

    Recording.objects.create(
        tenant=call.tenant,
        call=call,
        file=f"tests/{call.pk}",
        content_type="audio/wav",
        size_bytes=1,
        sha256="0" * 64,
    )
    Transcript.objects.create(tenant=call.tenant, call=call, language="de", text="Hallo")


def upload(client, call_id: int, content: bytes, content_type: str = "audio/wav", **extra):
    """PUT a recording as multipart, field ``file``."""
    from django.test.client import encode_multipart

    boundary = "BoUnDaRy"
    body = encode_multipart(
        boundary,
        {"file": SimpleUploadedFile("call.wav", content, content_type=content_type), **extra},
    )
    return client.put(
        f"/api/v1/calls/{call_id}/recording/",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def call_payload(**overrides) -> dict:
    payload = {
        "external_id": "ext-1",
        "direction": "inbound",
        "caller": "+49 30 1234567",
        "callee": "+49 30 9876543",
        "started_at": "2026-01-15T10:00:00+01:00",
        "ended_at": "2026-01-15T10:05:30+01:00",
        "purposes": ["service_delivery"],
        "category": "support",
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def purposes_a(tenant_a):
    """The demo purposes of tenant A, with their default lawful bases."""
    return {
        "service_delivery": PurposeFactory(
            tenant=tenant_a, code="service_delivery", default_lawful_basis=LawfulBasis.CONTRACT
        ),
        "quality_assurance": PurposeFactory(
            tenant=tenant_a,
            code="quality_assurance",
            default_lawful_basis=LawfulBasis.LEGITIMATE_INTERESTS,
        ),
        "marketing": PurposeFactory(
            tenant=tenant_a, code="marketing", default_lawful_basis=LawfulBasis.CONSENT
        ),
    }


def give_consent(purpose, number: str, at=None, action=ConsentEvent.Action.GIVEN):
    return ConsentEvent.objects.create(
        tenant=purpose.tenant,
        number=number,
        purpose=purpose,
        lawful_basis=LawfulBasis.CONSENT,
        action=action,
        method=ConsentEvent.Method.IVR_KEYPRESS,
        occurred_at=at or timezone.now(),
        source=ConsentEvent.Source.API,
    )
