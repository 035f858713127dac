"""The tenant dashboard's data-subject requests: list, open, follow, confirm, download.

Thin views over the same services and reads as the API (``dsr/api/views.py``):

* opening calls ``request_open`` with channel ``dashboard`` (an agent or above, as
  ``POST /api/v1/requests/``); the tenant opening a request confirms it by that act;
* confirming a request a subject sent to the platform directly calls ``request_confirm``
  (an agent or above, as ``POST /api/v1/requests/{id}/confirm/``), after a confirmation page;
* downloading the package goes through ``package_for_download`` and ``package_download_log``,
  as ``GET /api/v1/requests/{id}/package/``: every download is a ``PackageDownload`` row.

Every page reads requests through ``self.scope`` (``for_tenant``): another tenant's request is a
404 on every page. Everyone reads; viewers change nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.generic import DetailView, FormView, View

from dsr import selectors, services
from dsr.admin.listing import STATUS_SEVERITY
from dsr.forms.dashboard import (
    CHANNEL_LABELS,
    RequestConfirmForm,
    RequestListFilterSet,
    RequestOpenForm,
)
from dsr.models import (
    PACKAGE_KINDS,
    AccessPackage,
    DataSubjectRequest,
    RequestChannel,
    RequestEvent,
    RequestKind,
    RequestStatus,
)
from dsr.selectors import dashboard as dashboard_selectors
from dsr.services import packages
from dsr.views.erasure import request_erasure_context
from portal.access import role_at_least
from portal.dashboard import (
    ConfirmActionView,
    ServiceFormMixin,
    TenantDashboardMixin,
    TenantObjectMixin,
    one_time_token,
    one_time_use,
)
from portal.dashboard_lists import Column, TenantListView
from portal.errors import BusinessRuleError
from portal.models import Membership
from portal.templatetags.dashboard import badge, due_badge

# The API's write_role for opening and confirming (RequestViewSet): the same rule here.
HANDLE_ROLE = Membership.Role.AGENT
LIST = "dashboard:requests:list"
ONCE = "dsr-open"
# While a package is being built the request page reloads itself this often (seconds).
REFRESH_SECONDS = 5
DISCOVERY_ROWS = 25

S = RequestStatus


def detail_url(obj: DataSubjectRequest) -> str:
    return reverse("dashboard:requests:detail", kwargs={"pk": obj.pk})


# --- badges ----------------------------------------------------------------------------------


def status_state(obj: DataSubjectRequest) -> tuple[str, str]:
    if obj.confirmed_at is None and not obj.is_closed:
        return "to confirm", "warning"
    return obj.get_status_display(), STATUS_SEVERITY.get(obj.status, "info")


def request_due_badge(obj: DataSubjectRequest) -> str:
    """The deadline that applies (extended or not) as a due badge: overdue red, within 7 days
    amber; a paused clock and a closed request say so instead."""
    due = timezone.localtime(obj.effective_due_at)
    if obj.is_closed:
        closed = timezone.localtime(obj.completed_at or obj.status_changed_at)
        return format_html('<span class="muted">closed {}</span>', date_filter(closed, "j M Y"))
    if obj.clock_paused_at is not None:
        return format_html(
            '{} <span class="muted">was due {}; moves by the pause</span>',
            badge("clock paused", "info"),
            date_filter(due, "j M Y"),
        )
    text = due_badge(due.date())
    if obj.extended_due_at is not None:
        return format_html('{} <span class="muted">extended</span>', text)
    return text


CHANNEL_PHRASES = {
    RequestChannel.API: "opened through the API",
    RequestChannel.DASHBOARD: "opened in the dashboard",
    RequestChannel.ADMIN: "entered by platform staff on your instruction",
    RequestChannel.DIRECT_TO_PROCESSOR: "sent to the platform directly",
}


def days_late(obj: DataSubjectRequest) -> int | None:
    """For a closed request: calendar days past the deadline it was answered (0: in time)."""
    if not obj.is_closed:
        return None
    closed = timezone.localtime(obj.completed_at or obj.status_changed_at).date()
    return max((closed - timezone.localtime(obj.effective_due_at).date()).days, 0)


def channel_label(obj: DataSubjectRequest) -> str:
    return CHANNEL_LABELS.get(obj.channel, obj.get_channel_display())


def subject_label(obj: DataSubjectRequest) -> str:
    numbers = ", ".join(obj.numbers)  # prefetched
    if obj.name:
        return f"{obj.name} ({numbers})" if numbers else obj.name
    return numbers


def request_label(obj: DataSubjectRequest) -> str:
    return f"#{obj.pk}"


# --- list ------------------------------------------------------------------------------------


class RequestListView(TenantListView):
    model = DataSubjectRequest
    nav = LIST
    template_name = "dashboard/requests/list.html"
    filterset_class = RequestListFilterSet
    columns = [
        Column("Request", request_label, link="dashboard:requests:detail"),
        Column("Kind", "get_kind_display"),
        Column("Caller", subject_label),
        Column("Status", status_state, kind="badge"),
        Column("Deadline", request_due_badge),
        Column("Came in by", channel_label),
        Column("Received", "received_at", kind="datetime"),
    ]
    empty_title = "No data-subject requests yet"
    empty_text = (
        "When a caller asks you for a copy of their data, to have it erased or corrected, to "
        "restrict its use or to object to it (Art. 15–21 GDPR), open a request here or from your "
        "integration (POST /api/v1/requests/). You have one month from receipt to answer: the "
        "portal counts the deadline, finds the caller's calls, recordings, transcripts and "
        "consent, and builds what you send back. Requests callers send to us directly appear "
        "here for your confirmation."
    )

    def paginate_queryset(self, queryset, page_size):
        rows = dashboard_selectors.OpenFirst(queryset, prefetch=("subject_numbers",))
        return super().paginate_queryset(rows, page_size)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.can(HANDLE_ROLE):
            context.update(
                empty_action_url=reverse("dashboard:requests:new"),
                empty_action_label="Open a request",
            )
        return context


# --- open ------------------------------------------------------------------------------------


class RequestOpenView(ServiceFormMixin, TenantDashboardMixin, FormView):
    read_role = write_role = HANDLE_ROLE
    nav = "dashboard:requests:new"
    form_class = RequestOpenForm
    template_name = "dashboard/requests/form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "tenant": self.tenant}

    def get_initial(self):
        return {"once": one_time_token(self.request, ONCE)}

    def perform(self, form):
        data = form.cleaned_data
        with one_time_use(self.request, ONCE, data["once"]) as fresh:
            if not fresh:
                messages.info(
                    self.request,
                    "That form was already sent: the request was opened once, not twice.",
                )
                return HttpResponseRedirect(reverse(LIST))
            created = services.request_open(
                tenant=self.tenant,
                channel=RequestChannel.DASHBOARD,
                by=self.request.user,
                kind=data["kind"],
                numbers=data["numbers"],
                name=data["name"],
                email=data["email"],
                details=data["details"],
                received_at=data["received_at"],
            )
        due = date_filter(timezone.localtime(created.effective_due_at), "j F Y")
        return self.done(
            f"Request #{created.pk} ({created.get_kind_display()}) opened. It is due {due}: one "
            "month from receipt (Art. 12(3) GDPR).",
            detail_url(created),
        )


# --- the request page ------------------------------------------------------------------------

EVENT_LABELS = {
    "opened": "Opened",
    "forwarded": "Forwarded to you by the platform",
    "confirmed": "Confirmed by the controller",
    "assigned": "Assigned",
    "start_verification": "Identity check started",
    "verify": "Identity verified",
    "clock_paused": "Clock paused",
    "clock_resumed": "Clock restarted",
    "extended": "Deadline extended",
    "approve": "Approved",
    "reject": "Refused",
    "process": "Processing started",
    "complete": "Completed",
    "partially_complete": "Partially completed",
    "package_ready": "Package ready",
    "package_rebuild": "Package build restarted",
    "package_downloaded": "Package downloaded",
    "rectified": "Statement added to the calls",
    "restricted": "Processing restricted",
    "restriction_lift_notified": "Caller told the restriction will be lifted",
    "restriction_lifted": "Restriction lifted",
}
STATUS_LABELS = dict(RequestStatus.choices)
AUTOMATIC_ACTORS = ("system", "task", "command", "policy")


def event_label(event: RequestEvent) -> str:
    return EVENT_LABELS.get(event.action, event.action.replace("_", " ").capitalize())


def event_actor(event: RequestEvent) -> str:
    """Who acted, in the tenant's words: an API key, a member, platform staff, or the platform
    itself (tasks, the tenant's automation policy)."""
    kind, _, rest = event.actor.partition(":")
    if kind == "api_key":
        return f"API key {rest}…"
    user = event.user
    if user is not None:
        name = user.get_full_name() or user.get_username()
        return f"{name} (platform staff)" if user.is_staff else name
    if kind == "user" and rest:
        return rest
    if kind in AUTOMATIC_ACTORS or not event.actor:
        return "the platform (automatic)"
    return event.actor


def package_state(package: AccessPackage | None, obj: DataSubjectRequest) -> str:
    """``ready``, ``expired``, ``building`` (also: approved and waiting for the build),
    ``failed`` or ``none`` (nothing to build yet, or the request was refused)."""
    if package is not None:
        if package.status == AccessPackage.Status.READY:
            return "ready" if package.is_downloadable() else "expired"
        return package.status
    if obj.status in (S.APPROVED, S.PROCESSING):
        failed = any(p.status == AccessPackage.Status.FAILED for p in obj.packages.all())
        return "failed" if failed and obj.status == S.PROCESSING else "building"
    return "none"


PACKAGE_STEPS = {
    "building": ("Approved: the package is being built. This page updates by itself.", "info"),
    "failed": (
        "The last build of the package failed. The platform's staff start it again; nothing is "
        "lost.",
        "warning",
    ),
    "ready": ("Download the package below and give it to the caller before it expires.", "ok"),
    "expired": (
        "The package expired and was deleted. If the caller still needs it, ask the platform's "
        "Data Protection Officer to build it again.",
        "info",
    ),
}


def next_step(obj: DataSubjectRequest, package: str) -> tuple[str, str]:
    """What happens next, and whether the tenant must act (severity ``warning``)."""
    if obj.confirmed_at is None and not obj.is_closed:
        return (
            "The caller sent this request to the platform directly and we forwarded it to you. "
            "As controller, confirm it so that we can go on: the deadline runs from the first "
            "receipt, whether you confirm or not.",
            "warning",
        )
    if obj.status in (S.RECEIVED, S.VERIFYING):
        if obj.clock_paused_at is not None:
            return (
                "The platform's Data Protection Officer asked the caller for what is needed to "
                "confirm their identity; the clock is stopped until they answer.",
                "info",
            )
        return (
            "The platform's Data Protection Officer checks the caller's identity, asking no more "
            "than needed. You do not need to do anything now.",
            "info",
        )
    if obj.status == S.IN_REVIEW:
        return "Identity confirmed. The platform's Data Protection Officer decides next.", "info"
    if obj.kind in PACKAGE_KINDS and package in PACKAGE_STEPS:
        return PACKAGE_STEPS[package]
    if obj.status == S.REJECTED:
        return (
            "The request was refused. The caller is told why and of their right to complain to "
            "a supervisory authority (Art. 12(4)).",
            "info",
        )
    if obj.status == S.APPROVED and obj.kind == RequestKind.ERASURE:
        return (
            "Approved. The platform carries out the erasure; what was erased, what was deferred "
            "and why, and the erasure certificate appear on this page.",
            "info",
        )
    if obj.status in (S.APPROVED, S.PROCESSING):
        return "Approved: the platform is carrying it out.", "info"
    if obj.status == S.PARTIALLY_COMPLETED:
        return "Partly done: the result below says what could not be done, and why.", "warning"
    return "Done: the result is below. Let the caller know.", "ok"


class RequestDetailView(TenantDashboardMixin, TenantObjectMixin, DetailView):
    model = DataSubjectRequest
    nav = LIST
    template_name = "dashboard/requests/detail.html"
    select_related = ("tenant", "opened_by", "opened_by_api_key", "confirmed_by", "verified_by")

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .prefetch_related("subject_numbers", "pauses", "notices", "packages")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        obj = self.object
        package = selectors.latest_package(obj)
        state = package_state(package, obj)
        step, step_severity = next_step(obj, state)
        events = obj.events.select_related("user").order_by("at", "id")
        context.update(
            status=status_state(obj),
            due=request_due_badge(obj),
            channel=CHANNEL_PHRASES.get(obj.channel, obj.get_channel_display()),
            days_late=days_late(obj),
            deadline=dashboard_selectors.deadline_explanation(obj),
            next_step=step,
            next_step_severity=step_severity,
            can_confirm=(self.can(HANDLE_ROLE) and obj.confirmed_at is None and not obj.is_closed),
            has_package=obj.kind in PACKAGE_KINDS,
            package=package,
            package_state=state,
            downloads=dashboard_selectors.package_downloads(package),
            refresh_seconds=REFRESH_SECONDS if state == "building" else None,
            timeline=[
                (
                    event,
                    event_label(event),
                    event_actor(event),
                    STATUS_LABELS.get(event.from_status, event.from_status),
                    STATUS_LABELS.get(event.to_status, event.to_status),
                )
                for event in events
            ],
            discovery=selectors.request_discovery(obj, limit=DISCOVERY_ROWS),
            statements=(
                dashboard_selectors.request_statements(obj)
                if obj.kind == RequestKind.RECTIFICATION
                else []
            ),
        )
        if obj.kind in (RequestKind.RESTRICTION, RequestKind.OBJECTION):
            context.update(
                restrictions=dashboard_selectors.request_restrictions(obj),
                restricted_calls=dashboard_selectors.restricted_call_count(obj),
            )
        context.update(request_erasure_context(obj))  # dsr/views/erasure.py
        return context


# --- confirm a forwarded request -------------------------------------------------------------


class RequestConfirmView(ConfirmActionView):
    model = DataSubjectRequest
    read_role = write_role = HANDLE_ROLE
    nav = LIST
    template_name = "dashboard/requests/confirm.html"
    confirm_title = "Confirm this request as controller?"
    confirm_button = "Confirm the request"
    danger = False

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        if self.object.confirmed_at is not None or self.object.is_closed:
            messages.info(request, f"Request #{self.object.pk} needs no confirmation.")
            return HttpResponseRedirect(detail_url(self.object))
        return super().get(request, *args, **kwargs)

    def get_confirm_explanation(self) -> str:
        obj = self.object
        received = date_filter(timezone.localtime(obj.received_at), "j M Y, H:i")
        due = date_filter(timezone.localtime(obj.effective_due_at), "j M Y")
        return (
            f"The caller sent this request to the platform directly on {received}, and we "
            f"forwarded it to you. By confirming, {self.tenant.name} takes it on as controller: "
            "the platform's Data Protection Officer then checks the caller's identity and "
            f"prepares the answer. The deadline does not change: {due}, one month from the first "
            "receipt. If the request is not meant for you, do not confirm it: tell the "
            "platform's Data Protection Officer instead."
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["form"] = RequestConfirmForm()
        return context

    def perform(self, obj) -> str:
        form = RequestConfirmForm(self.request.POST)
        if not form.is_valid():
            raise BusinessRuleError(
                "; ".join(f"{e}" for errors in form.errors.values() for e in errors),
                field="note",
            )
        services.request_confirm(request=obj, by=self.request.user, note=form.cleaned_data["note"])
        return (
            f"Request #{obj.pk} confirmed. The platform's Data Protection Officer now checks the "
            "caller's identity."
        )

    def get_success_url(self) -> str:
        return detail_url(self.object)


# --- the package -----------------------------------------------------------------------------


class RequestPackageDownloadView(TenantDashboardMixin, TenantObjectMixin, View):
    """GET: the access or portability package, each download logged (as by the API)."""

    model = DataSubjectRequest
    nav = LIST

    def get(self, request, *args, **kwargs):
        self.object = obj = self.get_object()
        try:
            package = packages.package_for_download(obj)
        except BusinessRuleError as error:
            # Expired: 410 Gone. Not built yet: a page that says so (the link appears when the
            # package is ready).
            status = 410 if error.status_code == 410 else 200
            context = self.get_context_data(
                object=obj, problem=error.message, expired=status == 410
            )
            return render(
                request, "dashboard/requests/package_unavailable.html", context, status=status
            )
        packages.package_download_log(
            package=package, by=request.user, ip_address=request.META.get("REMOTE_ADDR")
        )
        return packages.package_file_response(package, filename=f"request-{obj.pk}-package.zip")


# --- overview panel --------------------------------------------------------------------------


def open_requests_panel(request) -> dict:
    """Open requests by status, how many are overdue or due soon, and the nearest deadlines."""
    overview = dashboard_selectors.open_requests_overview(request.tenant)
    return {
        "overview": overview,
        "nearest": [(obj, request_due_badge(obj), status_state(obj)) for obj in overview.nearest],
        "can_open": role_at_least(request.dashboard_role, HANDLE_ROLE),
    }
