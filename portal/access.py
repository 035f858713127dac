"""Who may see which tenant, and what a customer role may do. All permission helpers live here."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from portal.models import ApiKey, Membership, Tenant, TenantUserObjectPermission

DPO_GROUP = "DPO"
SUPPORT_GROUP = "Support"
SERVE_TENANT = "serve_tenant"

# Customer roles, weakest first: each role can do what the ones before it can.
ROLE_ORDER = [
    Membership.Role.VIEWER,
    Membership.Role.AGENT,
    Membership.Role.ADMIN,
    Membership.Role.OWNER,
]


def role_at_least(role: str | None, needed: str) -> bool:
    if role is None:
        return False
    return ROLE_ORDER.index(role) >= ROLE_ORDER.index(needed)


def _group_names(user) -> set[str]:
    cache = getattr(user, "_portal_group_names", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._portal_group_names = cache
    return cache


def is_dpo(user) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or DPO_GROUP in _group_names(user)


def is_support(user) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return SUPPORT_GROUP in _group_names(user)


def is_platform_staff(user) -> bool:
    return is_dpo(user) or is_support(user)


def served_tenant_ids(user) -> QuerySet:
    """Tenants a support user is assigned to (guardian object permission, direct-FK table)."""
    return TenantUserObjectPermission.objects.filter(
        user=user, permission__codename=SERVE_TENANT
    ).values("content_object_id")


def visible_tenant_ids(principal) -> QuerySet | list[int]:
    """Ids of the tenants a user or an API key may see, as a subquery."""
    if isinstance(principal, ApiKey):
        return [principal.tenant_id] if principal.is_active else []
    if principal is None or isinstance(principal, AnonymousUser):
        return []
    if not principal.is_authenticated or not principal.is_active:
        return []
    if is_dpo(principal):
        return Tenant.objects.values("id")
    condition = Q(memberships__user=principal)
    if is_support(principal):
        condition |= Q(id__in=served_tenant_ids(principal))
    return Tenant.objects.filter(condition).values("id")


def visible_tenants(principal) -> QuerySet:
    return Tenant.objects.filter(id__in=visible_tenant_ids(principal))


def membership_role(user, tenant: Tenant) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True).first()
    )


def user_tenants(user) -> QuerySet:
    """The tenants a customer user belongs to (for the dashboard's tenant switcher)."""
    if not getattr(user, "is_authenticated", False):
        return Tenant.objects.none()
    return Tenant.objects.filter(memberships__user=user, is_active=True).order_by("name")
