"""Admin base classes (tenant scoping, history, big tables) and the core's admin pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.html import format_html
from guardian.admin import GuardedModelAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from portal import services
from portal.models import ApiKey, Membership, Tenant, Webhook, WebhookDelivery
from portal.webhooks import webhook_send_test


@dataclass(frozen=True)
class TenantPanel:
    """A read-only block an app adds to the admin's tenant page (the core knows no app)."""

    key: str
    section: str
    label: str
    render: Callable  # (tenant) -> HTML
    order: int = 100

    @property
    def field(self) -> str:
        return f"panel_{self.key}"


_TENANT_PANELS: dict[str, TenantPanel] = {}


def register_tenant_panel(
    key: str, section: str, label: str, render: Callable, *, order: int = 100
) -> None:
    """Called from an app's ``AppConfig.ready``: show ``render(tenant)`` on the tenant page."""
    panel = TenantPanel(key=key, section=section, label=label, render=render, order=order)
    _TENANT_PANELS[key] = panel

    def show(model_admin, obj):
        return panel.render(obj) if obj and obj.pk else "—"

    show.short_description = label
    setattr(TenantAdmin, panel.field, show)


def tenant_panels() -> list[TenantPanel]:
    return sorted(_TENANT_PANELS.values(), key=lambda p: (p.order, p.key))


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL, an unfiltered list of a big table uses the planner's estimate instead of
    counting every row; filtered lists (smaller) are counted exactly."""

    @cached_property
    def count(self):
        query = self.object_list.query
        if connection.vendor == "postgresql" and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > 10_000:
                return int(row[0])
        return super().count


def status_badge(text: str, severity: str) -> str:
    """A coloured pill for list pages (severity: danger, warning, info, ok, muted)."""
    return format_html('<span class="portal-badge portal-badge-{}">{}</span>', severity, text)


class PortalModelAdmin(SimpleHistoryAdmin):
    """Every admin page: history, no full-table counts. Scoping to the user's tenants is not
    declared here but applied to every registered ModelAdmin (``portal.admin_scope``)."""

    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50


class ReadOnlyAdminMixin:
    """Records that nobody edits by hand (logs, ledgers)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(GuardedModelAdminMixin, PortalModelAdmin):
    list_display = [
        "name",
        "slug",
        "country",
        "purpose_gate",
        "auto_approve_access",
        "auto_approve_erasure",
        "is_active",
        "support_staff",
    ]
    list_filter = ["country", "is_active", "purpose_gate"]
    search_fields = ["name", "slug", "legal_name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "country", "timezone", "is_active"]}),
        (
            "Controller details (used in letters to subjects)",
            {"fields": ["legal_name", "address", "privacy_contact_email", "supervisory_authority"]},
        ),
        (
            "Policies",
            {
                "fields": [
                    "purpose_gate",
                    "require_notice_proof",
                    "auto_approve_access",
                    "auto_approve_erasure",
                    "sms_notice_template",
                ]
            },
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        panels = [(p.section, {"fields": [p.field]}) for p in tenant_panels()]
        return [*super().get_fieldsets(request, obj), *panels]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, *(p.field for p in tenant_panels())]

    @admin.display(description="Support staff")
    def support_staff(self, obj):
        users = obj.tenantuserobjectpermission_set.filter(
            permission__codename="serve_tenant"
        ).select_related("user")
        return ", ".join(sorted(p.user.username for p in users)) or "—"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                "tenantuserobjectpermission_set__user", "tenantuserobjectpermission_set__permission"
            )
        )


@admin.register(Membership)
class MembershipAdmin(PortalModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "user__email", "tenant__name"]
    list_select_related = ["user", "tenant"]
    autocomplete_fields = ["user", "tenant"]


@admin.register(ApiKey)
class ApiKeyAdmin(PortalModelAdmin):
    list_display = ["name", "tenant", "prefix", "created_by", "created_at", "last_used_at", "state"]
    list_filter = ["tenant", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "tenant__name"]
    list_select_related = ["tenant", "created_by"]
    readonly_fields = [
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    ]
    actions = ["revoke_keys"]

    @admin.display(description="State")
    def state(self, obj):
        if obj.revoked_at:
            return status_badge("revoked", "muted")
        return status_badge("active", "ok")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["tenant", "name"]
        return ["tenant", "name", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ["tenant", *self.readonly_fields]
        return []

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = services.api_key_create(tenant=obj.tenant, name=obj.name, created_by=request.user)
        obj.pk = issued.api_key.pk
        obj.prefix = issued.api_key.prefix
        self.message_user(
            request,
            format_html(
                "New API key (copy it now — it is shown only once): <code>{}</code>", issued.key
            ),
            messages.WARNING,
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # keys are revoked, never deleted: keep the trail
        return actions

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_keys(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/portal/confirm_action.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Revoke API keys?",
                    "objects": queryset,
                    "action": "revoke_keys",
                    "explanation": "Integrations using these keys will get 401 from now on.",
                    "opts": self.model._meta,
                },
            )
        count = 0
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key, revoked_by=request.user)
            count += 1
        self.message_user(request, f"Revoked {count} API key(s).", messages.SUCCESS)
        return None


@admin.register(Webhook)
class WebhookAdmin(PortalModelAdmin):
    list_display = ["url", "tenant", "events", "is_active", "created_at"]
    list_filter = ["tenant", "is_active"]
    list_select_related = ["tenant"]
    exclude = ["secret"]
    actions = ["send_test"]

    @admin.action(description="Send a test delivery", permissions=["change"])
    def send_test(self, request, queryset):
        for webhook in queryset:
            webhook_send_test(webhook=webhook)
        self.message_user(request, "Test deliveries queued.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    list_display = [
        "event",
        "tenant",
        "webhook",
        "status_badge",
        "attempts",
        "last_status_code",
        "created_at",
        "delivered_at",
        "next_attempt_at",
    ]
    list_filter = ["status", "event", "tenant"]
    list_select_related = ["tenant", "webhook"]
    date_hierarchy = None

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        severity = {"delivered": "ok", "failed": "danger", "retrying": "warning"}.get(
            obj.status, "info"
        )
        return status_badge(obj.get_status_display(), severity)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("portal.view_webhookdelivery")
