"""Core models: tenants, memberships, API keys, support assignments, webhooks.

Every tenant-owned model in the project subclasses ``TenantOwnedModel``; its default manager is
``TenantQuerySet``, the one place that scopes rows to what a user or API key may see.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.timezone import now
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from portal.audit import audit_history
from portal.validators import message_template_validate

COUNTRY_VALIDATOR = RegexValidator(r"^[A-Z]{2}$", "Use a two-letter ISO 3166 country code.")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}.")


class TenantQuerySet(models.QuerySet):
    """The one tenant-scoping mechanism, used by admin, API and dashboard alike."""

    def for_tenant(self, tenant: Tenant | int) -> TenantQuerySet:
        return self.filter(tenant=tenant)

    def visible_to(self, principal) -> TenantQuerySet:
        """Rows a user (staff or customer) or an API key may see."""
        from portal.access import visible_tenant_ids

        return self.filter(tenant_id__in=visible_tenant_ids(principal))


# The longest retention period anything may name: 100 years.
MAX_RETENTION_DAYS = 36500


class Tenant(models.Model):
    """A customer of the platform: the controller of its callers' data."""

    class PurposeGate(models.TextChoices):
        REFUSE = "refuse", "Refuse calls for a purpose without a lawful basis"
        FLAG = "flag", "Accept and flag calls for a purpose without a lawful basis"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    country = models.CharField(
        max_length=2,
        default="DE",
        validators=[COUNTRY_VALIDATOR],
        help_text="Country of establishment: its public holidays count in request deadlines, "
        "and numbers without a country code are read in it.",
    )
    timezone = models.CharField(
        max_length=64, default="Europe/Berlin", validators=[validate_timezone]
    )
    # Controller details used in letters to data subjects.
    legal_name = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True)
    privacy_contact_email = models.EmailField(blank=True)
    supervisory_authority = models.CharField(
        max_length=200,
        blank=True,
        help_text="The supervisory authority subjects may complain to (Art. 77).",
    )
    # Settings, exposed at /api/v1/tenant/.
    purpose_gate = models.CharField(
        max_length=10, choices=PurposeGate.choices, default=PurposeGate.REFUSE
    )
    require_notice_proof = models.BooleanField(
        default=False,
        help_text="The purpose gate requires each call to record how its caller was informed "
        "(informed_by, Art. 13): refused or flagged as the purpose gate is set.",
    )
    auto_approve_access = models.BooleanField(
        default=False,
        help_text="Access and portability requests opened by this tenant's API keys are "
        "verified and approved by policy: the tenant vouches for the subject's identity.",
    )
    auto_approve_erasure = models.BooleanField(
        default=False,
        help_text="Erasure requests opened by this tenant's API keys are approved by policy "
        "(held items are deferred either way).",
    )
    sms_notice_template = models.TextField(
        blank=True,
        default="{tenant} records calls for {purpose}. Privacy notice: {url} "
        "Reply STOP to withdraw.",
    )
    default_max_age_days = models.PositiveIntegerField(
        default=365,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RETENTION_DAYS)],
        help_text="Storage limitation by default (Art. 5(1)(e)): calls of a category without a "
        "retention rule (or whose rule has no maximum) are deleted by the daily sweep after "
        "this many days.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now, editable=False)

    history = audit_history()

    class Meta:
        ordering = ["name"]
        permissions = [("serve_tenant", "Can serve this tenant as support staff")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            message_template_validate(self.sms_notice_template or "")
        except ValidationError as exc:
            raise ValidationError({"sms_notice_template": exc.messages}) from None

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class TenantUserObjectPermission(UserObjectPermissionBase):
    """django-guardian direct-FK table: which support users serve which tenant."""

    content_object = models.ForeignKey(Tenant, on_delete=models.CASCADE)

    history = audit_history()

    class Meta(UserObjectPermissionBase.Meta):
        pass


class TenantGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Tenant, on_delete=models.CASCADE)

    history = audit_history()

    class Meta(GroupObjectPermissionBase.Meta):
        pass


class Membership(models.Model):
    """A customer user's role in one tenant."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        AGENT = "agent", "Agent"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=now, editable=False)

    objects = TenantQuerySet.as_manager()
    history = audit_history()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique_user_tenant")
        ]
        ordering = ["tenant__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class TenantOwnedModel(models.Model):
    """Base of every tenant-owned row: carries ``tenant`` and the scoping manager."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class ApiKey(TenantOwnedModel):
    """An integration's credential. Shown once; stored as a SHA-256 of a high-entropy key."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = audit_history(excluded_fields=["last_used_at"])

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Webhook(TenantOwnedModel):
    """A tenant's endpoint for events (request state changes, Art. 19 notices, breaches)."""

    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=128,
        help_text="Shared secret for the HMAC-SHA256 signature in the X-Portal-Signature header.",
    )
    events = models.JSONField(
        default=list, blank=True, help_text="Event types to send; empty means all."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now, editable=False)

    history = audit_history(excluded_fields=["secret"])

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event: str) -> bool:
        return self.is_active and (not self.events or event in self.events)


class WebhookDelivery(TenantOwnedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        RETRYING = "retrying", "Retrying"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    history = audit_history(excluded_fields=["payload"])

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["tenant", "status"]),
            # The dashboard's "latest deliveries" per webhook and per tenant (delivery health).
            models.Index(fields=["webhook", "-created_at"], name="portal_delivery_hook_recent"),
            models.Index(fields=["tenant", "-created_at"], name="portal_delivery_tenant_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook.url} ({self.status})"
