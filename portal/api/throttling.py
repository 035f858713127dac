from rest_framework.throttling import SimpleRateThrottle

from portal.models import ApiKey


class TenantRateThrottle(SimpleRateThrottle):
    """One budget per API key (or per logged-in user), shared across web processes via the
    cache (set CACHE_URL to Redis when running several processes)."""

    scope = "tenant"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
