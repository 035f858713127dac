"""Consulting recordings over the web, shared by the API, the admin and the dashboard: who
consults, the streamed response, and the short-lived link that stands for a logged
consultation."""

from __future__ import annotations

import mimetypes

from django.core import signing
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


CONSULTATION_SALT = "calls.consultation"
CONSULTATION_TTL = 15 * 60  # seconds a logged consultation's player or transcript link works


def consultation_token(access: RecordingAccess) -> str:
    """A short-lived link token standing for one logged consultation (signed access id)."""
    return signing.dumps(access.pk, salt=CONSULTATION_SALT)


def consultation_for_token(
    token: str | None, *, user, call_id: int | None, what: str | None = None
) -> RecordingAccess | None:
    """The logged consultation a link stands for — by this user, of this call (and of
    ``what``), issued less than ``CONSULTATION_TTL`` ago — or None.

    A player's requests (the browser may fetch the file more than once) are the one
    consultation logged when the purpose was chosen; without one, nothing is served.
    """
    if not token or call_id is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        access_id = signing.loads(token, salt=CONSULTATION_SALT, max_age=CONSULTATION_TTL)
    except signing.BadSignature:
        return None
    accesses = RecordingAccess.objects.filter(pk=access_id, user=user, call_id=call_id)
    if what is not None:
        accesses = accesses.filter(what=what)
    return accesses.first()
