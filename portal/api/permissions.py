"""API permissions: a resolved tenant, and a customer role high enough for the action."""

from rest_framework import permissions

from portal.access import is_dpo, is_support, membership_role, role_at_least
from portal.models import ApiKey, Membership


def request_role(request) -> str | None:
    """The customer role the request acts with in ``request.tenant``."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return None
    if isinstance(request.auth, ApiKey):
        # A key is the tenant's own integration: it acts with admin rights on its tenant.
        return Membership.Role.ADMIN
    user = request.user
    role = membership_role(user, tenant)
    if role is None and is_dpo(user):
        role = Membership.Role.ADMIN
    elif role is None and is_support(user):
        role = Membership.Role.AGENT
    return role


class TenantRolePermission(permissions.BasePermission):
    """Reads need ``read_role`` (viewer), writes ``write_role`` (agent) — set per view."""

    message = "Your role in this tenant does not allow this action."

    def has_permission(self, request, view):
        if not (isinstance(request.auth, ApiKey) or request.user.is_authenticated):
            return False
        if getattr(request, "tenant", None) is None:
            self.message = "No tenant selected: send the X-Tenant header with the tenant's slug."
            return False
        role = request_role(request)
        if request.method in permissions.SAFE_METHODS:
            needed = getattr(view, "read_role", Membership.Role.VIEWER)
        else:
            needed = getattr(view, "write_role", Membership.Role.AGENT)
            action_roles = getattr(view, "action_roles", {})
            needed = action_roles.get(getattr(view, "action", None), needed)
        return role_at_least(role, needed)
