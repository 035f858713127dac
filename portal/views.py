"""Core pages: health check, the dashboard shell (overview, tenant switcher, log out)."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.access import user_tenants
from portal.dashboard import TenantDashboardView, overview_panels_for
from portal.middleware import SESSION_TENANT_KEY


@never_cache
def healthz(request):
    """200 when the database answers; 503 otherwise (for load balancers and orchestration)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not healthy"
        return JsonResponse({"status": "error", "database": str(exc)[:200]}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


class DashboardHomeView(TenantDashboardView):
    """The overview: the panels that the apps registered, for the user's role."""

    template_name = "dashboard/home.html"
    nav = "dashboard:home"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["panels"] = overview_panels_for(self.request)
        return context


@login_required
@require_POST
def switch_tenant(request, slug):
    tenant = user_tenants(request.user).filter(slug=slug).first()
    if tenant is None:
        raise Http404("No such tenant among your memberships.")
    request.session[SESSION_TENANT_KEY] = tenant.pk
    messages.success(request, f"Now working in {tenant.name}.")
    return redirect("dashboard:home")


class LogoutView(auth_views.LogoutView):
    """Django's logout (POST only), saying so on the login page it leads to."""

    def post(self, request, *args, **kwargs):
        was_logged_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_logged_in:
            messages.info(request, "You are logged out.")
        return response
