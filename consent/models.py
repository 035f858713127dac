"""Purposes, privacy-notice versions, the append-only consent ledger and its current state."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from portal.audit import audit_history
from portal.models import TenantOwnedModel


class LawfulBasis(models.TextChoices):
    """Art. 6(1)(a)–(f) GDPR."""

    CONSENT = "consent", "Consent — Art. 6(1)(a)"
    CONTRACT = "contract", "Contract — Art. 6(1)(b)"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation — Art. 6(1)(c)"
    VITAL_INTERESTS = "vital_interests", "Vital interests — Art. 6(1)(d)"
    PUBLIC_TASK = "public_task", "Public task — Art. 6(1)(e)"
    LEGITIMATE_INTERESTS = "legitimate_interests", "Legitimate interests — Art. 6(1)(f)"


class Purpose(TenantOwnedModel):
    """A specific purpose of processing, defined by the tenant (no catch-all purposes)."""

    code = models.SlugField(max_length=64)
    description = models.TextField(help_text="Plain-language description shown to subjects.")
    default_lawful_basis = models.CharField(
        max_length=24, choices=LawfulBasis.choices, default=LawfulBasis.CONSENT
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now, editable=False)

    history = audit_history()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="purpose_unique_code")
        ]

    def __str__(self) -> str:
        return self.code


class PrivacyNotice(TenantOwnedModel):
    """A version of the tenant's privacy notice, as shown to subjects."""

    version = models.CharField(max_length=32)
    url = models.URLField(max_length=500)
    text = models.TextField(blank=True)
    text_sha256 = models.CharField(max_length=64, blank=True)
    effective_from = models.DateTimeField()
    created_at = models.DateTimeField(default=now, editable=False)

    history = audit_history()

    class Meta:
        ordering = ["-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "version"], name="notice_unique_version")
        ]

    def __str__(self) -> str:
        return f"v{self.version}"


class ConsentEvent(TenantOwnedModel):
    """One entry of the append-only ledger (Art. 7(1): the controller must be able to prove).

    Never updated, never deleted — except by erasure under a data-subject request.
    """

    class Action(models.TextChoices):
        GIVEN = "given", "Given"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Method(models.TextChoices):
        IVR_ANNOUNCEMENT = "ivr_announcement", "IVR announcement at call start"
        IVR_KEYPRESS = "ivr_keypress", "IVR key press"
        CONTRACT_CLAUSE = "contract_clause", "Contract clause"
        SMS_NOTICE = "sms_notice", "SMS notice with policy link"
        WEB_FORM = "web_form", "Web form"
        VERBAL = "verbal", "Verbal, on the call"
        LEGAL_OBLIGATION_NOTICE = "legal_obligation_notice", "Legal obligation notice"

    class Source(models.TextChoices):
        API = "api", "API"
        DASHBOARD = "dashboard", "Dashboard"
        ADMIN = "admin", "Admin"

    number = models.CharField(max_length=20, help_text="E.164")
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="events")
    lawful_basis = models.CharField(max_length=24, choices=LawfulBasis.choices)
    action = models.CharField(max_length=10, choices=Action.choices)
    method = models.CharField(max_length=32, choices=Method.choices)
    evidence_call = models.ForeignKey(
        "calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    evidence_message_id = models.CharField(max_length=128, blank=True)
    evidence_document = models.CharField(max_length=255, blank=True)
    notice = models.ForeignKey(
        PrivacyNotice, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=now, editable=False)
    source = models.CharField(max_length=10, choices=Source.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_by_api_key = models.ForeignKey(
        "portal.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = audit_history()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "number", "occurred_at"], name="consent_ev_number"),
            models.Index(fields=["tenant", "purpose", "occurred_at"], name="consent_ev_purpose"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.purpose_id} {self.occurred_at:%Y-%m-%d}"


class ConsentState(TenantOwnedModel):
    """Current state per (tenant, number, purpose): the consent check is one indexed lookup.

    Written in the same transaction as each ledger event.
    """

    number = models.CharField(max_length=20)
    purpose = models.ForeignKey(Purpose, on_delete=models.CASCADE, related_name="+")
    purpose_code = models.SlugField(max_length=64)
    allowed = models.BooleanField()
    lawful_basis = models.CharField(max_length=24, choices=LawfulBasis.choices)
    since = models.DateTimeField()
    event = models.ForeignKey(ConsentEvent, on_delete=models.CASCADE, related_name="+")
    updated_at = models.DateTimeField(default=now)

    history = audit_history()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "number", "purpose_code"], name="consent_state_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose_code}: {'allowed' if self.allowed else 'not allowed'}"


class ProcessingRestriction(TenantOwnedModel):
    """A subject's number whose processing is restricted (Art. 18) or objected to (Art. 21).

    Restriction: the data is only stored, and the consent check never answers "allowed".
    Objection: processing on legitimate interests stops for that number.
    """

    class Kind(models.TextChoices):
        RESTRICTION = "restriction", "Restriction of processing (Art. 18)"
        OBJECTION = "objection", "Objection to legitimate-interest processing (Art. 21)"

    number = models.CharField(max_length=20, help_text="E.164")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    reason = models.TextField(blank=True)
    request_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The data-subject request that placed it."
    )
    started_at = models.DateTimeField(default=now)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_reason = models.TextField(blank=True)

    history = audit_history()

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["tenant", "number", "kind"], name="restriction_number"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} since {self.started_at:%Y-%m-%d}"
