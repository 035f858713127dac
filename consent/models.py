"""Purposes, privacy-notice versions, the append-only consent ledger and its current state."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import models, transaction
from django.utils.timezone import now

from portal.audit import audit_history
from portal.errors import BusinessRuleError
from portal.models import TenantOwnedModel, TenantQuerySet


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
    special_category = models.BooleanField(
        default=False,
        help_text="Processes special categories of data (Art. 9, e.g. health details): needs "
        "explicit consent or another Art. 9(2) ground.",
    )
    direct_marketing = models.BooleanField(
        default=False,
        help_text="Direct marketing: an objection always stops it, whatever the basis "
        "(Art. 21(2)-(3)).",
    )
    compelling_grounds = models.TextField(
        blank=True,
        help_text="Compelling legitimate grounds that override an objection to processing on "
        "public task or legitimate interests (Art. 21(1)); empty: an objection stops it.",
    )
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


class AppendOnlyLedgerError(BusinessRuleError):
    """Raised on any attempt to change or delete a consent event outside an erasure."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "The consent ledger is append-only: record a new event (a withdrawal is a new "
            "event) instead of changing or deleting one. Only erasure under a data-subject "
            "request removes events.",
            code="append_only",
            status_code=409,
        )


# The data-subject request an erasure of ledger events runs under (None: no erasure running).
_erasure_request: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "consent_ledger_erasure", default=None
)


@contextlib.contextmanager
def ledger_erasure(*, request_id: int) -> Iterator[None]:
    """The one escape hatch from the ledger's append-only rule: erasure under a request.

    Inside this block ``ConsentEvent`` rows may be deleted (never updated). Prefer
    ``ConsentEvent.objects.erase_for_request``, which uses it.
    """
    if not request_id:
        raise BusinessRuleError("Ledger erasure needs the data-subject request it runs under.")
    token = _erasure_request.set(request_id)
    try:
        yield
    finally:
        _erasure_request.reset(token)


def _refuse_unless_erasing() -> None:
    if _erasure_request.get() is None:
        raise AppendOnlyLedgerError()


class ConsentEventQuerySet(TenantQuerySet):
    """The ledger's queryset: bulk ``update()`` is refused, ``delete()`` only under erasure."""

    def update(self, **kwargs):
        raise AppendOnlyLedgerError()

    def delete(self):
        _refuse_unless_erasing()
        return super().delete()

    def erase_for_request(self, *, tenant_id: int, numbers: Iterable[str], request_id: int) -> int:
        """Delete every event (and so the current state) of ``numbers`` (E.164) in a tenant.

        Called by the erasure of a data-subject request (Art. 17). The events' historical rows
        are left to that erasure, which redacts history for every model alike.
        """
        numbers = list(numbers)
        with ledger_erasure(request_id=request_id), transaction.atomic():
            events = self.model.objects.filter(tenant_id=tenant_id, number__in=numbers)
            count = events.count()
            events.delete()
        return count


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
        SIGNED_DOCUMENT = "signed_document", "Signed document"
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
    # The call keeps its id here even after the call itself is erased or expires: the ledger
    # is evidence and is not rewritten when a call goes (no database constraint, no SET NULL).
    evidence_call = models.ForeignKey(
        "calls.Call",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    evidence_message_id = models.CharField(max_length=128, blank=True)
    evidence_document = models.CharField(max_length=255, blank=True)
    notice = models.ForeignKey(
        PrivacyNotice, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=now, editable=False)
    source = models.CharField(max_length=10, choices=Source.choices)
    # Who recorded it stays provable: a user or key that recorded consent cannot be deleted
    # (deactivate the user, revoke the key).
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_by_api_key = models.ForeignKey(
        "portal.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ConsentEventQuerySet.as_manager()
    history = audit_history()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "number", "occurred_at"], name="consent_ev_number"),
            models.Index(fields=["tenant", "purpose", "occurred_at"], name="consent_ev_purpose"),
            # The admin searches the ledger by number across the tenants a user may see.
            models.Index(fields=["number"], name="consent_ev_e164"),
            # The dashboard's ledger: a tenant's newest events first, read a page at a time.
            models.Index(fields=["tenant", "-occurred_at", "-id"], name="consent_ev_recent"),
            # The DPO's queue of tenants holding announcement-only "consent" (Art. 4(11)): few.
            models.Index(
                fields=["tenant"],
                condition=models.Q(method="ivr_announcement", lawful_basis="consent"),
                name="consent_ev_announcement",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.purpose_id} {self.occurred_at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyLedgerError()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse_unless_erasing()
        return super().delete(*args, **kwargs)


class ConsentState(TenantOwnedModel):
    """Current state per (tenant, number, purpose): the consent check is one indexed lookup.

    Written in the same transaction as each ledger event.
    """

    number = models.CharField(max_length=20)
    purpose = models.ForeignKey(Purpose, on_delete=models.CASCADE, related_name="states")
    # Denormalised (purpose codes never change) so that the check is keyed by what it is asked.
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
        indexes = [
            # Consent rate per purpose (tenant admin page): an index-only scan.
            models.Index(fields=["tenant", "purpose_code", "allowed"], name="consent_state_rate"),
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


class SmsNotice(TenantOwnedModel):
    """An SMS consent notice sent to a subject: the evidence behind ``sms_notice`` consent.

    Sending a notice records no consent by itself (silence is not consent, Recital 32): the
    subject's answer is recorded afterwards as a ``sms_notice`` event naming ``message_id``.
    """

    number = models.CharField(max_length=20, help_text="E.164")
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    notice = models.ForeignKey(PrivacyNotice, on_delete=models.PROTECT, related_name="+")
    message_id = models.CharField(max_length=128)
    text = models.TextField()
    sent_at = models.DateTimeField(default=now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sent_by_api_key = models.ForeignKey(
        "portal.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = audit_history()

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = "SMS consent notice"
        indexes = [models.Index(fields=["tenant", "message_id"], name="sms_notice_message")]

    def __str__(self) -> str:
        return f"SMS notice {self.message_id}"


class Suppression(TenantOwnedModel):
    """A withdrawal, objection or restriction that outlives the erasure of its number.

    Keyed by the number's tombstone (``portal.redaction.number_fingerprint``, a keyed hash),
    never the number: pseudonymised personal data (Art. 4(5)) kept only so that an erased
    subject who withdrew, objected or restricted stays so (Art. 17(3)(b) with Art. 21 and 7(3),
    and the subject's own interest). Written by the erasure through
    ``consent.services.suppression_record``; the consent check and the purpose gate read it.
    """

    class Kind(models.TextChoices):
        WITHDRAWAL = "withdrawal", "Consent withdrawn (Art. 7(3))"
        OBJECTION = "objection", "Objection (Art. 21)"
        RESTRICTION = "restriction", "Restriction of processing (Art. 18)"

    fingerprint = models.CharField(max_length=64, help_text="Keyed hash of the number.")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # A withdrawal is of one purpose; an objection or a restriction covers every purpose.
    purpose_code = models.SlugField(max_length=64, blank=True)
    since = models.DateTimeField(help_text="When it took effect.")
    request_ref = models.PositiveBigIntegerField(
        help_text="The erasure request that kept it (the number itself is gone)."
    )
    recorded_at = models.DateTimeField(default=now, editable=False)

    history = audit_history()

    class Meta:
        ordering = ["-since"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "fingerprint", "kind", "purpose_code"],
                name="suppression_unique",
            )
        ]

    def __str__(self) -> str:
        what = f" of {self.purpose_code}" if self.purpose_code else ""
        return f"{self.get_kind_display()}{what} since {self.since:%Y-%m-%d}"


class InboundSms(TenantOwnedModel):
    """An SMS a subject sent to the tenant's number, as its SMS provider passed it on.

    Kept as the evidence of a withdrawal by "STOP" (Art. 7(1), 7(3)); other replies are kept as
    received and ignored. One row per provider message id: a retried webhook changes nothing.
    """

    class Outcome(models.TextChoices):
        WITHDRAWN = "withdrawn", "STOP: consents given by SMS withdrawn"
        IGNORED = "ignored", "Not a STOP: logged and ignored"

    message_id = models.CharField(max_length=128)
    number = models.CharField(max_length=20, help_text="E.164")
    text = models.TextField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    withdrawn = models.JSONField(default=list, blank=True, help_text="Purposes withdrawn.")
    received_at = models.DateTimeField(default=now)
    api_key = models.ForeignKey(
        "portal.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = audit_history()

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "inbound SMS"
        verbose_name_plural = "inbound SMS"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "message_id"], name="inbound_sms_unique")
        ]
        indexes = [models.Index(fields=["tenant", "number"], name="inbound_sms_number")]

    def __str__(self) -> str:
        return f"Inbound SMS {self.message_id}"
