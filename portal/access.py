"""Who may see which tenant, and what a customer role may do. All permission helpers live here.

The platform processes the tenants' data only on their instructions and lets only the people
who need it see it (Art. 28(3)(b), Art. 32(4) GDPR): the DPO sees every tenant, support staff
the tenants they serve, customer users their memberships, an API key its tenant. Rows, their
history and the users behind them are scoped by the same rules (``scope_queryset``,
``scope_history``, ``visible_user_ids``); a deactivated tenant is reachable by nobody but the
platform's staff in the admin (``reachable_tenant``).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from portal.errors import NotPermitted
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


def _is_active_staff(user) -> bool:
    """Platform roles belong to staff accounts only (who pass the second factor)."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_staff)


def is_dpo(user) -> bool:
    if not _is_active_staff(user):
        return False
    return user.is_superuser or DPO_GROUP in _group_names(user)


def is_support(user) -> bool:
    if not _is_active_staff(user):
        return False
    return SUPPORT_GROUP in _group_names(user)


def is_platform_staff(user) -> bool:
    return is_dpo(user) or is_support(user)


def is_platform_account(user) -> bool:
    """Whether an account belongs to the platform's staff, active or not (for judging what a
    staff member did, after they may have left)."""
    if user is None or not getattr(user, "pk", None):
        return False
    return user.is_superuser or bool(_group_names(user) & {DPO_GROUP, SUPPORT_GROUP})


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


def visible_user_ids(user) -> QuerySet | list[int]:
    """Accounts a staff user may see, as a subquery: the DPO every account; anyone else
    themselves, the platform's staff, and the members of the tenants they see — never the
    users of a tenant they do not serve."""
    User = get_user_model()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    if is_dpo(user):
        return User.objects.values("id")
    condition = (
        Q(pk=user.pk)
        | Q(is_superuser=True)
        | Q(groups__name__in=[DPO_GROUP, SUPPORT_GROUP])
        | Q(memberships__tenant_id__in=visible_tenant_ids(user))
    )
    return User.objects.filter(condition).values("id")


def _has_tenant_field(model) -> bool:
    return any(field.name == "tenant" for field in model._meta.get_fields())


def is_tenant_data(model) -> bool:
    """Whether ``scope_queryset`` knows how to scope ``model`` to a viewer's tenants."""
    return (
        model is Tenant
        or model is get_user_model()
        or hasattr(model._default_manager.get_queryset(), "visible_to")
        or _has_tenant_field(model)
    )


def scope_queryset(user, queryset: QuerySet) -> QuerySet:
    """``queryset`` cut down to what ``user`` may see (Art. 28(3)(b), Art. 32(4)).

    Tenants, accounts, any queryset with a ``visible_to`` method, and every model with a
    ``tenant``; a model that belongs to no tenant is the DPO's alone.
    """
    model = queryset.model
    if is_dpo(user):
        return queryset
    if model is Tenant:
        return queryset.filter(id__in=visible_tenant_ids(user))
    if model is get_user_model():
        return queryset.filter(id__in=visible_user_ids(user))
    if hasattr(queryset, "visible_to"):
        return queryset.visible_to(user)
    if _has_tenant_field(model):
        return queryset.filter(tenant_id__in=visible_tenant_ids(user))
    return queryset.none()


def scope_history(user, history: QuerySet) -> QuerySet:
    """Historical rows (django-simple-history) ``user`` may see: history is an audit record
    of the same data, scoped like the data itself. A row is judged by the tenant it records,
    so the history of a deleted object stays visible to those who saw the object."""
    model = history.model.instance_type
    if is_dpo(user):
        return history
    if model is Tenant:
        return history.filter(id__in=visible_tenant_ids(user))
    live = scope_queryset(user, model._default_manager.values("pk"))
    visible = Q(**{f"{model._meta.pk.attname}__in": live})
    if _has_tenant_field(model):
        visible |= Q(tenant_id__in=visible_tenant_ids(user))
    return history.filter(visible)


class TenantInactive(NotPermitted):
    """A deactivated tenant: no dashboard page, API key or API session reaches its data."""

    CODE = "tenant_inactive"

    def __init__(self, tenant: Tenant) -> None:
        super().__init__(
            f"The tenant {tenant.slug!r} is deactivated: its data cannot be reached. "
            "Ask the platform's support to reactivate it.",
            code=self.CODE,
        )
        self.tenant = tenant


def reachable_tenant(tenant: Tenant | None) -> Tenant | None:
    """``tenant`` if it may be worked in; a deactivated one raises ``TenantInactive``."""
    if tenant is not None and not tenant.is_active:
        raise TenantInactive(tenant)
    return tenant


def inactive_tenant_of(user) -> Tenant | None:
    """A deactivated tenant the user belongs to, when the user belongs to no active one (for
    telling them why the dashboard is closed)."""
    if not getattr(user, "is_authenticated", False) or user_tenants(user).exists():
        return None
    return Tenant.objects.filter(memberships__user=user, is_active=False).order_by("name").first()
