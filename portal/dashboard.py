"""The tenant dashboard's shell and the building blocks every app's pages use.

Views
    ``TenantDashboardView`` / ``TenantDashboardMixin``: login required, the current tenant
    (``self.tenant``, also ``request.tenant``), the user's role in it (``self.role``), role checks
    (``read_role`` for GET/HEAD, ``write_role`` for every other method: a viewer gets 403 on
    every POST), ``self.scope(queryset)`` — ``for_tenant``, the one scoping mechanism — and pages
    rendered in the tenant's time zone. ``nav`` names the menu entry (its URL name) to mark as
    current; it defaults to the page's own URL name.
    ``TenantObjectMixin``: ``get_object()`` through ``self.scope`` — another tenant's id is a 404;
    ``select_related`` names the joins a detail page needs. Name the URL kwarg ``pk`` and set
    ``model``: the tenant-isolation suite then checks the page by itself.
    ``TenantListView`` (``portal.dashboard_lists``): list page with a django-filter FilterSet,
    ``list_select_related`` and a paginator that never counts the whole table.
    ``ServiceFormMixin``: a form view whose ``perform(form)`` calls a service; a
    ``BusinessRuleError`` becomes a form error on the field it names, never a 500.
    ``ConfirmActionView``: GET shows ``dashboard/confirm.html`` (what will happen, to what), POST
    does it (``perform(obj)`` returns the success message) and redirects. Use it before every
    destructive action.
    ``one_time_token`` / ``one_time_use``: a create form whose result page shows a secret once
    (API keys, webhook secrets); a reloaded or repeated POST creates nothing twice.

Menu and overview (registries; call them in your ``AppConfig.ready``)
    ``register_nav(section, label, url_name, min_role="viewer", order=100)``: a sidebar entry.
    Sections are shown in the order of their smallest entry: overview 0, calls 100–199,
    consent 200–299, requests 300–399, breaches 400–499, settings 900+. Entries above the
    user's role are not shown (the views check the role again: hiding is not protecting).
    ``register_overview_panel(key, title, template, context_fn, order=100, min_role="viewer",
    wide=False)``: a panel on the overview. ``context_fn(request)`` returns the panel's context
    (``request.tenant``, ``request.dashboard_role`` are set; scope every query with
    ``.for_tenant(request.tenant)``) or None to hide the panel. The template receives it as
    ``panel``; it renders only the panel's body (the overview draws the card and the heading).

Template helpers (``{% load dashboard %}``, see ``portal/templatetags/dashboard.py``)
    ``{% column_chart data title=… desc=… unit=… %}``, ``{% line_chart … %}``,
    ``{% hbar_chart data title=… max_value=100 unit="%" %}``: server-side SVG with <title>,
    <desc> and a data-table fallback; ``data`` is a list of ``(label, value)``;
    ``unit="call,calls"`` gives singular and plural;
    ``portal.charts.weekly_counts(queryset, "started_at", weeks=12, tzinfo=tenant.tzinfo)``
    makes the "per week" series. ``{% due_badge due %}`` (overdue red, within 7 days amber),
    ``{% badge text severity %}``, ``{% cell obj column %}`` and the includes in
    ``templates/dashboard/includes/``: ``table.html``, ``pagination.html``,
    ``filter_form.html``, ``form.html`` / ``field.html``, ``empty.html``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView
from django.views.generic.detail import SingleObjectMixin

from portal.access import TenantInactive, inactive_tenant_of, membership_role, role_at_least
from portal.errors import BusinessRuleError
from portal.middleware import current_tenant
from portal.models import Membership

# --- menu registry -------------------------------------------------------------------------


@dataclass(frozen=True)
class NavEntry:
    section: str
    label: str
    url_name: str
    min_role: str = Membership.Role.VIEWER
    order: int = 100


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class NavSection:
    title: str
    links: list[NavLink]


_nav: dict[str, NavEntry] = {}


def register_nav(
    section: str,
    label: str,
    url_name: str,
    min_role: str = Membership.Role.VIEWER,
    order: int = 100,
) -> NavEntry:
    """Add a sidebar entry (idempotent per ``url_name``). ``section`` "" means no heading."""
    entry = NavEntry(section, label, url_name, min_role, order)
    _nav[url_name] = entry
    return entry


def nav_for(role: str | None, current: str | None) -> list[NavSection]:
    """The menu for a role, grouped in sections, with the current entry marked."""
    entries = sorted(
        (e for e in _nav.values() if role_at_least(role, e.min_role)),
        key=lambda e: (e.order, e.label),
    )
    sections: dict[str, list[NavLink]] = {}
    for entry in entries:  # dicts keep insertion order: a section sits at its first entry
        link = NavLink(entry.label, reverse(entry.url_name), entry.url_name == current)
        sections.setdefault(entry.section, []).append(link)
    return [NavSection(title, links) for title, links in sections.items()]


# --- overview registry ---------------------------------------------------------------------


@dataclass(frozen=True)
class OverviewPanel:
    key: str
    title: str
    template: str
    context_fn: Callable
    order: int = 100
    min_role: str = Membership.Role.VIEWER
    wide: bool = False


@dataclass(frozen=True)
class RenderedPanel:
    key: str
    title: str
    template: str
    data: dict
    wide: bool


_panels: dict[str, OverviewPanel] = {}


def register_overview_panel(
    key: str,
    title: str,
    template: str,
    context_fn: Callable,
    order: int = 100,
    min_role: str = Membership.Role.VIEWER,
    wide: bool = False,
) -> OverviewPanel:
    """Add a panel to the overview (idempotent per ``key``)."""
    panel = OverviewPanel(key, title, template, context_fn, order, min_role, wide)
    _panels[key] = panel
    return panel


def overview_panels_for(request) -> list[RenderedPanel]:
    rendered = []
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.key)):
        if not role_at_least(request.dashboard_role, panel.min_role):
            continue
        data = panel.context_fn(request)
        if data is None:
            continue
        title = data.get("title", panel.title)
        rendered.append(RenderedPanel(panel.key, title, panel.template, data, panel.wide))
    return rendered


# --- views ---------------------------------------------------------------------------------


class TenantDashboardMixin(LoginRequiredMixin):
    read_role = Membership.Role.VIEWER
    write_role = Membership.Role.AGENT
    nav = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.tenant = current_tenant(request)
        if self.tenant is None:
            inactive = inactive_tenant_of(request.user)
            if inactive is not None:  # a deactivated tenant is reachable through no door
                error = TenantInactive(inactive)
                context = {"tenant_inactive": inactive, "error": error}
                return render(request, "dashboard/tenant_inactive.html", context, status=403)
            return render(request, "dashboard/no_tenant.html", status=403)
        self.role = membership_role(request.user, self.tenant)
        request.tenant = self.tenant
        request.dashboard_role = self.role
        request.dashboard_nav = self.nav or getattr(request.resolver_match, "view_name", "")
        needed = self.read_role if request.method in ("GET", "HEAD") else self.write_role
        if not role_at_least(self.role, needed):
            raise PermissionDenied("Your role in this tenant does not allow this.")
        # Dates and times on the page are the tenant's local ones (deadlines are counted there).
        with timezone.override(self.tenant.tzinfo):
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        return response

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


class TenantObjectMixin(SingleObjectMixin):
    """``get_object`` from the tenant's rows only; ``select_related`` names the joins a page
    needs, so a detail page costs a fixed number of queries."""

    select_related: tuple[str, ...] = ()

    def get_queryset(self):
        queryset = self.scope(super().get_queryset())
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        return queryset


def add_rule_error(form, error: BusinessRuleError) -> None:
    """Put a service's ``BusinessRuleError`` on the form: on the field it names, if the form has
    that field, else as a form-wide error."""
    placed = False
    for field, field_messages in error.fields.items():
        if field in form.fields:
            for message in field_messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


class ServiceFormMixin:
    """For FormViews: ``perform(form)`` calls the service and returns the response (usually
    ``self.done(message, url)``); a ``BusinessRuleError`` re-renders the form with the error."""

    def form_valid(self, form):
        try:
            return self.perform(form)
        except BusinessRuleError as error:
            add_rule_error(form, error)
            return self.form_invalid(form)

    def perform(self, form):  # pragma: no cover - abstract
        raise NotImplementedError

    def done(self, message: str, url: str, level: int = messages.SUCCESS):
        messages.add_message(self.request, level, message)
        return HttpResponseRedirect(url)


class ConfirmActionView(TenantDashboardMixin, TenantObjectMixin, TemplateView):
    """A confirmation page before a destructive action on one object.

    Subclasses set ``model``, the texts, ``perform(obj) -> success message`` and
    ``get_success_url()``; ``get_cancel_url()`` defaults to the success URL.
    """

    template_name = "dashboard/confirm.html"
    confirm_title = "Are you sure?"
    confirm_explanation = ""
    confirm_button = "Confirm"
    danger = True

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        try:
            message = self.perform(self.object)
        except BusinessRuleError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(self.get_cancel_url())
        messages.success(request, message)
        return HttpResponseRedirect(self.get_success_url())

    def perform(self, obj) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_success_url(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_cancel_url(self) -> str:
        return self.get_success_url()

    def get_confirm_explanation(self) -> str:
        return self.confirm_explanation

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=self.confirm_title,
            explanation=self.get_confirm_explanation(),
            button=self.confirm_button,
            danger=self.danger,
            cancel_url=self.get_cancel_url(),
        )
        return context


# --- forms whose result shows a secret once ------------------------------------------------

_TOKENS_SESSION_KEY = "portal_one_time_tokens"
_TOKENS_KEPT = 20


def one_time_token(request, purpose: str) -> str:
    """A token for one submission of a form (kept in the session, a few per purpose)."""
    token = secrets.token_urlsafe(16)
    tokens = request.session.get(_TOKENS_SESSION_KEY, {})
    tokens[purpose] = [*tokens.get(purpose, [])[-(_TOKENS_KEPT - 1) :], token]
    request.session[_TOKENS_SESSION_KEY] = tokens
    return token


def consume_one_time_token(request, purpose: str, token: str) -> bool:
    """True once per token: a reloaded or replayed POST gets False and must create nothing."""
    tokens = request.session.get(_TOKENS_SESSION_KEY, {})
    if not token or token not in tokens.get(purpose, []):
        return False
    tokens[purpose].remove(token)
    request.session[_TOKENS_SESSION_KEY] = tokens
    return True


@contextmanager
def one_time_use(request, purpose: str, token: str) -> Iterator[bool]:
    """``with one_time_use(request, "api-key", token) as fresh:`` — ``fresh`` is False for a
    token already used; if the block raises (e.g. a service refuses the input), the token is
    given back so the corrected form can be sent."""
    fresh = consume_one_time_token(request, purpose, token)
    try:
        yield fresh
    except Exception:
        if fresh:
            tokens = request.session.get(_TOKENS_SESSION_KEY, {})
            tokens.setdefault(purpose, []).append(token)
            request.session[_TOKENS_SESSION_KEY] = tokens
        raise
