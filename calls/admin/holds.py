"""Legal holds in the admin: the list (scope, state, expiry), the DPO's form to place one, the
release (with a reason, on a confirmation page), and the action on selected calls."""

from __future__ import annotations

from collections import defaultdict

from django import forms as django_forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from calls import forms
from calls.models import LegalHold, LegalHoldNumber
from calls.services.retention.holds import active_holds, hold_apply, hold_release
from portal.access import visible_tenants
from portal.admin import PortalModelAdmin, status_badge
from portal.errors import BusinessRuleError
from portal.numbers import try_normalize_number

STATE_SEVERITY = {"active": "danger", "scheduled": "info", "expired": "muted", "released": "muted"}


def _form_error(form: django_forms.Form, exc: BusinessRuleError) -> None:
    for name, problems in (exc.fields or {None: [exc.message]}).items():
        form.add_error(name if name in form.fields else None, " ".join(problems))


class HoldStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "In force"), ("ended", "Released or expired")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return active_holds(queryset=queryset)
        if self.value() == "ended":
            return queryset.exclude(pk__in=active_holds(queryset=queryset).values("pk"))
        return queryset


class LegalHoldNumberInline(admin.TabularInline):
    model = LegalHoldNumber
    extra = 0
    fields = ["number"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LegalHold)
class LegalHoldAdmin(PortalModelAdmin):
    list_display = [
        "__str__",
        "tenant",
        "reason_category",
        "scope_summary",
        "state_badge",
        "expires_at",
        "applied_at",
        "applied_by",
    ]
    list_filter = [
        HoldStateFilter,
        "reason_category",
        "scope",
        ("tenant", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["tenant", "applied_by"]
    search_fields = ["reason"]
    search_help_text = "A number in any format, or words of the reason."
    change_form_template = "admin/calls/legalhold/change_form.html"
    inlines = [LegalHoldNumberInline]
    actions = ["release_holds"]
    fields = [
        "tenant",
        "reason_category",
        "legal_ground",
        "reason",
        "scope_summary",
        "state_badge",
        "starts_at",
        "expires_at",
        "applied_at",
        "applied_by",
        "applied_by_api_key",
        "released_at",
        "released_by",
        "released_by_api_key",
        "release_reason",
    ]
    readonly_fields = fields

    @admin.display(description="Scope")
    def scope_summary(self, obj):
        if obj.scope == LegalHold.Scope.CALLS:
            ids = sorted(link.call_id for link in obj.call_links.all())
            shown = ", ".join(map(str, ids[:10])) + (" …" if len(ids) > 10 else "")
            return f"{len(ids)} call(s): {shown}"
        if obj.scope == LegalHold.Scope.NUMBERS:
            return f"every call of {obj.numbers.count()} number(s)"
        end = f"{obj.period_to:%Y-%m-%d %H:%M}" if obj.period_to else "no end"
        return f"calls started {obj.period_from:%Y-%m-%d %H:%M} – {end}"

    @admin.display(description="State")
    def state_badge(self, obj):
        state = obj.state()
        return status_badge(state, STATE_SEVERITY[state])

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("call_links")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        countries = set(visible_tenants(request.user).values_list("country", flat=True))
        numbers = {try_normalize_number(term, country=c) for c in countries | {None}} - {None}
        if term and numbers:
            named = LegalHoldNumber.objects.filter(number__in=numbers).values("hold_id")
            return queryset.filter(Q(pk__in=named) | Q(reason__icontains=term)), False
        return super().get_search_results(request, queryset, search_term)

    def has_change_permission(self, request, obj=None):
        return False  # a hold is evidence: it is released, never edited

    def has_delete_permission(self, request, obj=None):
        return False

    def has_release_permission(self, request):
        return request.user.has_perm("calls.change_legalhold")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_urls(self):
        return [
            path(
                "<path:object_id>/release/",
                self.admin_site.admin_view(self.release_view),
                name="calls_legalhold_release",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if obj is not None:
            from calls.services.retention.holds import held_calls

            extra["held_calls"] = held_calls(obj).order_by("-started_at")[:25]
            if obj.state() in ("active", "scheduled") and self.has_release_permission(request):
                extra["release_url"] = reverse("admin:calls_legalhold_release", args=[obj.pk])
        return super().change_view(request, object_id, form_url, extra)

    # -- placing a hold ---------------------------------------------------------------------

    def has_add_permission(self, request):
        return request.user.has_perm("calls.add_legalhold")

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = forms.HoldApplyForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                hold = hold_apply(**form.hold_kwargs(), by=request.user)
            except BusinessRuleError as exc:
                _form_error(form, exc)
            else:
                self.log_addition(request, hold, [{"added": {}}])
                self.message_user(request, f"{hold} is in force.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:calls_legalhold_change", args=[hold.pk]))
        return TemplateResponse(
            request,
            "admin/dsr/datasubjectrequest/action.html",
            {
                **self.admin_site.each_context(request),
                "title": "Place a legal hold",
                "explanation": "Held calls cannot be erased by anything — an erasure request, "
                "the retention sweep, an API or admin delete — until the hold is released or "
                "expires. Erasure requests defer them, with this reason (Art. 17(3)).",
                "form": form,
                "opts": self.opts,
                "submit_label": "Place the hold",
            },
            status=400 if form.errors else 200,
        )

    # -- releasing ----------------------------------------------------------------------------

    def _release(self, request, holds, reason) -> None:
        released = 0
        for hold in holds:
            try:
                hold_release(hold=hold, reason=reason, by=request.user)
            except BusinessRuleError as exc:
                self.message_user(request, f"{hold}: {exc.message}", messages.ERROR)
            else:
                self.log_change(request, hold, f"Released: {reason}")
                released += 1
        if released:
            self.message_user(
                request,
                f"Released {released} hold(s); the erasures they deferred resume now.",
                messages.SUCCESS,
            )

    def _confirm(self, request, holds, form, action=""):
        return TemplateResponse(
            request,
            "admin/portal/confirm_action.html",
            {
                **self.admin_site.each_context(request),
                "title": "Release legal holds?" if len(holds) != 1 else f"Release {holds[0]}?",
                "objects": holds,
                "action": action,
                "explanation": "Released data is no longer kept by these holds: erasures they "
                "deferred are carried out at once, and the retention sweep may delete it.",
                "form": form,
                "opts": self.opts,
            },
        )

    @admin.action(description="Release the selected holds…", permissions=["release"])
    def release_holds(self, request, queryset):
        holds = list(queryset)
        form = forms.ReasonForm(request.POST if request.POST.get("confirm") == "yes" else None)
        if not form.is_valid():
            return self._confirm(request, holds, form, action="release_holds")
        self._release(request, holds, form.cleaned_data["reason"])
        return None

    def release_view(self, request, object_id):
        hold = self.get_object(request, object_id)
        if hold is None:
            raise Http404
        if not self.has_release_permission(request):
            raise PermissionDenied
        form = forms.ReasonForm(request.POST if request.method == "POST" else None)
        if not form.is_valid():
            return self._confirm(request, [hold], form)
        self._release(request, [hold], form.cleaned_data["reason"])
        return HttpResponseRedirect(reverse("admin:calls_legalhold_change", args=[hold.pk]))


def place_hold_on_calls(model_admin, request, queryset):
    """The Call admin's action: hold the selected calls (one hold per tenant), after a
    confirmation page with the hold's reason."""
    calls = list(queryset.select_related("tenant"))
    confirmed = request.POST.get("confirm") == "yes"
    form = forms.HoldTermsForm(request.POST if confirmed else None)
    if not form.is_valid():
        return TemplateResponse(
            request,
            "admin/portal/confirm_action.html",
            {
                **model_admin.admin_site.each_context(request),
                "title": "Place a legal hold on these calls?",
                "objects": calls,
                "action": "place_legal_hold",
                "explanation": "The calls, their recordings and transcripts will be kept — no "
                "erasure request, retention sweep or delete can remove them — until the hold is "
                "released or expires.",
                "form": form,
                "opts": model_admin.opts,
            },
        )
    by_tenant = defaultdict(list)
    for call in calls:
        by_tenant[call.tenant].append(call.pk)
    for tenant, call_ids in by_tenant.items():
        try:
            hold = hold_apply(tenant=tenant, calls=call_ids, **form.hold_terms(), by=request.user)
        except BusinessRuleError as exc:
            model_admin.message_user(request, f"{tenant}: {exc.message}", messages.ERROR)
            continue
        url = reverse("admin:calls_legalhold_change", args=[hold.pk])
        model_admin.message_user(
            request,
            format_html(
                '<a href="{}">{}</a> placed on {} call(s) of {}.', url, hold, len(call_ids), tenant
            ),
            messages.SUCCESS,
        )
    return None


def hold_expiry_label(hold: LegalHold) -> str:
    days = (hold.expires_at - timezone.now()).days
    return f"expires {hold.expires_at:%Y-%m-%d}" + (f" (in {days} d)" if days >= 0 else "")
