"""Writes for the core: tenants, memberships, support assignments, API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from portal.access import DPO_GROUP, SERVE_TENANT, SUPPORT_GROUP, reachable_tenant
from portal.errors import BusinessRuleError
from portal.models import ApiKey, Membership, Tenant

API_KEY_PREFIX = "cpp"
# last_used_at is written at most this often per key, so the hot path does not write per call.
LAST_USED_RESOLUTION = timedelta(seconds=60)

TENANT_SETTING_FIELDS = (
    "name",
    "country",
    "timezone",
    "legal_name",
    "address",
    "privacy_contact_email",
    "supervisory_authority",
    "purpose_gate",
    "require_notice_proof",
    "default_max_age_days",
    "auto_approve_access",
    "auto_approve_erasure",
    "sms_notice_template",
)


def _validation_to_rule_error(exc: ValidationError) -> BusinessRuleError:
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    first_field, messages = next(iter(fields.items()))
    return BusinessRuleError(
        f"{first_field}: {messages[0]}", code="invalid", field=first_field, fields=fields
    )


def full_clean_or_raise(instance, **kwargs) -> None:
    """Model validation, turned into the project's one error type."""
    try:
        instance.full_clean(**kwargs)
    except ValidationError as exc:
        raise _validation_to_rule_error(exc) from None


@transaction.atomic
def tenant_create(*, slug: str, name: str, country: str = "DE", **fields) -> Tenant:
    if Tenant.objects.filter(slug=slug).exists():
        raise BusinessRuleError(
            f"A tenant with slug {slug!r} exists already.", code="duplicate", field="slug"
        )
    tenant = Tenant(slug=slug, name=name, country=country.upper(), **fields)
    full_clean_or_raise(tenant)
    tenant.save()
    return tenant


@transaction.atomic
def tenant_update_settings(*, tenant: Tenant, **changes) -> Tenant:
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    for field, value in changes.items():
        if field not in TENANT_SETTING_FIELDS:
            raise BusinessRuleError(f"{field} is not a tenant setting.", field=field)
        if field == "country" and isinstance(value, str):
            value = value.upper()
        setattr(tenant, field, value)
    full_clean_or_raise(tenant)
    tenant.save()
    return tenant


@transaction.atomic
def membership_set(*, user, tenant: Tenant, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise BusinessRuleError(f"Unknown role {role!r}.", field="role")
    membership, created = Membership.objects.get_or_create(
        user=user, tenant=tenant, defaults={"role": role}
    )
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def staff_group(name: str) -> Group:
    if name not in (DPO_GROUP, SUPPORT_GROUP):
        raise BusinessRuleError(f"Unknown staff group {name!r}.")
    return Group.objects.get(name=name)


@transaction.atomic
def staff_user_create(*, username: str, group: str, password: str | None = None, **fields):
    """A platform staff member (DPO or Support), allowed into the admin."""
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username, defaults=fields)
    user.is_staff = True
    if password:
        user.set_password(password)
    user.save()
    user.groups.add(staff_group(group))
    return user


def support_assign(*, user, tenant: Tenant) -> None:
    """Let a support user serve a tenant (django-guardian object permission)."""
    assign_perm(f"portal.{SERVE_TENANT}", user, tenant)


def support_unassign(*, user, tenant: Tenant) -> None:
    remove_perm(f"portal.{SERVE_TENANT}", user, tenant)


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    key: str  # the clear key: shown once, never stored


def hash_api_key(key: str) -> str:
    # A high-entropy key needs no slow password hash: SHA-256 is enough and costs microseconds.
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, tenant: Tenant, name: str = "", created_by=None) -> IssuedApiKey:
    prefix = secrets.token_hex(4)
    while ApiKey.objects.filter(prefix=prefix).exists():  # pragma: no cover - 1 in 4 billion
        prefix = secrets.token_hex(4)
    key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(
        tenant=tenant,
        name=name or f"key {prefix}",
        prefix=prefix,
        key_hash=hash_api_key(key),
        created_by=created_by,
    )
    full_clean_or_raise(api_key, exclude=["key_hash"])
    api_key.save()
    return IssuedApiKey(api_key=api_key, key=key)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, revoked_by=None) -> ApiKey:
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.revoked_by = revoked_by
        api_key.save(update_fields=["revoked_at", "revoked_by"])
    return api_key


def api_key_authenticate(key: str) -> ApiKey | None:
    """The active key matching ``key``, or None; ``TenantInactive`` when the key is right but
    its tenant is deactivated. Marks it used (at most once a minute)."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    api_key = ApiKey.objects.select_related("tenant", "created_by").filter(prefix=parts[1]).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, hash_api_key(key)):
        return None
    if api_key.revoked_at is not None:
        return None
    reachable_tenant(api_key.tenant)  # a deactivated tenant's keys open nothing
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        # A plain UPDATE: last use is telemetry, not a change to audit.
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
