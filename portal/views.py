"""Core pages: health check, the dashboard shell (home, tenant switcher)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.access import user_tenants
from portal.dashboard import TenantDashboardView
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
    template_name = "dashboard/home.html"
    nav = "overview"


@login_required
@require_POST
def switch_tenant(request, slug):
    tenant = user_tenants(request.user).filter(slug=slug).first()
    if tenant is None:
        raise Http404("No such tenant among your memberships.")
    request.session[SESSION_TENANT_KEY] = tenant.pk
    messages.success(request, f"Now working in {tenant.name}.")
    return redirect("dashboard:home")
