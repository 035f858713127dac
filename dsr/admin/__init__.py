"""The DPO's workplace for data-subject requests.

The list shows status and deadline badges and finds a request by any written form of a number;
the request page shows discovery, the timeline and one button per possible transition, each
leading to a confirmation page that calls the service. What a user may do is decided by the
same permissions the services check (Support prepares, the DPO decides).
"""

from __future__ import annotations

from django import forms as django_forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from dsr import forms, selectors, services
from dsr.admin.listing import STATUS_SEVERITY, DueFilter, StageFilter, due_badge
from dsr.admin.transitions import ACTIONS, Action, possible, run
from dsr.models import AccessPackage, CallRectification, DataSubjectRequest, RequestKind
from dsr.services.erasure import certificate as certificates
from portal.access import visible_tenants
from portal.admin import PortalModelAdmin, ReadOnlyAdminMixin, status_badge
from portal.errors import BusinessRuleError

# Only the tenants the user can see rows of (the plain filter would name every tenant).
TENANT_FILTER = ("tenant", admin.RelatedOnlyFieldListFilter)


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(PortalModelAdmin):
    list_display = [
        "__str__",
        "tenant",
        "kind",
        "status_badge",
        "due",
        "channel",
        "assignee",
        "received_at",
    ]
    list_filter = ["status", "kind", DueFilter, StageFilter, "channel", TENANT_FILTER]
    list_select_related = ["tenant", "assignee"]
    search_fields = ["name", "email"]
    search_help_text = "A phone number in any format, #<id>, or the subject's name or email."
    change_form_template = "admin/dsr/datasubjectrequest/change_form.html"
    ordering = ["effective_due_at", "id"]
    readonly_fields = [
        "tenant",
        "kind",
        "channel",
        "status",
        "subject_numbers_display",
        "name",
        "email",
        "details",
        "received_at",
        "due_at",
        "extended_due_at",
        "extension_reason",
        "effective_due_at",
        "clock_paused_at",
        "forwarded_at",
        "confirmed_at",
        "confirmed_by",
        "assignee",
        "verification_method",
        "verification_note",
        "verified_by",
        "verified_at",
        "decided_by",
        "decided_at",
        "approved_by_policy",
        "rejection_ground",
        "decision_reasons",
        "outcome",
        "policy_snapshot",
        "opened_by",
        "opened_by_api_key",
        "created_at",
    ]
    fieldsets = [
        (
            "Request",
            {
                "fields": [
                    "tenant",
                    "kind",
                    "channel",
                    "status",
                    "subject_numbers_display",
                    "name",
                    "email",
                    "details",
                ]
            },
        ),
        (
            "Deadline (Art. 12(3))",
            {
                "fields": [
                    "received_at",
                    "due_at",
                    "extended_due_at",
                    "extension_reason",
                    "effective_due_at",
                    "clock_paused_at",
                ]
            },
        ),
        (
            "Intake",
            {
                "fields": [
                    "opened_by",
                    "opened_by_api_key",
                    "created_at",
                    "forwarded_at",
                    "confirmed_at",
                    "confirmed_by",
                    "assignee",
                ]
            },
        ),
        (
            "Identity (never a copy of a document)",
            {"fields": ["verification_method", "verification_note", "verified_by", "verified_at"]},
        ),
        (
            "Decision",
            {
                "fields": [
                    "decided_by",
                    "decided_at",
                    "approved_by_policy",
                    "rejection_ground",
                    "decision_reasons",
                    "outcome",
                    "policy_snapshot",
                ]
            },
        ),
    ]

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return status_badge(obj.get_status_display(), STATUS_SEVERITY.get(obj.status, "info"))

    @admin.display(description="Deadline", ordering="effective_due_at")
    def due(self, obj):
        return due_badge(obj)

    @admin.display(description="Numbers")
    def subject_numbers_display(self, obj):
        return ", ".join(obj.numbers) or "—"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term.startswith("#") and term[1:].isdigit():
            return queryset.filter(pk=int(term[1:])), False
        countries = set(visible_tenants(request.user).values_list("country", flat=True))
        by_number = selectors.requests_for_number(queryset, term, countries=countries)
        if term and by_number.exists():
            return by_number, False
        return super().get_search_results(request, queryset, search_term)

    def has_delete_permission(self, request, obj=None):
        return False  # a request is evidence of what was asked and done: never deleted

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_urls(self):
        return [
            path(
                "<path:object_id>/do/<str:action>/",
                self.admin_site.admin_view(self.transition_view),
                name="dsr_datasubjectrequest_transition",
            ),
            path(
                "<path:object_id>/certificate/",
                self.admin_site.admin_view(self.certificate_view),
                name="dsr_datasubjectrequest_certificate",
            ),
            *super().get_urls(),
        ]

    def certificate_view(self, request, object_id):
        obj = self.get_object(request, object_id)
        issued = certificates.certificate_latest(obj) if obj is not None else None
        if issued is None:
            raise Http404("No erasure certificate.")
        return HttpResponse(certificates.certificate_html(issued))

    def _erasure_context(self, obj) -> dict:
        if obj.kind != RequestKind.ERASURE:
            return {}
        issued = certificates.certificate_latest(obj)
        return {
            "erasure_run": getattr(obj, "erasure_run", None),
            "erasure_items": obj.erasure_items.order_by("status", "kind", "object_id")[:200],
            "erasure_item_count": obj.erasure_items.count(),
            "certificate": issued,
            "certificate_url": (
                reverse("admin:dsr_datasubjectrequest_certificate", args=[obj.pk]) if issued else ""
            ),
        }

    # -- intake -----------------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = forms.IntakeForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                created = services.request_open(
                    tenant=data["tenant"],
                    kind=data["kind"],
                    channel=data["channel"],
                    numbers=data["numbers"],
                    name=data["name"],
                    email=data["email"],
                    details=data["details"],
                    received_at=data["received_at"],
                    by=request.user,
                )
            except BusinessRuleError as exc:
                _form_error(form, exc)
            else:
                self.log_addition(request, created, [{"added": {}}])
                self.message_user(request, f"{created} opened.", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:dsr_datasubjectrequest_change", args=[created.pk])
                )
        return TemplateResponse(
            request,
            "admin/dsr/datasubjectrequest/action.html",
            {
                **self.admin_site.each_context(request),
                "title": "Take in a data-subject request",
                "form": form,
                "opts": self.opts,
                "submit_label": "Open the request",
            },
        )

    # -- the request page -------------------------------------------------------------------

    def available_actions(self, request, obj) -> list[tuple[str, Action]]:
        return [
            (name, action)
            for name, action in ACTIONS.items()
            if possible(obj, name) and request.user.has_perm(f"dsr.{action.perm}")
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if obj is not None:
            extra.update(
                request_actions=[
                    (reverse("admin:dsr_datasubjectrequest_transition", args=[obj.pk, n]), a)
                    for n, a in self.available_actions(request, obj)
                ],
                discovery=selectors.request_discovery(obj, limit=25),
                timeline=obj.events.select_related("user").order_by("at", "id"),
                pauses=obj.pauses.all(),
                notices=obj.notices.all(),
                packages=obj.packages.all()[:10],
                **self._erasure_context(obj),
                show_save=False,
                show_save_and_continue=False,
                show_save_and_add_another=False,
                show_delete=False,
            )
        return super().change_view(request, object_id, form_url, extra)

    def transition_view(self, request, object_id, action):
        obj = self.get_object(request, object_id)
        if obj is None or action not in ACTIONS:
            raise Http404("No such request or action.")
        spec = ACTIONS[action]
        if not request.user.has_perm(f"dsr.{spec.perm}"):
            raise PermissionDenied(f"Your role may not do this: it needs {spec.perm}.")
        kwargs = {"request_obj": obj} if spec.form is forms.AssignForm else {}
        form = spec.form(request.POST or None, **kwargs)
        change_url = reverse("admin:dsr_datasubjectrequest_change", args=[obj.pk])
        if request.method == "POST" and form.is_valid():
            try:
                run(action, obj, request.user, form.cleaned_data)
            except BusinessRuleError as exc:
                _form_error(form, exc)
            else:
                self.message_user(request, f"{obj}: {spec.label.lower()} — done.", messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        return TemplateResponse(
            request,
            "admin/dsr/datasubjectrequest/action.html",
            {
                **self.admin_site.each_context(request),
                "title": f"{spec.label}: {obj}",
                "explanation": spec.explanation,
                "form": form,
                "object": obj,
                "opts": self.opts,
                "danger": spec.danger,
                "cancel_url": change_url,
                "submit_label": spec.label,
            },
            status=400 if form.errors else 200,
        )


def _form_error(form: django_forms.Form, exc: BusinessRuleError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


@admin.register(AccessPackage)
class AccessPackageAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    list_display = ["__str__", "tenant", "status_badge", "size_bytes", "ready_at", "expires_at"]
    list_filter = ["status", TENANT_FILTER]
    list_select_related = ["tenant"]
    fields = [
        "tenant",
        "request",
        "status",
        "size_bytes",
        "sha256",
        "contents",
        "error",
        "created_at",
        "ready_at",
        "expires_at",
        "deleted_at",
    ]
    readonly_fields = fields

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        severity = {"ready": "ok", "failed": "danger", "expired": "muted"}.get(obj.status, "info")
        return status_badge(obj.get_status_display(), severity)


@admin.register(CallRectification)
class CallRectificationAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    list_display = ["__str__", "tenant", "request", "created_by", "created_at"]
    list_filter = [TENANT_FILTER]
    list_select_related = ["tenant", "created_by"]
    raw_id_fields = ["call", "request"]
