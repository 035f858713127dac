"""Data-subject requests (Art. 15–21), their clock, timeline, packages and rectifications.

The subject's numbers live in a child table (``RequestSubjectNumber``), not on the request row:
lookups by number are one indexed query, and once a request is closed the erasure work can
delete those rows (and their history) and keep only a pseudonymous tombstone, without touching
the request's own record of what happened.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from calls.models import ErasureGround
from portal.audit import audit_history
from portal.models import TenantOwnedModel


class RequestKind(models.TextChoices):
    ACCESS = "access", "Access (Art. 15)"
    ERASURE = "erasure", "Erasure (Art. 17)"
    RECTIFICATION = "rectification", "Rectification (Art. 16)"
    RESTRICTION = "restriction", "Restriction of processing (Art. 18)"
    PORTABILITY = "portability", "Data portability (Art. 20)"
    OBJECTION = "objection", "Objection (Art. 21)"


class RequestChannel(models.TextChoices):
    API = "api", "API"
    DASHBOARD = "dashboard", "Dashboard"
    ADMIN = "admin", "Admin (entered by staff on the tenant's instruction)"
    DIRECT_TO_PROCESSOR = "direct_to_processor", "Sent to the platform directly"


class RequestStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    VERIFYING = "verifying", "Verifying identity"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    PARTIALLY_COMPLETED = "partially_completed", "Partially completed"


OPEN_STATUSES = (
    RequestStatus.RECEIVED,
    RequestStatus.VERIFYING,
    RequestStatus.IN_REVIEW,
    RequestStatus.APPROVED,
    RequestStatus.PROCESSING,
)
CLOSED_STATUSES = (
    RequestStatus.REJECTED,
    RequestStatus.COMPLETED,
    RequestStatus.PARTIALLY_COMPLETED,
)
# Kinds answered with a package of the subject's data.
PACKAGE_KINDS = (RequestKind.ACCESS, RequestKind.PORTABILITY)


class VerificationMethod(models.TextChoices):
    """How identity was checked. Never a copy of a document (Art. 5(1)(c), Art. 12(6))."""

    CALLBACK = "callback", "Called the subject back on the number"
    CALL_DETAILS = "call_details", "Subject confirmed details of their calls"
    DOCUMENT_SIGHTED = "document_sighted", "Identity document sighted (no copy kept)"
    EMAIL_CONFIRMATION = "email_confirmation", "Confirmed from a known email address"
    TENANT_VOUCHED = "tenant_vouched", "The tenant vouched for the subject's identity"
    OTHER = "other", "Other (described in the note)"


class RejectionGround(models.TextChoices):
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded", "Manifestly unfounded (Art. 12(5))"
    EXCESSIVE = "excessive", "Excessive, in particular repetitive (Art. 12(5))"
    IDENTITY_NOT_ESTABLISHED = "identity_not_established", "Identity not established (Art. 12(2))"
    EXEMPTION = "exemption", "An exemption applies (e.g. Art. 17(3), Art. 23)"
    OTHER = "other", "Other (given in the reasons)"


class DataSubjectRequest(TenantOwnedModel):
    kind = models.CharField(max_length=16, choices=RequestKind.choices)
    channel = models.CharField(max_length=24, choices=RequestChannel.choices)
    status = models.CharField(
        max_length=24, choices=RequestStatus.choices, default=RequestStatus.RECEIVED
    )
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    details = models.TextField(blank=True, help_text="What the subject asked for, in their words.")

    # The clock (dsr/services/deadlines.py): due_at is the first period, extended_due_at the
    # extended one; effective_due_at is whichever applies, kept for fast "overdue" queries.
    received_at = models.DateTimeField()
    due_at = models.DateTimeField()
    extended_due_at = models.DateTimeField(null=True, blank=True)
    extension_months = models.PositiveSmallIntegerField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    extended_at = models.DateTimeField(null=True, blank=True)
    extended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    effective_due_at = models.DateTimeField(db_index=True)
    clock_paused_at = models.DateTimeField(
        null=True, blank=True, help_text="Set while the clock is stopped."
    )

    # Intake, and the tenant's confirmation of a request sent to the platform directly.
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_by_api_key = models.ForeignKey(
        "portal.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    forwarded_at = models.DateTimeField(
        null=True, blank=True, help_text="When a direct request was passed on to the tenant."
    )
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the tenant (the controller) took the request on."
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_requests",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)

    # Identity verification: how, by whom, when. Never a copy of an ID document.
    verification_started_at = models.DateTimeField(null=True, blank=True)
    verification_method = models.CharField(
        max_length=24, choices=VerificationMethod.choices, blank=True
    )
    verification_note = models.TextField(blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    # The decision and the rules it was taken under.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reasons = models.TextField(blank=True)
    rejection_ground = models.CharField(max_length=32, choices=RejectionGround.choices, blank=True)
    approved_by_policy = models.BooleanField(
        default=False, help_text="Approved by the tenant's automation policy, not by a person."
    )
    policy_snapshot = models.JSONField(
        default=dict,
        blank=True,
        help_text="The tenant's retention rules and automation policy when the request was "
        "decided: a later change of policy does not change a decided request.",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    processing_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(
        blank=True, help_text="What was done; for a partial completion, what was not and why."
    )

    # Restriction (Art. 18(3)): the subject is told before a restriction is lifted.
    restriction_lift_notified_at = models.DateTimeField(null=True, blank=True)
    restriction_lifted_at = models.DateTimeField(null=True, blank=True)

    reminders_sent = models.JSONField(
        default=list, blank=True, help_text="Reminder keys already sent (kind:due date)."
    )
    status_changed_at = models.DateTimeField(default=now)
    created_at = models.DateTimeField(default=now, editable=False)

    history = audit_history()

    class Meta:
        ordering = ["effective_due_at", "id"]
        verbose_name = "data-subject request"
        permissions = [
            ("verify_request", "Can record identity verification and pause the clock"),
            ("assign_request", "Can assign data-subject requests"),
            ("decide_request", "Can approve, reject, extend and complete data-subject requests"),
            ("approve_erasure", "Can approve erasure requests"),
        ]
        indexes = [
            models.Index(fields=["status", "effective_due_at"], name="dsr_status_due"),
            models.Index(fields=["tenant", "status", "effective_due_at"], name="dsr_tenant_due"),
            models.Index(fields=["tenant", "received_at"], name="dsr_tenant_received"),
        ]

    def __str__(self) -> str:
        return f"Request #{self.pk} ({self.kind})"

    @property
    def numbers(self) -> list[str]:
        return [row.number for row in self.subject_numbers.all()]

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    def is_overdue(self, at: datetime | None = None) -> bool:
        if self.is_closed or self.clock_paused_at is not None:
            return False
        return (at or now()) > self.effective_due_at


class RequestSubjectNumber(TenantOwnedModel):
    """One of the subject's phone numbers (E.164). Removed when the request is tombstoned."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="subject_numbers"
    )
    number = models.CharField(max_length=20, help_text="E.164")

    history = audit_history()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "number"], name="dsr_number_unique")
        ]
        indexes = [models.Index(fields=["number", "tenant"], name="dsr_number_lookup")]

    def __str__(self) -> str:
        return f"Number of request #{self.request_id}"


class RequestClockPause(TenantOwnedModel):
    """The clock stopped while waiting for the subject (e.g. identity information)."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="pauses")
    started_at = models.DateTimeField(default=now)
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = audit_history()

    class Meta:
        ordering = ["started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(ended_at__isnull=True),
                name="dsr_one_open_pause",
            )
        ]

    def __str__(self) -> str:
        return f"Clock paused {self.started_at:%Y-%m-%d}"


class RequestEvent(TenantOwnedModel):
    """The request's timeline, as the DPO and the tenant read it. Append-only."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=now)
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=150, blank=True)
    note = models.TextField(blank=True)

    history = audit_history()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} at {self.at:%Y-%m-%d %H:%M}"


class SubjectNotice(TenantOwnedModel):
    """What the subject was told, and when (extension, refusal, lifting a restriction)."""

    class Kind(models.TextChoices):
        EXTENSION = "extension", "Extension of the deadline (Art. 12(3))"
        REFUSAL = "refusal", "Refusal, with the right to complain (Art. 12(4))"
        RESTRICTION_LIFT = "restriction_lift", "Restriction to be lifted (Art. 18(3))"

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="notices"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.TextField()
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    emailed_at = models.DateTimeField(
        null=True, blank=True, help_text="Sent to the subject's email address, when known."
    )

    history = audit_history()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} notice"


def package_key(instance: AccessPackage, filename: str) -> str:
    """Tenant-prefixed random key: no number or name of the subject in any path."""
    return f"tenants/{instance.tenant_id}/packages/{uuid.uuid4().hex}.zip"


class AccessPackage(TenantOwnedModel):
    """The ZIP answering an access or portability request, downloadable until it expires."""

    class Status(models.TextChoices):
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired (deleted)"

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.PROTECT, related_name="packages"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BUILDING)
    file = models.FileField(upload_to=package_key, max_length=255, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    contents = models.JSONField(
        default=dict, blank=True, help_text="Counts of what the package holds, and what is missing."
    )
    error = models.TextField(blank=True)
    build_token = models.CharField(
        max_length=64, blank=True, help_text="The task building it (a redelivered task resumes)."
    )
    created_at = models.DateTimeField(default=now, editable=False)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    history = audit_history()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="dsr_package_expiry")]

    def __str__(self) -> str:
        return f"Package of request #{self.request_id} ({self.status})"

    def is_downloadable(self, at: datetime | None = None) -> bool:
        return (
            self.status == self.Status.READY
            and bool(self.file)
            and (self.expires_at is None or self.expires_at > (at or now()))
        )


class PackageDownload(TenantOwnedModel):
    """Each download of a package: who, when, from where."""

    package = models.ForeignKey(AccessPackage, on_delete=models.CASCADE, related_name="downloads")
    downloaded_at = models.DateTimeField(default=now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "portal.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    history = audit_history()

    class Meta:
        ordering = ["-downloaded_at"]

    def __str__(self) -> str:
        return f"Download of package {self.package_id}"


class CallRectification(TenantOwnedModel):
    """A correction or supplementary statement added to a call record (Art. 16).

    The recording is what was said and is not altered; the statement travels with the call
    (in access packages, and to recipients by the Art. 19 webhook).
    """

    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="rectifications")
    request = models.ForeignKey(
        DataSubjectRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    statement = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now, editable=False)

    history = audit_history()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Rectification of call {self.call_id}"


# ---------------------------------------------------------------------------------------------
# Erasure (Art. 17)


class ErasureItem(TenantOwnedModel):
    """One thing an erasure request erases or defers, with why and when.

    ``object_id`` names the object in its own table (a call, a subject number row of the
    request, a hold's number row, another request); the item stays after the object is gone:
    it is the request's record of what was erased.
    """

    class Kind(models.TextChoices):
        CALL = "call", "Call (recording, transcript, access log, statements)"
        NUMBER = "number", "Subject number (consent ledger, restrictions, SMS notices)"
        HOLD_NUMBER = "hold_number", "A legal hold's copy of the number"
        REQUEST = "request", "Another request of the subject (its copy of the data)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ERASED = "erased", "Erased"
        DEFERRED = "deferred", "Deferred"

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.PROTECT, related_name="erasure_items"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField()
    label = models.CharField(max_length=200, help_text="What it is, without personal data.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    blocker = models.CharField(
        max_length=24, blank=True, help_text="Why it is deferred (legal_hold, min_retention, …)."
    )
    reason = models.TextField(blank=True, help_text="The explanation the tenant can pass on.")
    legal_ground = models.CharField(max_length=12, choices=ErasureGround.choices, blank=True)
    release_expected_at = models.DateTimeField(null=True, blank=True)
    holds = models.JSONField(
        default=list, blank=True, help_text="Ids of the legal holds that keep it (when held)."
    )
    discovered_at = models.DateTimeField(default=now)
    deferred_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    step = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The erasure run that erased it (1 at approval, then 2…)."
    )
    counts = models.JSONField(default=dict, blank=True, help_text="Rows and files erased, by kind.")
    storage_key_hashes = models.JSONField(
        default=list, blank=True, help_text="SHA-256 of each storage key removed (every version)."
    )
    file_deletions = models.JSONField(
        default=list, blank=True, help_text="Ids of the file removals (calls.FileDeletion)."
    )
    announced_at = models.DateTimeField(
        null=True, blank=True, help_text="When recipients were told (Art. 19 webhook)."
    )

    history = audit_history()

    class Meta:
        ordering = ["kind", "object_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "kind", "object_id"], name="erasure_item_unique"
            )
        ]
        indexes = [
            models.Index(fields=["status", "request"], name="erasure_item_status"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.status})"


class ErasureRun(TenantOwnedModel):
    """The erasure work of one request: progress (for resuming), and the residual-data scan."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        RESIDUAL_DATA = "residual_data", "Blocked: residual data found"
        WAITING = "waiting", "Waiting for deferred items"
        DONE = "done", "Done"

    request = models.OneToOneField(
        DataSubjectRequest, on_delete=models.PROTECT, related_name="erasure_run"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(default=now)
    progress_at = models.DateTimeField(
        default=now, help_text="Last sign of life of the work (a stalled run is resumed)."
    )
    attempts = models.PositiveIntegerField(default=0, help_text="Times the work was started.")
    steps = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    scan_at = models.DateTimeField(null=True, blank=True)
    scan_clean = models.BooleanField(null=True, blank=True)
    scan_findings = models.JSONField(
        default=list, blank=True, help_text="Rows and objects still holding the numbers."
    )
    scan_summary = models.JSONField(default=dict, blank=True)

    history = audit_history()

    class Meta:
        indexes = [models.Index(fields=["state", "progress_at"], name="erasure_run_progress")]

    def __str__(self) -> str:
        return f"Erasure of request #{self.request_id} ({self.state})"


class ErasureCertificate(TenantOwnedModel):
    """A version of the request's erasure certificate, as issued (its SHA-256 is recorded in the
    request's timeline and history)."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.PROTECT, related_name="erasure_certificates"
    )
    version = models.PositiveSmallIntegerField()
    issued_at = models.DateTimeField(default=now)
    content = models.JSONField()
    sha256 = models.CharField(max_length=64)

    history = audit_history()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["request", "version"], name="certificate_version")
        ]

    def __str__(self) -> str:
        return f"Erasure certificate v{self.version} of request #{self.request_id}"


class Tombstone(TenantOwnedModel):
    """Proof that a number was erased, without the number: a keyed hash (HMAC-SHA256 with
    TOMBSTONE_KEY, ``portal.redaction.number_fingerprint``). Recognises the number again after a
    backup restore (``reapply_erasures``)."""

    fingerprint = models.CharField(max_length=64)
    request = models.ForeignKey(
        DataSubjectRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tombstones",
    )
    request_ref = models.PositiveBigIntegerField(
        help_text="The request's id, kept even where the request row is missing (a restore)."
    )
    erased_at = models.DateTimeField(default=now)

    history = audit_history()

    class Meta:
        ordering = ["erased_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "fingerprint", "request_ref"], name="tombstone_unique"
            )
        ]
        indexes = [models.Index(fields=["tenant", "fingerprint"], name="tombstone_lookup")]

    def __str__(self) -> str:
        return f"Tombstone {self.fingerprint[:12]}… (request #{self.request_ref})"
