"""Web views of the calls app shared by the API and the admin (dashboard pages come later)."""

from __future__ import annotations

import mimetypes

from django.http import FileResponse

from calls.models import RecordingAccess
from calls.services import OpenRecording
from portal.models import ApiKey


def consultant(request) -> dict:
    """Who consults a recording, for the access log: user, API key and address.

    The address is the peer's (REMOTE_ADDR): a client-supplied X-Forwarded-For is not
    evidence. Behind a proxy, have it set REMOTE_ADDR (e.g. gunicorn's --forwarded-allow-ips).
    """
    auth = getattr(request, "auth", None)
    api_key = auth if isinstance(auth, ApiKey) else None
    return {
        # A key acts for its tenant's integration, not as the person who created it (who may
        # even be platform staff): the key is the consultant.
        "user": None if api_key else request.user,
        "api_key": api_key,
        "ip_address": request.META.get("REMOTE_ADDR") or None,
    }


def recording_response(opened: OpenRecording, *, how: str) -> FileResponse:
    """Stream a recording; downloads as an attachment, playback inline. The file name carries
    the call's id, never a number."""
    recording = opened.recording
    extension = mimetypes.guess_extension(recording.content_type) or ""
    response = FileResponse(
        opened.file,
        content_type=recording.content_type,
        as_attachment=how != RecordingAccess.How.PLAYBACK,
        filename=f"call-{recording.call_id}{extension}",
    )
    response["Content-Length"] = str(recording.size_bytes)
    response["Cache-Control"] = "private, no-store"
    return response
