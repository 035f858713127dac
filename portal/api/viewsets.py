"""API base classes: every view acts for exactly one tenant, resolved once, here."""

from __future__ import annotations

from rest_framework import exceptions, mixins, viewsets
from rest_framework.views import APIView

from portal.access import inactive_tenant_of, reachable_tenant, visible_tenants
from portal.middleware import current_tenant
from portal.models import ApiKey, Tenant

TENANT_HEADER = "HTTP_X_TENANT"


def resolve_api_tenant(request) -> Tenant | None:
    """The key's tenant; for a logged-in user, the X-Tenant header or their current tenant.

    A deactivated tenant is reachable through no door: ``TenantInactive`` (403) for a session
    naming it, or whose user belongs to no active tenant."""
    if isinstance(request.auth, ApiKey):
        return reachable_tenant(request.auth.tenant)
    user = request.user
    if not user.is_authenticated:
        return None
    slug = request.META.get(TENANT_HEADER)
    if slug:
        return reachable_tenant(visible_tenants(user).filter(slug=slug).first())
    tenant = current_tenant(request._request)
    return tenant if tenant is not None else reachable_tenant(inactive_tenant_of(user))


def refuse_bad_query_parameters(params) -> None:
    """Refused (400): a NUL byte in a query parameter (no database stores it in text), and an
    empty value (``?number=``): leave a parameter out rather than send it empty."""
    bad = {}
    for key, values in params.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            bad[key.replace("\x00", "\\x00")] = ["NUL bytes are not allowed."]
        elif any(value == "" for value in values):
            bad[key] = ["Give a value, or leave the parameter out."]
    if bad:
        raise exceptions.ValidationError(bad)


def query_values(params, names) -> dict[str, str]:
    """The query parameters ``names`` as a plain dict, one value each: a parameter given twice
    is refused (400) rather than one of its values silently chosen, and an empty value is
    validated like any other (not read as "not given", as an HTML form would)."""
    repeated = {
        name: ["Give this parameter once."] for name in names if len(params.getlist(name)) > 1
    }
    if repeated:
        raise exceptions.ValidationError(repeated)
    return {name: params[name] for name in names if name in params}


class TenantAPIMixin:
    """Resolves ``request.tenant`` after authentication and scopes the queryset to it.

    Subclasses declare ``queryset`` (any model with a ``TenantQuerySet`` manager); reads and
    writes never reach another tenant's rows, and a foreign id answers 404.
    """

    read_role = "viewer"
    write_role = "agent"

    def initial(self, request, *args, **kwargs):
        if getattr(self, request.method.lower(), None) is not None:  # else 405, unread
            refuse_bad_query_parameters(request.query_params)
        super().initial(request, *args, **kwargs)

    def perform_authentication(self, request):
        super().perform_authentication(request)
        request.tenant = resolve_api_tenant(request)
        request._request.tenant = request.tenant

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.for_tenant(self.request.tenant)


class TenantAPIView(TenantAPIMixin, APIView):
    def get_queryset(self):  # plain views have no queryset of their own
        raise NotImplementedError


class TenantViewSet(TenantAPIMixin, viewsets.GenericViewSet):
    pass


class TenantModelViewSet(
    TenantAPIMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    pass
