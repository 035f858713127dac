"""Request-scoped context: the acting principal (for history), the dashboard's tenant, and
the staff session rules (second factor, lifetime)."""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect

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


STAFF_LOGIN_AT_KEY = "portal_staff_login_at"
STAFF_SEEN_AT_KEY = "portal_staff_seen_at"
# Paths an unverified staff user may still reach: logging in and out, the second factor itself.
_SECOND_FACTOR_EXEMPT = (
    "/admin/login/",
    "/admin/logout/",
    "/admin/second-factor/",
    "/accounts/login/",
    "/accounts/logout/",
    "/healthz",
    "/" + settings.STATIC_URL.lstrip("/"),
)


class StaffSessionMiddleware:
    """Staff sessions: a second factor before anything else, and a limited lifetime.

    A staff session ends after ``STAFF_SESSION_IDLE_MINUTES`` without a request and, however
    busy, ``STAFF_SESSION_MAX_HOURS`` after the login. Until the session is verified with a
    second factor (``portal.two_factor``), a staff user is sent to the second-factor page, and
    the session-authenticated API answers 403: no staff power with a password alone
    (Art. 32(1)(b) GDPR). Runs after django-otp's ``OTPMiddleware``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            response = self._staff_gate(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def _staff_gate(self, request, user):
        from portal import two_factor

        is_api = request.path.startswith("/api/")
        now = int(time.time())
        login_at = request.session.get(STAFF_LOGIN_AT_KEY)
        seen_at = request.session.get(STAFF_SEEN_AT_KEY, login_at)
        if (
            login_at is None
            or now - login_at > settings.STAFF_SESSION_MAX_HOURS * 3600
            or now - seen_at > settings.STAFF_SESSION_IDLE_MINUTES * 60
        ):
            logout(request)
            if is_api:
                return _api_error("not_authenticated", "Your staff session has ended.", 401)
            messages.info(request, "Your staff session has ended. Please log in again.")
            login_url = "/admin/login/" if request.path.startswith("/admin/") else None
            return redirect_to_login(request.get_full_path(), login_url)
        if now - seen_at >= 60:  # write the session at most once a minute
            request.session[STAFF_SEEN_AT_KEY] = now
        if (
            two_factor.required_for(user)
            and not user.is_verified()
            and not request.path.startswith(_SECOND_FACTOR_EXEMPT)
        ):
            if is_api:
                return _api_error(
                    "second_factor_required",
                    "Staff accounts need their second factor: complete the login at /admin/.",
                    403,
                )
            page = "/admin/second-factor/"
            if two_factor.confirmed_device(user) is None:
                page += "enrol/"
            return redirect(f"{page}?{urlencode({'next': request.get_full_path()})}")
        return None


def _api_error(code: str, message: str, status: int) -> JsonResponse:
    """The API's one error shape (portal.api.exceptions), for answers given before DRF runs."""
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


def staff_login_started(sender, request, user, **kwargs):
    """``user_logged_in`` receiver: a staff session's lifetime counts from here."""
    if user.is_staff and request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[STAFF_LOGIN_AT_KEY] = now
        request.session[STAFF_SEEN_AT_KEY] = now


class ApiErrorShapeMiddleware:
    """Every error under ``/api/`` in the one error shape, also those no API view answered: an
    unknown path (Django's 404 page) or a server error (500, logged by Django before it gets
    here). A view's own non-JSON answer (a certificate's HTML page) is left as it is."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        unanswered = not getattr(request, "_api_view_reached", False)
        if (
            request.path.startswith("/api/")
            and (response.status_code >= 500 or (response.status_code >= 400 and unanswered))
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            from http import HTTPStatus

            from django.http import JsonResponse

            status = HTTPStatus(response.status_code)
            code = status.phrase.lower().replace(" ", "_").replace("-", "_")
            replaced = JsonResponse(
                {"error": {"code": code, "message": f"{status.phrase}.", "fields": {}}},
                status=response.status_code,
            )
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        request._api_view_reached = True
