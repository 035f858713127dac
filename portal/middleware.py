"""Request-scoped context: the acting principal (for history) and the dashboard's tenant."""

from portal.audit import reset_actor, set_actor

SESSION_TENANT_KEY = "portal_tenant_id"


class ActorMiddleware:
    """Gives each request a clean actor; API-key authentication sets it for its request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_actor(None)
        try:
            return self.get_response(request)
        finally:
            reset_actor(token)


_UNSET = object()


def current_tenant(request):
    """The tenant a customer user works in: chosen in the switcher, else their first.

    Memoised on the request. None for users with no membership (e.g. platform staff).
    """
    cached = getattr(request, "_portal_tenant", _UNSET)
    if cached is not _UNSET:
        return cached
    from portal.access import user_tenants

    tenant = None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        tenants = user_tenants(user)
        chosen = request.session.get(SESSION_TENANT_KEY)
        if chosen is not None:
            tenant = tenants.filter(pk=chosen).first()
        if tenant is None:
            tenant = tenants.first()
    request._portal_tenant = tenant
    return tenant
