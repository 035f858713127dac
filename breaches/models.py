"""The breach register (Art. 33(5)): incidents, what they touched per tenant, and every notice.

``BreachIncident`` is the platform's own register, not a tenant's row: an incident may touch the
data of several tenants, or of none (e.g. staff accounts). What it touched is kept per tenant in
``BreachTenantImpact`` (computed from the linked calls), and every notice — to a tenant, a
supervisory authority, data subjects or the public — is a ``BreachNotification``. Tenants see an
incident only through their own impact and their own notices.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from breaches import clock
from portal.audit import audit_history
from portal.models import ApiKey, Tenant, TenantOwnedModel, TenantQuerySet


class DataCategory(models.TextChoices):
    RECORDINGS = "recordings", "Call recordings"
    TRANSCRIPTS = "transcripts", "Transcripts"
    NUMBERS = "numbers", "Phone numbers and call metadata"
    CONSENT_RECORDS = "consent_records", "Consent records"
    ACCOUNT_DATA = "account_data", "Account data (users, staff, API keys)"
    OTHER = "other", "Other"


class RiskLevel(models.TextChoices):
    """Art. 33(1) / 34(1): unlikely to result in a risk, a risk, or a high risk."""

    UNLIKELY = "unlikely", "Unlikely to result in a risk"
    RISK = "risk", "Risk"
    HIGH = "high", "High risk"


class SubjectNoticeGround(models.TextChoices):
    """Why data subjects are not told (Art. 34(1) and 34(3))."""

    NOT_HIGH_RISK = "not_high_risk", "No high risk to subjects — Art. 34(1) does not apply"
    PROTECTED = "protected", "Data unintelligible to others (e.g. encrypted) — Art. 34(3)(a)"
    RISK_NO_LONGER_LIKELY = (
        "risk_no_longer_likely",
        "Subsequent measures: high risk no longer likely to materialise — Art. 34(3)(b)",
    )
    DISPROPORTIONATE_EFFORT = (
        "disproportionate_effort",
        "Disproportionate effort: public communication instead — Art. 34(3)(c)",
    )


class BreachIncidentQuerySet(models.QuerySet):
    """Scoping for the register.

    ``for_tenant`` is what the tenant-facing API and dashboard use: the incidents a tenant has
    been told about (a tenant notice was sent to it). ``visible_to`` is what the admin uses: the
    DPO sees the whole register, support staff the incidents touching the tenants they serve.
    """

    def for_tenant(self, tenant: Tenant | int) -> BreachIncidentQuerySet:
        notified = BreachNotification.objects.filter(
            recipient=BreachNotification.Recipient.TENANT, tenant=tenant
        ).values("incident_id")
        return self.filter(pk__in=notified)

    def affecting(self, tenant: Tenant | int) -> BreachIncidentQuerySet:
        return self.filter(pk__in=BreachTenantImpact.objects.for_tenant(tenant).values("incident"))

    def visible_to(self, principal) -> BreachIncidentQuerySet:
        from portal.access import is_dpo, visible_tenant_ids

        if is_dpo(principal):
            return self.all()
        touched = BreachTenantImpact.objects.filter(
            tenant_id__in=visible_tenant_ids(principal)
        ).values("incident_id")
        return self.filter(pk__in=touched)

    def open(self) -> BreachIncidentQuerySet:
        return self.exclude(status=BreachIncident.Status.CLOSED)


class BreachIncident(models.Model):
    """One personal-data breach, notified or not (Art. 33(5))."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ASSESSING = "assessing", "Assessing"
        CONTAINED = "contained", "Contained"
        CLOSED = "closed", "Closed"

    title = models.CharField(
        max_length=200, help_text="Shown to every affected tenant: never name a tenant here."
    )
    description = models.TextField(
        help_text="Nature of the breach (Art. 33(3)(a)). Shown to every affected tenant."
    )
    occurred_from = models.DateTimeField(null=True, blank=True)
    occurred_to = models.DateTimeField(null=True, blank=True)
    detected_at = models.DateTimeField()
    became_aware_at = models.DateTimeField(
        help_text="When the platform became aware: the 72-hour clock starts here (Art. 33(1))."
    )
    data_categories = models.JSONField(
        default=list, blank=True, help_text=f"Any of: {', '.join(DataCategory.values)}."
    )
    likely_consequences = models.TextField(blank=True, help_text="Art. 33(3)(c).")
    measures_taken = models.TextField(blank=True, help_text="Art. 33(3)(d).")
    measures_proposed = models.TextField(
        blank=True, help_text="Art. 33(3)(d), including measures to mitigate adverse effects."
    )
    dpo_contact = models.TextField(
        blank=True, help_text="Name and contact details of the DPO (Art. 33(3)(b))."
    )
    affected_calls = models.ManyToManyField(
        "calls.Call", through="BreachAffectedCall", related_name="breach_incidents", blank=True
    )

    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices, blank=True)
    risk_reasoning = models.TextField(blank=True)
    assessed_at = models.DateTimeField(null=True, blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)

    # The platform's own decisions (where it is controller, or records the controllers' view).
    authority_not_notified_reasoning = models.TextField(
        blank=True, help_text="Why the supervisory authority is not notified (Art. 33(1), (5))."
    )
    authority_decided_at = models.DateTimeField(null=True, blank=True)
    subjects_not_notified_ground = models.CharField(
        max_length=32, choices=SubjectNoticeGround.choices, blank=True
    )
    subjects_not_notified_reasoning = models.TextField(blank=True)
    subjects_decided_at = models.DateTimeField(null=True, blank=True)

    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now, editable=False)
    contained_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_note = models.TextField(blank=True)

    objects = BreachIncidentQuerySet.as_manager()
    history = audit_history()

    class Meta:
        ordering = ["-became_aware_at", "-id"]
        verbose_name = "breach incident"
        permissions = [("export_breach_register", "Can export the breach register")]
        indexes = [models.Index(fields=["status", "became_aware_at"], name="breach_status_aware")]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"BR-{self.pk:05d}" if self.pk else "BR-new"

    @property
    def deadline_at(self) -> datetime:
        """72 elapsed hours after awareness (Art. 33(1))."""
        return clock.notification_deadline(self.became_aware_at)

    @property
    def tenant_notice_due_at(self) -> datetime:
        return clock.tenant_notice_target(self.became_aware_at)

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    def category_labels(self) -> list[str]:
        labels = dict(DataCategory.choices)
        return [labels.get(value, value) for value in self.data_categories]

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not isinstance(self.data_categories, list):
            errors["data_categories"] = "Give a list of data categories."
        else:
            unknown = sorted(set(self.data_categories) - set(DataCategory.values))
            if unknown:
                errors["data_categories"] = (
                    f"Unknown data categories: {', '.join(unknown)}. "
                    f"Use: {', '.join(DataCategory.values)}."
                )
        if self.occurred_from and self.occurred_to and self.occurred_to < self.occurred_from:
            errors["occurred_to"] = "The breach cannot end before it began."
        if self.detected_at and self.became_aware_at and self.became_aware_at < self.detected_at:
            errors["became_aware_at"] = "Awareness cannot come before detection."
        if self.became_aware_at and self.became_aware_at > now() + timedelta(minutes=5):
            errors["became_aware_at"] = "Awareness cannot be in the future."
        if self.occurred_from and self.detected_at and self.occurred_from > self.detected_at:
            errors["occurred_from"] = "A breach cannot be detected before it began."
        if errors:
            raise ValidationError(errors)


class BreachAffectedCall(TenantOwnedModel):
    """A call whose data the breach touched. ``tenant`` is the call's, for per-tenant counts."""

    incident = models.ForeignKey(
        BreachIncident, on_delete=models.CASCADE, related_name="call_links"
    )
    # An erased call (DSR) takes its link with it; the counts already computed and the notices
    # already sent keep what was known then.
    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="+")
    linked_at = models.DateTimeField(default=now, editable=False)

    history = audit_history()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "call"], name="breach_call_unique")
        ]
        indexes = [models.Index(fields=["incident", "tenant"], name="breach_call_tenant")]

    def __str__(self) -> str:
        return f"{self.incident_id} ↔ call {self.call_id}"


class BreachCallScope(TenantOwnedModel):
    """A query over a tenant's calls (a time window) that was turned into linked calls."""

    incident = models.ForeignKey(BreachIncident, on_delete=models.CASCADE, related_name="scopes")
    started_from = models.DateTimeField()
    started_to = models.DateTimeField()
    calls_linked = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=now, editable=False)

    history = audit_history()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.tenant} calls {self.started_from:%Y-%m-%d %H:%M}–{self.started_to:%H:%M}"


class BreachTenantImpact(TenantOwnedModel):
    """What one incident touched of one tenant's data: computed from the linked calls."""

    incident = models.ForeignKey(BreachIncident, on_delete=models.CASCADE, related_name="impacts")
    calls = models.PositiveIntegerField(default=0)
    recordings = models.PositiveIntegerField(default=0)
    transcripts = models.PositiveIntegerField(default=0)
    subjects = models.PositiveIntegerField(
        default=0, help_text="Approximate number of data subjects: distinct subject numbers."
    )
    computed_at = models.DateTimeField(default=now)

    history = audit_history()

    class Meta:
        ordering = ["tenant__name"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "tenant"], name="breach_impact_unique")
        ]

    def __str__(self) -> str:
        return f"{self.tenant}: {self.subjects} subjects, {self.records} records"

    @property
    def records(self) -> int:
        return self.calls + self.recordings + self.transcripts


class BreachNotificationQuerySet(TenantQuerySet):
    def visible_to(self, principal) -> BreachNotificationQuerySet:
        """The notices of the tenants a principal sees, and the platform-level ones (to the
        authority, to subjects) of the incidents touching those tenants."""
        from portal.access import is_dpo, visible_tenant_ids

        if is_dpo(principal):
            return self.all()
        return self.filter(
            Q(tenant_id__in=visible_tenant_ids(principal))
            | Q(tenant__isnull=True, incident__in=BreachIncident.objects.visible_to(principal))
        )


class BreachNotification(models.Model):
    """A notice sent (or recorded as sent) about an incident, with its content and time."""

    class Recipient(models.TextChoices):
        TENANT = "tenant", "Tenant (controller)"
        SUPERVISORY_AUTHORITY = "supervisory_authority", "Supervisory authority"
        DATA_SUBJECTS = "data_subjects", "Data subjects"
        PUBLIC = "public", "Public communication"

    class Channel(models.TextChoices):
        EMAIL_AND_WEBHOOK = "email_webhook", "Email and webhook (and the portal)"
        EMAIL = "email", "Email"
        AUTHORITY_PORTAL = "authority_portal", "The authority's online form"
        LETTER = "letter", "Letter"
        PHONE = "phone", "Phone"
        SMS = "sms", "SMS"
        WEBSITE = "website", "Website notice"
        PRESS = "press", "Press release"
        OTHER = "other", "Other"

    class Phase(models.TextChoices):
        INITIAL = "initial", "Initial"
        FOLLOW_UP = "follow_up", "Follow-up"
        FINAL = "final", "Final"

    incident = models.ForeignKey(
        BreachIncident, on_delete=models.PROTECT, related_name="notifications"
    )
    recipient = models.CharField(max_length=24, choices=Recipient.choices)
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recipient_name = models.CharField(
        max_length=200, blank=True, help_text="The authority's or the tenant's name at the time."
    )
    channel = models.CharField(max_length=20, choices=Channel.choices)
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.INITIAL)
    subject = models.CharField(max_length=255)
    content = models.TextField()
    reference = models.CharField(
        max_length=100, blank=True, help_text="The recipient's case number, if any."
    )
    sent_at = models.DateTimeField(default=now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delay_reason = models.TextField(
        blank=True, help_text="Why the notice came after the 72 hours (Art. 33(1))."
    )
    email_recipients = models.JSONField(default=list, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_by_api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = BreachNotificationQuerySet.as_manager()
    history = audit_history()

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(recipient="tenant", tenant__isnull=False)
                | (~Q(recipient="tenant") & Q(tenant__isnull=True)),
                name="breach_notice_tenant_iff_tenant_recipient",
            ),
            # One initial and one final notice per tenant: a second "initial" is a race.
            models.UniqueConstraint(
                fields=["incident", "tenant", "phase"],
                condition=Q(recipient="tenant") & ~Q(phase="follow_up"),
                name="breach_notice_one_initial_final_per_tenant",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "acknowledged_at"], name="breach_notice_tenant_ack"),
            # A tenant's notices of one incident: the dashboard's per-row notice state and the
            # tenant view, without sifting through every other tenant told of the same incident.
            models.Index(fields=["tenant", "incident"], name="breach_notice_tenant_incident"),
        ]

    def __str__(self) -> str:
        to = self.recipient_name or self.get_recipient_display()
        return f"{self.get_phase_display()} notice to {to} ({self.sent_at:%Y-%m-%d %H:%M} UTC)"

    @property
    def is_late(self) -> bool:
        return self.sent_at > self.incident.deadline_at

    @property
    def held_to_72_hours(self) -> bool:
        """Initial notices to tenants and authorities; later phases follow without undue
        further delay (Art. 33(4)), subjects without undue delay (Art. 34(1))."""
        return self.phase == self.Phase.INITIAL and self.recipient in (
            self.Recipient.TENANT,
            self.Recipient.SUPERVISORY_AUTHORITY,
        )

    @property
    def acknowledged_by_label(self) -> str:
        if self.acknowledged_by_api_key_id:
            return f"API key {self.acknowledged_by_api_key.prefix}…"
        if self.acknowledged_by_id:
            return self.acknowledged_by.get_username()
        return ""
