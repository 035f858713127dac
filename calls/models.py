"""Calls, their recordings and transcripts, the recording-access log, and retention rules."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.timezone import now

from portal.audit import audit_history
from portal.models import TenantOwnedModel
from portal.validators import period_days_validate

CATEGORY_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]*$", "Use lower-case letters, digits, '_' and '-', e.g. complaint."
)


def recording_key(instance: Recording, filename: str) -> str:
    """A tenant-prefixed random object key: never a phone number or a name in any path."""
    return f"tenants/{instance.tenant_id}/recordings/{uuid.uuid4().hex}"


class Call(TenantOwnedModel):
    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    external_id = models.CharField(max_length=128, help_text="The integrator's id for the call.")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    caller = models.CharField(max_length=20, help_text="E.164")
    callee = models.CharField(max_length=20, help_text="E.164")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    purposes = models.ManyToManyField("consent.Purpose", related_name="calls", blank=True)
    category = models.CharField(
        max_length=50,
        blank=True,
        validators=[CATEGORY_VALIDATOR],
        help_text="Retention category, e.g. complaint, sales.",
    )
    gate_flags = models.JSONField(
        default=list,
        blank=True,
        help_text="Purposes that had no valid lawful basis at ingest (purpose gate in flag mode).",
    )
    informed_by = models.JSONField(
        null=True,
        blank=True,
        help_text="How the caller was informed (Art. 13): method, notice_version, evidence.",
    )
    is_restricted = models.BooleanField(
        default=False, help_text="Restriction of processing (Art. 18): stored only."
    )
    created_at = models.DateTimeField(default=now, editable=False)

    history = audit_history(m2m_fields=[purposes])

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"], name="call_unique_external_id"
            )
        ]
        permissions = [
            ("consult_recording", "Can play recordings and read transcripts (logged)"),
        ]
        indexes = [
            models.Index(fields=["tenant", "caller"], name="call_tenant_caller"),
            models.Index(fields=["tenant", "callee"], name="call_tenant_callee"),
            models.Index(fields=["tenant", "started_at"], name="call_tenant_started"),
            models.Index(fields=["tenant", "category", "started_at"], name="call_tenant_category"),
            # The dashboard's "flagged" and "restricted" lists: small partial indexes, so that a
            # rare subset is found without reading the tenant's whole table.
            models.Index(
                fields=["tenant", "started_at"],
                condition=~models.Q(gate_flags=[]),
                name="call_tenant_gate_flagged",
            ),
            models.Index(
                fields=["tenant", "started_at"],
                condition=models.Q(is_restricted=True),
                name="call_tenant_restricted",
            ),
        ]

    def __str__(self) -> str:
        return f"Call {self.external_id}"

    @property
    def subject_number(self) -> str:
        """The data subject's number: the caller of an inbound call, the callee of an outbound."""
        return self.caller if self.direction == self.Direction.INBOUND else self.callee


class Recording(TenantOwnedModel):
    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="recording")
    file = models.FileField(upload_to=recording_key, max_length=255)
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveBigIntegerField()
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=now, editable=False)

    history = audit_history()

    def __str__(self) -> str:
        return f"Recording of call {self.call_id}"


class Transcript(TenantOwnedModel):
    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="transcript")
    language = models.CharField(max_length=16, help_text="BCP 47 language tag, e.g. de-DE.")
    text = models.TextField()
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(default=now)

    history = audit_history()

    def __str__(self) -> str:
        return f"Transcript of call {self.call_id} ({self.language})"


class RecordingAccess(TenantOwnedModel):
    """Every consultation of a recording or transcript: who, when, what, how, why, from where."""

    class What(models.TextChoices):
        RECORDING = "recording", "Recording"
        TRANSCRIPT = "transcript", "Transcript"

    class How(models.TextChoices):
        PLAYBACK = "playback", "Playback"
        DOWNLOAD = "download", "Download"
        EXPORT = "export", "Export"

    call = models.ForeignKey(Call, null=True, on_delete=models.SET_NULL, related_name="accesses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "portal.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accessed_at = models.DateTimeField(default=now)
    what = models.CharField(max_length=10, choices=What.choices)
    how = models.CharField(max_length=10, choices=How.choices)
    purpose = models.CharField(max_length=255, help_text="Why the recording was consulted.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    history = audit_history()

    class Meta:
        ordering = ["-accessed_at"]
        verbose_name_plural = "recording accesses"
        indexes = [models.Index(fields=["tenant", "accessed_at"], name="rec_access_tenant_time")]

    def __str__(self) -> str:
        return f"{self.how} of {self.what} (call {self.call_id})"


class ErasureGround(models.TextChoices):
    """The exceptions of Art. 17(3) that let data be kept despite an erasure request."""

    EXPRESSION = "art_17_3_a", "Art. 17(3)(a): freedom of expression and information"
    LEGAL_OBLIGATION = "art_17_3_b", "Art. 17(3)(b): compliance with a legal obligation"
    PUBLIC_HEALTH = "art_17_3_c", "Art. 17(3)(c): public interest in public health"
    ARCHIVING = "art_17_3_d", "Art. 17(3)(d): archiving, research or statistics"
    LEGAL_CLAIMS = "art_17_3_e", "Art. 17(3)(e): establishment, exercise or defence of legal claims"


class RetentionRule(TenantOwnedModel):
    """Per tenant and category: storage limitation (max) and a legal obligation to keep (min)."""

    category = models.CharField(max_length=50, validators=[CATEGORY_VALIDATOR])
    max_age_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Erase calls older than this (Art. 5(1)(e))."
    )
    min_age_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Keep calls at least this long (a legal obligation, Art. 17(3)(b)/(e)).",
    )
    legal_ground = models.CharField(
        max_length=12,
        choices=ErasureGround.choices,
        blank=True,
        help_text="The Art. 17(3) exception the minimum rests on: art_17_3_b for a legal "
        "obligation to keep (commercial, tax or telecom law), art_17_3_e for legal claims "
        "(a limitation period). Required with a minimum.",
    )
    legal_reference = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now, editable=False)

    history = audit_history()

    class Meta:
        ordering = ["category"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "category"], name="retention_unique_category")
        ]

    def __str__(self) -> str:
        return f"{self.category}: keep ≥{self.min_age_days or 0}d, ≤{self.max_age_days or '∞'}d"

    def clean(self) -> None:
        errors = {}
        for name in ("max_age_days", "min_age_days"):
            try:
                period_days_validate(getattr(self, name))
            except ValidationError as exc:
                errors[name] = exc.messages
        if self.max_age_days is not None and self.max_age_days < 1:
            errors["max_age_days"] = "Keep calls at least one day, or leave it empty (no maximum)."
        if (
            self.min_age_days is not None
            and self.max_age_days is not None
            and self.min_age_days > self.max_age_days
        ):
            errors["min_age_days"] = "The minimum cannot be longer than the maximum."
        if self.min_age_days and not self.legal_ground:
            # A minimum keeps data despite an erasure request: only on an Art. 17(3) ground.
            errors["legal_ground"] = (
                "Name the Art. 17(3) ground behind the minimum: art_17_3_b (a legal obligation "
                "to keep) or art_17_3_e (legal claims, e.g. a limitation period)."
            )
        if self.min_age_days and not (self.legal_reference or "").strip():
            # Say which law: the statute or the limitation period behind the minimum.
            errors["legal_reference"] = (
                "Name the law behind the minimum (the obligation or the limitation period)."
            )
        if errors:
            raise ValidationError(errors)


class FileDeletion(TenantOwnedModel):
    """A file to be removed from storage once the transaction that dropped its row commits.

    Written in the same transaction as the deletion of the row, so a file is never forgotten:
    if storage is down when the transaction commits, the periodic retry removes it later. The
    completed row is the evidence that the file (every version of it) is gone.
    """

    storage_key = models.CharField(max_length=255)
    reason = models.CharField(max_length=255)
    requested_at = models.DateTimeField(default=now)
    completed_at = models.DateTimeField(null=True, blank=True)
    versions_removed = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    history = audit_history()

    class Meta:
        ordering = ["-requested_at"]
        indexes = [
            models.Index(
                fields=["requested_at"],
                condition=models.Q(completed_at__isnull=True),
                name="file_deletion_pending",
            )
        ]

    def __str__(self) -> str:
        return f"Delete {self.storage_key}"


# ---------------------------------------------------------------------------------------------
# Legal holds (Art. 17(3))


class LegalHold(TenantOwnedModel):
    """Data that must be kept whatever else asks for its deletion, until released or expired.

    The scope is one of: specific calls (``call_links``), every call with one of a subject's
    numbers (``numbers``, including calls that arrive later), or every call of the tenant that
    started in a period. ``calls.services.retention.holds`` answers whether a call is held at a
    moment; ``calls.services.retention.deletion.call_deletion_blockers`` asks it before any
    deletion.
    """

    class Category(models.TextChoices):
        LITIGATION = "litigation", "Litigation"
        STATUTE_OF_LIMITATIONS = "statute_of_limitations", "Statute of limitations"
        REGULATOR = "regulator", "Regulator's request or order"
        OTHER = "other", "Other (the ground is named)"

    class Scope(models.TextChoices):
        CALLS = "calls", "Specific calls"
        NUMBERS = "numbers", "Every call with a subject's numbers"
        PERIOD = "period", "The tenant's calls in a period"

    reason_category = models.CharField(max_length=24, choices=Category.choices)
    legal_ground = models.CharField(
        max_length=12,
        choices=ErasureGround.choices,
        help_text="The Art. 17(3) exception the hold relies on.",
    )
    reason = models.TextField(
        help_text="Why the data is kept (case, authority, claim). Name no phone numbers here: "
        "use the numbers scope."
    )
    scope = models.CharField(max_length=8, choices=Scope.choices)
    period_from = models.DateTimeField(null=True, blank=True)
    period_to = models.DateTimeField(null=True, blank=True, help_text="Empty: no end.")
    starts_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until released.")
    applied_at = models.DateTimeField(default=now, editable=False)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    applied_by_api_key = models.ForeignKey(
        "portal.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_by_api_key = models.ForeignKey(
        "portal.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    release_reason = models.TextField(blank=True)

    history = audit_history(table_name="dsr_historicallegalhold")

    class Meta:
        db_table = "dsr_legalhold"  # the table kept its name when holds moved from dsr
        ordering = ["-applied_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "released_at", "expires_at"], name="hold_tenant_state"),
            models.Index(fields=["released_at", "expires_at"], name="hold_state"),
        ]

    def __str__(self) -> str:
        return f"Legal hold #{self.pk} ({self.get_reason_category_display().lower()})"

    def is_active(self, at: datetime | None = None) -> bool:
        at = at or now()
        return (
            self.starts_at <= at
            and (self.expires_at is None or self.expires_at > at)
            and (self.released_at is None or self.released_at > at)
        )

    def state(self, at: datetime | None = None) -> str:
        at = at or now()
        if self.released_at is not None and self.released_at <= at:
            return "released"
        if self.expires_at is not None and self.expires_at <= at:
            return "expired"
        if self.starts_at > at:
            return "scheduled"
        return "active"

    @property
    def explanation(self) -> str:
        """Why a held item is kept, as the tenant can pass it on to the subject."""
        text = (
            f"Kept under legal hold #{self.pk} ({self.get_reason_category_display().lower()}): "
            f"{self.reason.strip()} — {self.get_legal_ground_display()}"
        )
        if self.expires_at:
            text += f"; the hold ends on {self.expires_at:%Y-%m-%d} unless extended"
        else:
            text += "; the hold has no end date and lasts until it is released"
        return text + "."


class LegalHoldCall(TenantOwnedModel):
    """A call named by a hold. Keeps the call's id after the call itself is erased (no database
    constraint), so the hold still shows what it covered."""

    hold = models.ForeignKey(LegalHold, on_delete=models.CASCADE, related_name="call_links")
    call = models.ForeignKey(
        "calls.Call",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )

    history = audit_history(table_name="dsr_historicallegalholdcall")

    class Meta:
        db_table = "dsr_legalholdcall"  # the table kept its name when holds moved from dsr
        constraints = [
            models.UniqueConstraint(fields=["hold", "call"], name="hold_call_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "call"], name="hold_call_lookup")]

    def __str__(self) -> str:
        return f"Call {self.call_id} under hold #{self.hold_id}"


class LegalHoldNumber(TenantOwnedModel):
    """A subject's number (E.164) named by a hold. Erased once the hold ends and the subject's
    erasure reaches it."""

    hold = models.ForeignKey(LegalHold, on_delete=models.CASCADE, related_name="numbers")
    number = models.CharField(max_length=20, help_text="E.164")

    history = audit_history(table_name="dsr_historicallegalholdnumber")

    class Meta:
        db_table = "dsr_legalholdnumber"  # the table kept its name when holds moved from dsr
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["hold", "number"], name="hold_number_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "number"], name="hold_number_lookup")]

    def __str__(self) -> str:
        return f"Number under hold #{self.hold_id}"
