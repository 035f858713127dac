"""Writes for calls, recordings, transcripts, the access log, deletion and retention.

Every entry point — API, admin, tasks, commands — calls these; each rule lives here once:

* ``ingest``: one call or a batch; numbers normalised to E.164, purposes resolved against the
  tenant's purposes, the purpose gate applied;
* ``media``: recordings and transcripts, and every consultation of them logged;
* ``deletion``: ``call_delete`` behind the one guard ``call_deletion_blockers``, files removed
  from storage (every version) after commit;
* ``retention``: the rules per category and the sweep that applies them.
"""

from calls.services.ingest import MAX_BATCH, call_batch_create, call_create
from calls.services.media import (
    OpenRecording,
    consultation_check,
    consultation_record,
    recording_access_log,
    recording_attach,
    recording_check_upload,
    recording_open,
    recording_too_large_error,
    transcript_read,
    transcript_set,
)
from calls.services.retention.deletion import (
    CALL_DELETED_EVENT,
    DeletionBlocker,
    DeletionResult,
    call_delete,
    call_deletion_blockers,
    call_personal_fields_register,
    calls_delete,
    calls_history_redact,
    deletion_blocked_error,
    file_deletion_run,
    file_deletion_schedule,
)
from calls.services.retention.rules import (
    RULE_FIELDS,
    SweepReport,
    retention_rule_create,
    retention_rule_delete,
    retention_rule_update,
    retention_sweep,
)

__all__ = [
    "CALL_DELETED_EVENT",
    "MAX_BATCH",
    "RULE_FIELDS",
    "DeletionBlocker",
    "DeletionResult",
    "OpenRecording",
    "SweepReport",
    "call_batch_create",
    "call_create",
    "call_delete",
    "call_deletion_blockers",
    "call_personal_fields_register",
    "calls_delete",
    "calls_history_redact",
    "consultation_check",
    "consultation_record",
    "deletion_blocked_error",
    "file_deletion_run",
    "file_deletion_schedule",
    "recording_access_log",
    "recording_attach",
    "recording_check_upload",
    "recording_open",
    "recording_too_large_error",
    "retention_rule_create",
    "retention_rule_delete",
    "retention_rule_update",
    "retention_sweep",
    "transcript_read",
    "transcript_set",
]
