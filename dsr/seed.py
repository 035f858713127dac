"""Demo requests in every status (run by ``manage.py seed_demo`` after portal, calls, consent).

Idempotent: each demo request carries a marker in its details and is created once; an erased
subject is recognised by its tombstone (a closed erasure request keeps no details). Dates are
relative to today, so there is always one overdue request and one with an extended deadline.

``approved`` lasts only until the background work starts (an access package is built, an
erasure carried out): the demo shows what follows instead — a completed erasure with its
certificate, and an erasure left ``partially_completed`` because one of the subject's calls is
under a legal hold (statute of limitations for a complaint).
"""

from __future__ import annotations

import hashlib
import io
import wave
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone

from calls.models import Call, LegalHold, Recording, RetentionRule, Transcript
from calls.services.retention.holds import hold_apply
from consent.models import ConsentEvent, PrivacyNotice, Purpose
from consent.services import consent_give
from dsr import services
from dsr.models import DataSubjectRequest, Tombstone
from portal.models import Tenant
from portal.redaction import number_fingerprint

# Demo callers (fictional numbers from the ranges reserved for drama/documentation).
ACME_CALLER = "+4915790000001"
ACME_CALLER_2 = "+4915790000002"
ACME_LINE = "+493012345000"
ACME_ERASED = "+4915790000004"  # a subject erased completely
ACME_HELD = "+4915790000003"  # a subject one of whose calls is under a legal hold
HOLD_MARKER = "[demo:hold]"
GLOBEX_CALLER = "+353850000001"


def _silence(seconds: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 8000 * seconds)
    return buffer.getvalue()


def _demo_call(tenant, external_id, caller, *, days_ago, category="support", store_file=True):
    call, created = Call.objects.get_or_create(
        tenant=tenant,
        external_id=external_id,
        defaults={
            "direction": "inbound",
            "caller": caller,
            "callee": ACME_LINE,
            "started_at": timezone.now() - timedelta(days=days_ago),
            "duration_seconds": 95,
            "category": category,
        },
    )
    if not created:
        return call
    audio = _silence()
    recording = Recording(
        tenant=tenant,
        call=call,
        content_type="audio/wav",
        size_bytes=len(audio),
        duration_seconds=1,
        sha256=hashlib.sha256(audio).hexdigest(),
    )
    if store_file:
        recording.file.save("recording.wav", ContentFile(audio), save=False)
    else:
        # A recording whose file was lost: its package is only partly complete.
        recording.file.name = f"tenants/{tenant.pk}/recordings/lost-demo-{external_id}"
    recording.save()
    Transcript.objects.create(
        tenant=tenant, call=call, language="de-DE", text="Guten Tag, ich habe eine Frage."
    )
    return call


def _demo_data(tenant) -> None:
    """Three calls of the demo subject, on the purposes the calls and consent seeds define."""
    quality = Purpose.objects.for_tenant(tenant).get(code="quality_assurance")
    marketing = Purpose.objects.for_tenant(tenant).get(code="marketing")
    RetentionRule.objects.get_or_create(
        tenant=tenant, category="support", defaults={"max_age_days": 365}
    )
    call = _demo_call(tenant, "demo-dsr-1", ACME_CALLER, days_ago=30)
    _demo_call(tenant, "demo-dsr-2", ACME_CALLER, days_ago=12)
    _demo_call(tenant, "demo-dsr-3", ACME_CALLER_2, days_ago=8, store_file=False)
    call.purposes.add(quality, marketing)
    _demo_consent(tenant, ACME_CALLER, call)


def _demo_consent(tenant, number: str, call) -> None:
    """The subject's consent to marketing, given on the call (the ledger's evidence)."""
    if ConsentEvent.objects.filter(tenant=tenant, number=number).exists():
        return
    marketing = Purpose.objects.for_tenant(tenant).get(code="marketing")
    notice = (
        PrivacyNotice.objects.for_tenant(tenant)
        .filter(effective_from__lte=call.started_at)
        .order_by("-effective_from")
        .first()
    )
    consent_give(
        tenant=tenant,
        number=number,
        purpose=marketing,
        lawful_basis="consent",
        method="ivr_keypress",
        notice_version=notice.version,
        evidence={"call_id": call.pk},
        occurred_at=call.started_at,
        source="api",
    )


def _open(tenant, key, *, days_ago=0, **kwargs) -> DataSubjectRequest | None:
    marker = f"[demo:{key}]"
    if DataSubjectRequest.objects.filter(tenant=tenant, details__startswith=marker).exists():
        return None
    kwargs.setdefault("numbers", [ACME_CALLER])
    kwargs.setdefault("channel", "api")
    kwargs.setdefault("name", "Demo Caller")
    return services.request_open(
        tenant=tenant,
        details=f"{marker} {kwargs.pop('details', 'Demo request.')}",
        received_at=timezone.now() - timedelta(days=days_ago, hours=2),
        **kwargs,
    )


def _erased(tenant, number: str) -> bool:
    return Tombstone.objects.filter(tenant=tenant, fingerprint=number_fingerprint(number)).exists()


def _erasure_demos(acme, *, dpo, support) -> None:
    """A completed erasure, and one partially completed because a call is held."""
    if not _erased(acme, ACME_ERASED) and not _marked(acme, "erasure-completed"):
        _demo_call(acme, "demo-erase-1", ACME_ERASED, days_ago=40)
        _demo_consent(acme, ACME_ERASED, _demo_call(acme, "demo-erase-2", ACME_ERASED, days_ago=9))
        request = _open(
            acme, "erasure-completed", days_ago=3, kind="erasure", numbers=[ACME_ERASED]
        )
        _verify(request, support)
        services.request_approve(request=request, by=dpo, reasons="Nothing obliges us to keep it.")
    if LegalHold.objects.filter(tenant=acme, reason__startswith=HOLD_MARKER).exists():
        return
    held = _demo_call(acme, "demo-held-complaint", ACME_HELD, days_ago=200, category="complaint")
    _demo_consent(acme, ACME_HELD, _demo_call(acme, "demo-held-2", ACME_HELD, days_ago=15))
    hold_apply(
        tenant=acme,
        reason_category=LegalHold.Category.STATUTE_OF_LIMITATIONS,
        reason=f"{HOLD_MARKER} The caller's complaint about a wrong invoice: claims arising from "
        "it can be brought until the limitation period ends (§ 195, § 199 BGB).",
        calls=[held.pk],
        by=dpo,
    )
    request = _open(acme, "erasure-partial", days_ago=1, kind="erasure", numbers=[ACME_HELD])
    _verify(request, support)
    services.request_approve(
        request=request, by=dpo, reasons="Erase everything the hold does not keep."
    )


def _marked(tenant, key: str) -> bool:
    return DataSubjectRequest.objects.filter(
        tenant=tenant, details__startswith=f"[demo:{key}]"
    ).exists()


def _verify(request, by):
    return services.request_verify(
        request=request, by=by, method="call_details", note="Knew the date of the last call."
    )


def seed(context: dict) -> None:
    users = get_user_model().objects
    dpo, support = users.get(username="dpo"), users.get(username="support")
    acme = Tenant.objects.get(slug="acme")
    globex = Tenant.objects.get(slug="globex")
    _demo_data(acme)

    if request := _open(
        acme, "received", channel="direct_to_processor", by=support, kind="erasure"
    ):
        services.request_assign(request=request, assignee=support, by=dpo)
    if request := _open(acme, "verifying", days_ago=3, kind="access"):
        services.request_start_verification(
            request=request, by=support, pause_reason="Asked for the date of the last call."
        )
    if request := _open(acme, "in_review", days_ago=5, kind="erasure", by=support):
        _verify(request, support)
    _erasure_demos(acme, dpo=dpo, support=support)
    if request := _open(acme, "rejected", days_ago=9, kind="access"):
        services.request_reject(
            request=request,
            by=dpo,
            ground="excessive",
            reasons="The fourth identical request this month; the last copy was sent on the 2nd.",
        )
    if request := _open(acme, "processing", days_ago=4, kind="rectification"):
        _verify(request, support)
        services.request_approve(request=request, by=dpo)
    if request := _open(acme, "completed", days_ago=2, kind="access"):
        _verify(request, support)
        services.request_approve(request=request, by=dpo)  # the package is built in background
    if request := _open(acme, "partial", days_ago=2, kind="access", numbers=[ACME_CALLER_2]):
        _verify(request, support)
        services.request_approve(request=request, by=dpo)  # one recording is missing
    if request := _open(acme, "restriction", days_ago=15, kind="restriction"):
        _verify(request, support)
        services.request_approve(request=request, by=dpo)
    if request := _open(acme, "overdue", days_ago=40, kind="access", details="Overdue demo."):
        services.request_assign(request=request, assignee=support, by=dpo)
        _verify(request, support)
    if request := _open(acme, "extended", days_ago=20, kind="portability"):
        services.request_extend(
            request=request,
            by=dpo,
            months=3,
            reason="The caller's calls span three years and four systems.",
        )
    if request := _open(globex, "globex", days_ago=1, kind="access", numbers=[GLOBEX_CALLER]):
        services.request_assign(request=request, assignee=dpo, by=dpo)
    context["stdout"].write(
        f"Requests: {DataSubjectRequest.objects.count()} (every status, one overdue, one extended; "
        "an erasure completed and one partially completed under a legal hold)"
    )
