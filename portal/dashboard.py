"""Dashboard base view: a logged-in customer user, their current tenant, their role.

Every dashboard view subclasses ``TenantDashboardView`` (or its mixin) and scopes with
``self.scope(queryset)`` — ``for_tenant(current tenant)``, the one scoping mechanism — so a
foreign id is a 404.
"""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.generic import TemplateView

from portal.access import membership_role, role_at_least
from portal.middleware import current_tenant
from portal.models import Membership


class TenantDashboardMixin(LoginRequiredMixin):
    read_role = Membership.Role.VIEWER
    write_role = Membership.Role.AGENT
    nav = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.tenant = current_tenant(request)
        if self.tenant is None:
            return render(request, "dashboard/no_tenant.html", status=403)
        self.role = membership_role(request.user, self.tenant)
        needed = self.read_role if request.method in ("GET", "HEAD") else self.write_role
        if not role_at_least(self.role, needed):
            raise PermissionDenied("Your role in this tenant does not allow this.")
        request.tenant = self.tenant
        return super().dispatch(request, *args, **kwargs)

    def scope(self, queryset):
        return queryset.for_tenant(self.tenant)

    def can(self, role: str) -> bool:
        return role_at_least(self.role, role)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            tenant=self.tenant,
            role=self.role,
            nav=self.nav,
            can_write=self.can(Membership.Role.AGENT),
            can_admin=self.can(Membership.Role.ADMIN),
        )
        return context


class TenantDashboardView(TenantDashboardMixin, TemplateView):
    pass
