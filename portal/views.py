"""Core pages: health check, the dashboard shell (overview, tenant switcher, log out)."""

import logging
import threading

from django.conf import settings
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

logger = logging.getLogger(__name__)


def _database_answers() -> None:
    """``SELECT 1`` on a connection of this thread, closed (or given back to the pool) after."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


class _Probe:
    """One database check in a daemon thread (never keeps a process from exiting)."""

    def __init__(self):
        self.done = threading.Event()
        self.error: BaseException | None = None
        threading.Thread(target=self._run, name="healthz", daemon=True).start()

    def _run(self):
        try:
            _database_answers()
        except BaseException as exc:  # reported to the caller of healthz
            self.error = exc
        finally:
            self.done.set()


# One probe at a time: a database that hangs keeps one thread busy, not one per request.
_probe_lock = threading.Lock()
_probe: _Probe | None = None


@never_cache
def healthz(request):
    """200 when the database answers; 503 otherwise (for load balancers and orchestration).

    Says nothing about the database itself (host, port, user or the error: those go to the
    server log), and answers within ``HEALTHZ_TIMEOUT_SECONDS`` even when the database hangs.
    """
    global _probe
    with _probe_lock:
        if _probe is None or _probe.done.is_set():
            _probe = _Probe()
        probe = _probe
    if not probe.done.wait(timeout=settings.HEALTHZ_TIMEOUT_SECONDS):
        logger.error("Health check: the database did not answer in time.")
    elif probe.error is not None:
        logger.error("Health check: the database failed.", exc_info=probe.error)
    else:
        return JsonResponse({"status": "ok", "database": "ok"})
    return JsonResponse({"status": "error", "database": "unavailable"}, status=503)


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
