"""The core's dashboard pages: API keys, webhooks, tenant settings and policy, members.

Thin views over the same services as the API (``portal.services``, ``portal.webhooks``).
API keys and webhooks are for admins and owners only; settings are read by everyone and
changed by admins and owners; members are read-only.
"""

from __future__ import annotations

import django_filters
from django.contrib import messages
from django.db.models import OuterRef, Subquery
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.generic import DetailView, FormView, View

from portal import services, webhooks
from portal.dashboard import (
    ConfirmActionView,
    ServiceFormMixin,
    TenantDashboardMixin,
    TenantObjectMixin,
    one_time_token,
    one_time_use,
)
from portal.dashboard_lists import Column, TenantFilterSet, TenantListView
from portal.forms import ApiKeyCreateForm, TenantSettingsForm, WebhookCreateForm, WebhookEditForm
from portal.models import ApiKey, Membership, Tenant, Webhook, WebhookDelivery

ADMIN = Membership.Role.ADMIN
VIEWER = Membership.Role.VIEWER

DELIVERY_SEVERITY = {
    WebhookDelivery.Status.DELIVERED: "ok",
    WebhookDelivery.Status.RETRYING: "warning",
    WebhookDelivery.Status.FAILED: "danger",
    WebhookDelivery.Status.PENDING: "info",
}


def _once_refused(request, url: str):
    messages.info(
        request,
        "That form was already sent, so nothing new was created. A secret is shown only once: "
        "if it was lost, remove the old one and create a new one.",
    )
    return HttpResponseRedirect(url)


def _shown_once(request, template: str, context: dict):
    """The page that shows a secret: never cached, never shown again."""
    response = render(request, template, context)
    add_never_cache_headers(response)
    return response


# --- API keys ------------------------------------------------------------------------------


class ApiKeyFilterSet(TenantFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", label="Name contains")
    state = django_filters.ChoiceFilter(
        choices=[("active", "Active"), ("revoked", "Revoked")],
        method="filter_state",
        label="State",
        empty_label="Any",
    )

    class Meta:
        model = ApiKey
        fields = ["name", "state"]

    def filter_state(self, queryset, name, value):
        return queryset.filter(revoked_at__isnull=value == "active")


def api_key_state(api_key: ApiKey) -> tuple[str, str]:
    return ("active", "ok") if api_key.is_active else ("revoked", "muted")


class ApiKeyListView(TenantListView):
    model = ApiKey
    read_role = write_role = ADMIN
    nav = "dashboard:api-keys"
    template_name = "dashboard/api_keys/list.html"
    filterset_class = ApiKeyFilterSet
    list_select_related = ("created_by", "revoked_by")
    columns = [
        Column("Name", "name"),
        Column("Prefix", "prefix", kind="code"),
        Column("State", api_key_state, kind="badge"),
        Column("Last used", "last_used_at", kind="datetime", empty="never"),
        Column("Created", "created_at", kind="datetime"),
        Column("Created by", "created_by.username"),
        Column("Revoked", "revoked_at", kind="datetime"),
    ]
    empty_title = "No API keys yet"
    empty_text = (
        "An API key lets your telephony platform push calls and consent, check consent at call "
        "time and open requests. Create one for each system that connects."
    )


class ApiKeyCreateView(ServiceFormMixin, TenantDashboardMixin, FormView):
    read_role = write_role = ADMIN
    nav = "dashboard:api-keys"
    form_class = ApiKeyCreateForm
    template_name = "dashboard/api_keys/form.html"

    def get_initial(self):
        return {"once": one_time_token(self.request, "api-key")}

    def perform(self, form):
        with one_time_use(self.request, "api-key", form.cleaned_data["once"]) as fresh:
            if not fresh:
                return _once_refused(self.request, reverse("dashboard:api-keys"))
            issued = services.api_key_create(
                tenant=self.tenant, name=form.cleaned_data["name"], created_by=self.request.user
            )
        return _shown_once(
            self.request,
            "dashboard/api_keys/created.html",
            self.get_context_data(form=form, api_key=issued.api_key, clear_key=issued.key),
        )


class ApiKeyRevokeView(ConfirmActionView):
    model = ApiKey
    read_role = write_role = ADMIN
    nav = "dashboard:api-keys"
    confirm_title = "Revoke this API key?"
    confirm_explanation = (
        "Integrations using it get “401 Unauthorized” from the next request on. "
        "This cannot be undone: a revoked key stays listed, for the record."
    )
    confirm_button = "Revoke the key"

    def perform(self, obj) -> str:
        if not obj.is_active:
            return f"{obj} was already revoked."
        services.api_key_revoke(api_key=obj, revoked_by=self.request.user)
        return f"Revoked {obj}. Requests with it are refused from now on."

    def get_success_url(self) -> str:
        return reverse("dashboard:api-keys")


# --- webhooks ------------------------------------------------------------------------------


def webhook_events(webhook: Webhook) -> str:
    return ", ".join(webhook.events) if webhook.events else "all events"


def webhook_last_delivery(webhook: Webhook):
    if not webhook.last_status:
        return ("no deliveries yet", "muted")
    label = WebhookDelivery.Status(webhook.last_status).label
    return (label.lower(), DELIVERY_SEVERITY.get(webhook.last_status, "info"))


class WebhookListView(TenantListView):
    model = Webhook
    read_role = write_role = ADMIN
    nav = "dashboard:webhooks"
    template_name = "dashboard/webhooks/list.html"
    columns = [
        Column("URL", "url", link="dashboard:webhook-detail"),
        Column("Events", webhook_events),
        Column("Active", "is_active", kind="bool"),
        Column("Last delivery", webhook_last_delivery, kind="badge"),
        Column("Last delivery at", "last_at", kind="datetime"),
        Column("Created", "created_at", kind="datetime"),
    ]
    empty_title = "No webhooks yet"
    empty_text = (
        "A webhook tells your systems when a request changes state, when data must be corrected "
        "or erased downstream (Art. 19) and when a breach notice arrives."
    )

    def get_base_queryset(self):
        # The latest delivery per webhook as two subqueries: one query for the whole page.
        latest = WebhookDelivery.objects.filter(webhook=OuterRef("pk")).order_by("-created_at")
        return (
            super()
            .get_base_queryset()
            .annotate(
                last_status=Subquery(latest.values("status")[:1]),
                last_at=Subquery(latest.values("created_at")[:1]),
            )
        )


class WebhookCreateView(ServiceFormMixin, TenantDashboardMixin, FormView):
    read_role = write_role = ADMIN
    nav = "dashboard:webhooks"
    form_class = WebhookCreateForm
    template_name = "dashboard/webhooks/form.html"

    def get_initial(self):
        return {"once": one_time_token(self.request, "webhook")}

    def perform(self, form):
        with one_time_use(self.request, "webhook", form.cleaned_data["once"]) as fresh:
            if not fresh:
                return _once_refused(self.request, reverse("dashboard:webhooks"))
            webhook = webhooks.webhook_create(
                tenant=self.tenant, url=form.cleaned_data["url"], events=form.cleaned_data["events"]
            )
        return _shown_once(
            self.request,
            "dashboard/webhooks/created.html",
            self.get_context_data(
                form=form, webhook=webhook, signature_header=webhooks.SIGNATURE_HEADER
            ),
        )


class WebhookDetailView(TenantDashboardMixin, TenantObjectMixin, DetailView):
    model = Webhook
    read_role = write_role = ADMIN
    nav = "dashboard:webhooks"
    template_name = "dashboard/webhooks/detail.html"
    recent_deliveries = 20

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        deliveries = self.scope(WebhookDelivery.objects.filter(webhook=self.object))
        context.update(
            deliveries=[
                (d, DELIVERY_SEVERITY.get(d.status, "info"))
                for d in deliveries.order_by("-created_at")[: self.recent_deliveries]
            ],
            events=[(e, webhooks.EVENT_TYPES.get(e, "")) for e in self.object.events],
            signature_header=webhooks.SIGNATURE_HEADER,
        )
        return context


class WebhookEditView(ServiceFormMixin, TenantDashboardMixin, TenantObjectMixin, FormView):
    model = Webhook
    read_role = write_role = ADMIN
    nav = "dashboard:webhooks"
    form_class = WebhookEditForm
    template_name = "dashboard/webhooks/form.html"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().post(request, *args, **kwargs)

    def get_initial(self):
        webhook = self.object
        return {"url": webhook.url, "events": webhook.events, "is_active": webhook.is_active}

    def perform(self, form):
        webhooks.webhook_update(webhook=self.object, **form.cleaned_data)
        url = reverse("dashboard:webhook-detail", kwargs={"pk": self.object.pk})
        return self.done("Webhook saved.", url)


class WebhookDeleteView(ConfirmActionView):
    model = Webhook
    read_role = write_role = ADMIN
    nav = "dashboard:webhooks"
    confirm_title = "Delete this webhook?"
    confirm_explanation = (
        "Deliveries to this endpoint stop at once, and its delivery log is deleted with it."
    )
    confirm_button = "Delete the webhook"

    def perform(self, obj) -> str:
        webhooks.webhook_delete(webhook=obj)
        return f"Deleted the webhook to {obj.url}."

    def get_success_url(self) -> str:
        return reverse("dashboard:webhooks")

    def get_cancel_url(self) -> str:
        return reverse("dashboard:webhook-detail", kwargs={"pk": self.object.pk})


class WebhookTestView(TenantDashboardMixin, TenantObjectMixin, View):
    """POST: send a signed test delivery now and report what the endpoint answered."""

    model = Webhook
    read_role = write_role = ADMIN

    def post(self, request, *args, **kwargs):
        webhook = self.get_object()
        delivery = webhooks.webhook_send_test(webhook=webhook)
        delivery.refresh_from_db()
        if delivery.status == WebhookDelivery.Status.DELIVERED:
            messages.success(
                request,
                f"Test delivery sent: the endpoint answered HTTP {delivery.last_status_code}.",
            )
        elif delivery.status == WebhookDelivery.Status.PENDING:
            messages.info(request, "Test delivery queued: reload this page in a moment.")
        else:
            messages.error(
                request,
                f"Test delivery failed: {delivery.last_error or 'no answer'}. "
                "It will be retried with backoff.",
            )
        url = reverse("dashboard:webhook-detail", kwargs={"pk": webhook.pk})
        return HttpResponseRedirect(f"{url}#deliveries")


# --- settings and members ------------------------------------------------------------------


def setting_display(tenant: Tenant, field: str) -> str:
    value = getattr(tenant, field)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if field == "purpose_gate":
        return tenant.get_purpose_gate_display()
    return value or "—"


class TenantSettingsView(ServiceFormMixin, TenantDashboardMixin, FormView):
    """Controller details and automation policy: admins and owners edit, everyone reads."""

    read_role = VIEWER
    write_role = ADMIN
    nav = "dashboard:settings"
    form_class = TenantSettingsForm
    template_name = "dashboard/settings/detail.html"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        # A fresh copy: a form that fails validation must not leave changes on self.tenant.
        kwargs["instance"] = Tenant.objects.get(pk=self.tenant.pk)
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        context["read_only_sections"] = [
            (title, [(form[name].label, setting_display(self.tenant, name)) for name in names])
            for title, names in TenantSettingsForm.SECTIONS
        ]
        return context

    def perform(self, form):
        url = reverse("dashboard:settings")
        # Compared after cleaning: "de" for "DE" is no change, and writes no history.
        changes = {
            name: value
            for name, value in form.cleaned_data.items()
            if getattr(self.tenant, name) != value
        }
        if not changes:
            return self.done("Nothing changed.", url, messages.INFO)
        services.tenant_update_settings(tenant=self.tenant, **changes)
        labels = "; ".join(str(form[name].label) for name in changes)
        return self.done(f"Settings saved: {labels}.", url)


class MemberFilterSet(TenantFilterSet):
    role = django_filters.ChoiceFilter(choices=Membership.Role.choices, empty_label="Any")

    class Meta:
        model = Membership
        fields = ["role"]


class MemberListView(TenantListView):
    model = Membership
    nav = "dashboard:members"
    template_name = "dashboard/members.html"
    filterset_class = MemberFilterSet
    list_select_related = ("user",)
    ordering = ("user__username",)
    columns = [
        Column("Username", "user.username"),
        Column("Name", "user.get_full_name"),
        Column("Email", "user.email"),
        Column("Role", "get_role_display"),
        Column("Member since", "created_at", kind="date"),
    ]
    empty_title = "No members"
