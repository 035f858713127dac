"""What an access package holds: the cover letter, the JSON and CSV documents, the files.

Everything is produced lazily, row by row and chunk by chunk, so that the ZIP can be streamed.
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
from collections.abc import Iterable, Iterator
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils import timezone
from zipstream import ZIP_DEFLATED, ZIP_STORED, ZipStream

from calls.models import Call, ErasureGround, RecordingAccess, RetentionRule
from consent.models import LawfulBasis, PrivacyNotice, Purpose
from consent.services import SUPPRESSION_EXPLANATION, suppressions_for
from dsr import selectors
from dsr.models import (
    CallRectification,
    DataSubjectRequest,
)
from dsr.services import notifications
from dsr.services.streaming import Digest, read_chunks

BATCH = 500  # rows fetched at a time while streaming
EXPORT_PURPOSE = "Copy for the data subject under request #{id} (Art. 15/20)"


def package_ttl() -> timedelta:
    return timedelta(days=settings.PACKAGE_TTL_DAYS)


def _json_bytes(value) -> bytes:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def _iso(value):
    return value.isoformat() if value else None


AUDIO_EXTENSIONS = {"audio/wav": ".wav", "audio/ogg": ".ogg", "audio/webm": ".webm"}


def _recording_arcname(recording) -> str:
    content_type = (recording.content_type or "").split(";")[0].strip().lower()
    extension = (
        AUDIO_EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"
    )
    return f"recordings/call-{recording.call_id}{extension}"


def _transcript_arcname(transcript) -> str:
    return f"transcripts/call-{transcript.call_id}.txt"


# ---------------------------------------------------------------------------------------------
# What the package says


def _calls(request: DataSubjectRequest):
    return (
        selectors.subject_calls(request)
        .select_related("recording", "transcript")
        .prefetch_related("purposes")
        .order_by("started_at", "id")
    )


def _call_row(call: Call, rectifications: dict[int, list], missing: set[int]) -> dict:
    recording = getattr(call, "recording", None)
    transcript = getattr(call, "transcript", None)
    return {
        "id": call.pk,
        "external_id": call.external_id,
        "direction": call.direction,
        "caller": call.caller,
        "callee": call.callee,
        "started_at": _iso(call.started_at),
        "ended_at": _iso(call.ended_at),
        "duration_seconds": call.duration_seconds,
        "category": call.category,
        "purposes": sorted(p.code for p in call.purposes.all()),
        "restricted": call.is_restricted,
        "informed_by": call.informed_by,
        "recording": (
            {
                "file": None if call.pk in missing else _recording_arcname(recording),
                "missing_from_storage": call.pk in missing,
                "content_type": recording.content_type,
                "size_bytes": recording.size_bytes,
                "duration_seconds": recording.duration_seconds,
                "sha256": recording.sha256,
            }
            if recording
            else None
        ),
        "transcript": (
            {"file": _transcript_arcname(transcript), "language": transcript.language}
            if transcript
            else None
        ),
        "rectifications": rectifications.get(call.pk, []),
    }


def _rectifications(request: DataSubjectRequest) -> dict[int, list]:
    rows: dict[int, list] = {}
    queryset = CallRectification.objects.for_tenant(request.tenant_id).filter(
        call__in=selectors.subject_calls(request).values("pk")
    )
    for item in queryset.order_by("created_at"):
        rows.setdefault(item.call_id, []).append(
            {"statement": item.statement, "added_at": _iso(item.created_at)}
        )
    return rows


def _consent_row(event) -> dict:
    return {
        "id": event.pk,
        "number": event.number,
        "purpose": event.purpose.code,
        "purpose_description": event.purpose.description,
        "lawful_basis": event.lawful_basis,
        "action": event.action,
        "method": event.method,
        "occurred_at": _iso(event.occurred_at),
        "recorded_at": _iso(event.recorded_at),
        "privacy_notice_version": event.notice.version if event.notice_id else None,
        "source": event.source,
        "evidence_call": event.evidence_call_id,
        "evidence_message_id": event.evidence_message_id,
        "evidence_document": event.evidence_document,
    }


def _access_row(access: RecordingAccess) -> dict:
    """A consultation of the subject's recording: when, what, how, why — never by whom."""
    return {
        "accessed_at": _iso(access.accessed_at),
        "call": access.call_id,
        "what": access.what,
        "how": access.how,
        "purpose": access.purpose,
    }


def _consent_events(request: DataSubjectRequest):
    return (
        selectors.subject_consent_events(request)
        .select_related("purpose", "notice")
        .order_by("occurred_at", "id")
    )


def _accesses(request: DataSubjectRequest):
    return selectors.subject_recording_accesses(request).order_by("accessed_at", "id")


def _retention_periods(request: DataSubjectRequest, categories: set[str]) -> list[dict]:
    """From the rules the request was decided under (frozen), else the current ones."""
    rules = request.policy_snapshot.get("retention_rules")
    if rules is None:
        rules = list(
            RetentionRule.objects.for_tenant(request.tenant_id).values(
                "category", "min_age_days", "max_age_days", "legal_ground", "legal_reference"
            )
        )
    default_max = request.policy_snapshot.get("default_max_age_days")
    if default_max is None:
        default_max = request.tenant.default_max_age_days
    periods = []
    for rule in sorted(rules, key=lambda r: r["category"]):
        period = {"legal_ground": "", **rule}
        if period["max_age_days"] is None:
            period["max_age_days"] = default_max  # storage limitation by default
        period["legal_ground_text"] = (
            ErasureGround(period["legal_ground"]).label if period["legal_ground"] else ""
        )
        periods.append(period)
    for category in sorted(categories - {rule["category"] for rule in rules}):
        periods.append(
            {
                "category": category,
                "min_age_days": None,
                "max_age_days": default_max,
                "legal_ground": "",
                "legal_ground_text": "",
                "legal_reference": "",
            }
        )
    return periods


def _purposes(request: DataSubjectRequest) -> list[dict]:
    calls = selectors.subject_calls(request).values("pk")
    consented = selectors.subject_consent_events(request).values("purpose_id")
    purposes = (
        Purpose.objects.for_tenant(request.tenant_id)
        .filter(Q(calls__in=calls) | Q(pk__in=consented))
        .distinct()
        .order_by("code")
    )
    return [
        {
            "code": purpose.code,
            "description": purpose.description,
            "lawful_basis": LawfulBasis(purpose.default_lawful_basis).label,
        }
        for purpose in purposes
    ]


def letter_context(request: DataSubjectRequest) -> dict:
    """Everything Art. 15(1)(a)–(h) asks for besides the copy, and the consultations."""
    tenant = request.tenant
    calls = selectors.subject_calls(request)
    categories = set(calls.exclude(category="").values_list("category", flat=True).distinct())
    consent_methods = sorted(
        set(selectors.subject_consent_events(request).values_list("method", flat=True))
    )
    notice = PrivacyNotice.objects.for_tenant(tenant).order_by("-effective_from").first()
    tz = tenant.tzinfo
    consultations = [
        {
            "at": timezone.localtime(access.accessed_at, tz),
            "call": access.call_id,
            "what": access.get_what_display(),
            "how": access.get_how_display(),
            "purpose": access.purpose,
        }
        for access in _accesses(request)
    ]
    consent_history = [
        {
            "at": timezone.localtime(event.occurred_at, tz),
            "purpose": event.purpose.code,
            "action": event.get_action_display(),
            "basis": event.get_lawful_basis_display(),
            "method": event.get_method_display(),
            "notice": event.notice.version if event.notice_id else "",
        }
        for event in _consent_events(request)
    ]
    counts = {
        "calls": calls.count(),
        "recordings": selectors.subject_recordings(request).count(),
        "transcripts": selectors.subject_transcripts(request).count(),
        "consent_events": selectors.subject_consent_events(request).count(),
        "consultations": len(consultations),
    }
    return {
        "req": request,
        "tenant": tenant,
        "controller": tenant.legal_name or tenant.name,
        "received": timezone.localtime(request.received_at, tz),
        "has_data": bool(counts["calls"] or counts["consent_events"]),
        "today": timezone.localtime(timezone.now(), tz),
        "numbers": selectors.request_numbers(request),
        "purposes": _purposes(request),
        "counts": counts,
        "retention": _retention_periods(request, categories),
        "consent_methods": consent_methods,
        "notice": notice,
        "authority": tenant.supervisory_authority,
        "consultations": consultations,
        "consent_history": consent_history,
        "informed": [
            {"call": call.pk, "at": timezone.localtime(call.started_at, tz), **call.informed_by}
            for call in calls.filter(informed_by__isnull=False).order_by("started_at", "id")
        ],
        "suppression_explanation": SUPPRESSION_EXPLANATION,
        "suppressions": suppressions_for(
            tenant_id=tenant.pk, numbers=selectors.request_numbers(request)
        ),
        "platform": settings.PLATFORM_NAME,
    }


# ---------------------------------------------------------------------------------------------
# The stream


def _json_document(request: DataSubjectRequest, missing: set[int]) -> Iterator[bytes]:
    """data.json, written row by row."""
    head = {
        "request": {
            "id": request.pk,
            "kind": request.kind,
            "received_at": _iso(request.received_at),
            "name": request.name,
            "email": request.email,
        },
        "controller": {
            "name": request.tenant.legal_name or request.tenant.name,
            "contact": request.tenant.privacy_contact_email,
        },
        "subject_numbers": selectors.request_numbers(request),
    }
    yield _json_bytes(head)[:-2] + b",\n"
    rectifications = _rectifications(request)
    sections = [
        (
            "calls",
            (_call_row(c, rectifications, missing) for c in _calls(request).iterator(BATCH)),
        ),
        ("consent_history", (_consent_row(e) for e in _consent_events(request).iterator(BATCH))),
        ("recording_accesses", (_access_row(a) for a in _accesses(request).iterator(BATCH))),
    ]
    for index, (key, rows) in enumerate(sections):
        yield f'  "{key}": ['.encode()
        for position, row in enumerate(rows):
            prefix = b"\n    " if position == 0 else b",\n    "
            yield prefix + json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False).encode()
        yield b"\n  ]" + (b",\n" if index < len(sections) - 1 else b"\n")
    yield b"}\n"


def _csv_document(header: list[str], rows: Iterable[dict]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ";".join(v) if isinstance(v, list) else v for k, v in row.items()})
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


CONSENT_COLUMNS = [
    "id",
    "number",
    "purpose",
    "purpose_description",
    "lawful_basis",
    "action",
    "method",
    "occurred_at",
    "recorded_at",
    "privacy_notice_version",
    "source",
    "evidence_call",
    "evidence_message_id",
    "evidence_document",
]
CALL_COLUMNS = [
    "id",
    "external_id",
    "direction",
    "caller",
    "callee",
    "started_at",
    "ended_at",
    "duration_seconds",
    "category",
    "purposes",
    "restricted",
]


class PackageWriter:
    """Queues every file of a package into a ZipStream, taking digests as bytes go by."""

    def __init__(self, request: DataSubjectRequest, storage=None):
        self.request = request
        self.storage = storage or default_storage
        self.zip = ZipStream(compress_type=ZIP_DEFLATED)
        self.files: dict[str, Digest] = {}
        self.missing: list[dict] = []
        self.recordings: list = []
        self.transcripts: list = []

    def add(self, arcname: str, chunks: Iterable[bytes] | bytes, *, stored: bool = False) -> None:
        digest = self.files[arcname] = Digest()
        if isinstance(chunks, bytes):
            chunks = [chunks]
        self.zip.add(digest.wrap(chunks), arcname, compress_type=ZIP_STORED if stored else None)

    def build(self) -> ZipStream:
        request = self.request
        for recording in selectors.subject_recordings(request).order_by("call_id"):
            if recording.file and self.storage.exists(recording.file.name):
                self.recordings.append(recording)
            else:
                self.missing.append(
                    {"call": recording.call_id, "what": "recording", "reason": "not in storage"}
                )
        missing = {item["call"] for item in self.missing}
        context = {**letter_context(request), "missing": self.missing}
        for name in ("cover_letter.html", "cover_letter.txt"):
            letter = notifications.render_for_tenant(f"dsr/{name}", context, request.tenant)
            self.add(name, letter.encode())
        self.add("data.json", _json_document(request, missing))
        rectifications = _rectifications(request)
        calls = _calls(request).iterator(BATCH)
        self.add(
            "calls.csv",
            _csv_document(CALL_COLUMNS, (_call_row(c, rectifications, missing) for c in calls)),
        )
        self.add(
            "consent_history.csv",
            _csv_document(
                CONSENT_COLUMNS,
                (_consent_row(e) for e in _consent_events(request).iterator(BATCH)),
            ),
        )
        self.add(
            "recording_accesses.csv",
            _csv_document(
                ["accessed_at", "call", "what", "how", "purpose"],
                (_access_row(a) for a in _accesses(request).iterator(BATCH)),
            ),
        )
        for recording in self.recordings:
            # Audio is compressed already: stored as is, byte for byte.
            self.add(
                _recording_arcname(recording),
                read_chunks(self.storage, recording.file.name),
                stored=True,
            )
        for transcript in selectors.subject_transcripts(request).order_by("call_id"):
            self.add(_transcript_arcname(transcript), _lazy_text(transcript.pk))
            self.transcripts.append(transcript)
        # Last: by the time it is generated every other file has been hashed.
        self.zip.add(self._manifest(), "manifest.json")
        return self.zip

    def _manifest(self) -> Iterator[bytes]:
        yield _json_bytes(
            {
                "request": self.request.pk,
                "generated_at": timezone.now(),
                "algorithm": "sha256",
                "files": [
                    {"path": path, "sha256": digest.hexdigest, "size": digest.size}
                    for path, digest in self.files.items()
                ],
                "missing": self.missing,
            }
        )


def _lazy_text(transcript_id: int) -> Iterator[bytes]:
    """A transcript's text, loaded only when its turn in the stream comes."""
    from calls.models import Transcript

    text = Transcript.objects.filter(pk=transcript_id).values_list("text", flat=True).first()
    yield (text or "").encode()
