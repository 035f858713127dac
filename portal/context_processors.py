from django.utils.functional import SimpleLazyObject

from portal.access import membership_role, user_tenants
from portal.middleware import current_tenant

# Pages drawn in the dashboard's shell (the password change lives under /accounts/).
SHELL_PREFIXES = ("/dashboard/", "/accounts/password/")


def dashboard(request):
    """The tenant switcher's choices and the role-aware menu, for every page in the shell."""
    if not request.path.startswith(SHELL_PREFIXES):
        return {}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from portal.dashboard import nav_for

    tenant = current_tenant(request)

    def menu():
        if tenant is None:
            return []
        role = getattr(request, "dashboard_role", None) or membership_role(user, tenant)
        return nav_for(role, getattr(request, "dashboard_nav", None))

    return {
        "user_tenants": SimpleLazyObject(lambda: list(user_tenants(user))),
        "current_tenant": tenant,
        "dashboard_nav": SimpleLazyObject(menu),
    }
