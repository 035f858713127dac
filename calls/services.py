"""Writes for calls, recordings, transcripts, the access log and retention."""

from __future__ import annotations

from calls.models import Call, RecordingAccess
from portal.errors import BusinessRuleError


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
