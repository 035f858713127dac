from portal.access import user_tenants
from portal.middleware import current_tenant


def dashboard(request):
    """The tenant switcher's choices, for every dashboard page."""
    if not request.path.startswith("/dashboard/"):
        return {}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"user_tenants": list(user_tenants(user)), "current_tenant": current_tenant(request)}
