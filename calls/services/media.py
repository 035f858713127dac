"""Recordings and transcripts: upload rules, storage, and the logged consultation of both."""

from __future__ import annotations

import re
import wave
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calls.models import Call, Recording, RecordingAccess, Transcript, recording_key
from calls.services.retention.deletion import file_deletion_schedule
from calls.services.storage import save_hashed, stored_file_remove
from portal.access import is_dpo
from portal.errors import BusinessRuleError
from portal.services import full_clean_or_raise

LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")

# First bytes of the audio formats we accept, to catch a mislabelled upload (not a validator
# of the whole file). Types without an entry are accepted on their declared type alone.
_SIGNATURES = {
    "audio/wav": lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE",
    "audio/mpeg": lambda h: (
        h[:3] == b"ID3" or (len(h) > 1 and h[0] == 0xFF and h[1] & 0xE0 == 0xE0)
    ),
    "audio/ogg": lambda h: h[:4] == b"OggS",
    "audio/flac": lambda h: h[:4] == b"fLaC",
    "audio/webm": lambda h: h[:4] == b"\x1a\x45\xdf\xa3",
    "audio/mp4": lambda h: h[4:8] == b"ftyp",
}
_ALIASES = {
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/mp3": "audio/mpeg",
    "audio/opus": "audio/ogg",
    "audio/x-flac": "audio/flac",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
}


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _wav_duration(raw) -> int | None:
    try:
        raw.seek(0)
        with wave.open(raw, "rb") as audio:
            frames, rate = audio.getnframes(), audio.getframerate()
        return round(frames / rate) if rate else None
    except (wave.Error, EOFError):
        return None
    finally:
        raw.seek(0)


def recording_check_upload(*, content_type: str | None, size: int | None, head: bytes) -> str:
    """The upload rules (size limit and content-type allow-list from settings); returns the
    media type. Raises 413 for too large, 415 for a type that is not allowed."""
    media_type = _media_type(content_type)
    allowed = {_media_type(t) for t in settings.RECORDING_CONTENT_TYPES}
    if media_type not in allowed:
        raise BusinessRuleError(
            f"Recordings of type {media_type or '(none)'!r} are not accepted; "
            f"send one of: {', '.join(sorted(allowed))}.",
            code="unsupported_media_type",
            field="file",
            status_code=415,
        )
    if size is not None and size > settings.RECORDING_MAX_BYTES:
        raise recording_too_large_error()
    if size == 0 or not head:
        raise BusinessRuleError("The file is empty.", code="empty_file", field="file")
    looks_right = _SIGNATURES.get(_ALIASES.get(media_type, media_type))
    if looks_right is not None and not looks_right(head):
        raise BusinessRuleError(
            f"The file's content is not {media_type}.",
            code="unsupported_media_type",
            field="file",
            status_code=415,
        )
    return media_type


def recording_too_large_error() -> BusinessRuleError:
    return BusinessRuleError(
        f"Recordings may be at most {settings.RECORDING_MAX_BYTES} bytes.",
        code="too_large",
        field="file",
        status_code=413,
    )


def recording_attach(
    *, call: Call, file, content_type: str, duration_seconds: int | None = None
) -> Recording:
    """Attach (or replace) a call's recording.

    The file is written under a fresh tenant-prefixed random key, hashed (SHA-256) on the way
    to storage; the row is written after. If anything fails, the new file is removed again: no
    orphan file and no row. A replaced file is removed after the transaction commits. Call it
    outside a transaction: an outer rollback after it returns would leave the new file behind.
    """
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    media_type = recording_check_upload(
        content_type=content_type, size=getattr(file, "size", None), head=head
    )
    if duration_seconds is None and _ALIASES.get(media_type, media_type) == "audio/wav":
        duration_seconds = _wav_duration(file)
    name = recording_key(Recording(tenant_id=call.tenant_id), "")
    stored = save_hashed(name, file, content_type=media_type)
    try:
        if stored.size > settings.RECORDING_MAX_BYTES:  # a size the client did not declare
            raise recording_too_large_error()
        return _recording_row_write(
            call=call, stored=stored, media_type=media_type, duration_seconds=duration_seconds
        )
    except BaseException:
        stored_file_remove(stored.name)
        raise


@transaction.atomic
def _recording_row_write(*, call: Call, stored, media_type: str, duration_seconds) -> Recording:
    call = Call.objects.select_for_update().filter(pk=call.pk).first()
    if call is None:
        raise BusinessRuleError("The call has been deleted.", code="not_found", status_code=404)
    recording = Recording.objects.filter(call=call).first()
    if recording is None:
        recording = Recording(tenant_id=call.tenant_id, call=call)
    elif recording.file.name:
        file_deletion_schedule(
            tenant_id=call.tenant_id,
            names=[recording.file.name],
            reason=f"Recording of call {call.pk} replaced",
        )
    recording.file = stored.name
    recording.content_type = media_type
    recording.size_bytes = stored.size
    recording.sha256 = stored.sha256
    recording.duration_seconds = duration_seconds
    recording.created_at = timezone.now()
    full_clean_or_raise(recording, exclude=["tenant", "call", "file"])
    recording.save()
    return recording


@transaction.atomic
def transcript_set(*, call: Call, language: str, text: str) -> Transcript:
    """Attach or replace a call's transcript (the previous text stays in history)."""
    if not (text or "").strip():
        raise BusinessRuleError("The transcript is empty.", field="text")
    if not LANGUAGE_TAG.match(language or ""):
        raise BusinessRuleError(
            "Give the language as a BCP 47 tag, e.g. de-DE or en.", field="language"
        )
    transcript = Transcript.objects.select_for_update().filter(call=call).first()
    if transcript is None:
        transcript = Transcript(tenant_id=call.tenant_id, call=call)
    transcript.language = language
    transcript.text = text
    transcript.updated_at = timezone.now()
    full_clean_or_raise(transcript, exclude=["tenant", "call"])
    transcript.save()
    return transcript


# --- consultation: every play, download or export is logged --------------------------------


def recording_access_log(
    *,
    call: Call,
    what: str,
    how: str,
    purpose: str,
    user=None,
    api_key=None,
    ip_address: str | None = None,
) -> RecordingAccess:
    """Record one consultation of a call's recording or transcript (accountability, Art. 5(2)).

    Every path that plays, downloads or exports a recording or transcript calls this first.
    """
    if not (purpose or "").strip():
        raise BusinessRuleError("Say for what purpose the recording is consulted.", field="purpose")
    if what not in RecordingAccess.What.values:
        raise BusinessRuleError(f"Unknown access target {what!r}.", field="what")
    if how not in RecordingAccess.How.values:
        raise BusinessRuleError(f"Unknown access kind {how!r}.", field="how")
    return RecordingAccess.objects.create(
        tenant_id=call.tenant_id,
        call=call,
        what=what,
        how=how,
        purpose=purpose.strip()[:255],
        user=user if getattr(user, "is_authenticated", False) else None,
        api_key=api_key,
        ip_address=ip_address,
    )


def consultation_check(*, call: Call, user=None) -> None:
    """A restricted call (Art. 18) is only stored: nobody but the DPO plays or exports it."""
    if call.is_restricted and not is_dpo(user):
        raise BusinessRuleError(
            "Processing of this call is restricted (Art. 18): it is only stored, and only the "
            "platform's DPO may play or export it.",
            code="restricted",
            status_code=403,
        )


@transaction.atomic
def consultation_record(
    *,
    call: Call,
    what: str,
    how: str,
    purpose: str,
    user=None,
    api_key=None,
    ip_address: str | None = None,
) -> RecordingAccess:
    """Check that ``what`` may be consulted and exists, then log the consultation."""
    if what not in RecordingAccess.What.values:
        raise BusinessRuleError(f"Unknown access target {what!r}.", field="what")
    consultation_check(call=call, user=user)
    model = Recording if what == RecordingAccess.What.RECORDING else Transcript
    if not model.objects.filter(call=call).exists():
        raise BusinessRuleError(f"This call has no {what}.", code="not_found", status_code=404)
    return recording_access_log(
        call=call,
        what=what,
        how=how,
        purpose=purpose,
        user=user,
        api_key=api_key,
        ip_address=ip_address,
    )


def consultation_purposes(call: Call) -> list[str]:
    """The purposes a consultation of the call may serve: its own purposes still in use — what
    the recording was collected for is compatible with it (Art. 5(1)(b), 6(4))."""
    return sorted(p.code for p in call.purposes.all() if p.is_active)


def consultation_purpose_resolve(*, call: Call, purpose: str) -> str:
    """The purpose code given to consult a call, if it is compatible; else a 400 naming the
    compatible ones (Art. 5(1)(b): no further processing for an incompatible purpose)."""
    code = (purpose or "").strip().lower()
    compatible = consultation_purposes(call)
    if code in compatible:
        return code
    named = ", ".join(compatible) if compatible else "none: the call names no purpose in use"
    raise BusinessRuleError(
        f"{purpose!r} is not a purpose this call may be consulted for: name one of the tenant's "
        f"purposes compatible with the call's purposes (Art. 5(1)(b)). Compatible: {named}.",
        code="incompatible_purpose",
        field="purpose",
    )


@dataclass
class OpenRecording:
    recording: Recording
    file: Any  # a binary file object; the caller closes it (FileResponse does)
    access: RecordingAccess


@transaction.atomic
def recording_open(*, call: Call, how: str, purpose: str, **who: Any) -> OpenRecording:
    """Log the consultation and open the recording for reading (``who``: user, api_key,
    ip_address) for ``purpose``, a code compatible with the call's purposes. If the file
    cannot be opened, nothing is logged."""
    consultation_check(call=call, user=who.get("user"))
    purpose = consultation_purpose_resolve(call=call, purpose=purpose)
    access = consultation_record(
        call=call, what=RecordingAccess.What.RECORDING, how=how, purpose=purpose, **who
    )
    recording = Recording.objects.get(call=call)
    return OpenRecording(recording=recording, file=recording.file.open("rb"), access=access)


@transaction.atomic
def transcript_read(*, call: Call, how: str, purpose: str, **who: Any) -> Transcript:
    """Log the consultation for ``purpose`` (a code compatible with the call's purposes) and
    return the transcript."""
    consultation_check(call=call, user=who.get("user"))
    purpose = consultation_purpose_resolve(call=call, purpose=purpose)
    consultation_record(
        call=call, what=RecordingAccess.What.TRANSCRIPT, how=how, purpose=purpose, **who
    )
    return Transcript.objects.get(call=call)
