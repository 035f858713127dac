"""Admin: the consent ledger (read-only), purposes, notices, restrictions, SMS notices, and the
consent rate per purpose shown on the tenant's page."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join

from consent import selectors, services
from consent.models import (
    ConsentEvent,
    InboundSms,
    PrivacyNotice,
    ProcessingRestriction,
    Purpose,
    SmsNotice,
    Suppression,
)
from portal.access import visible_tenant_ids
from portal.admin import PortalModelAdmin, ReadOnlyAdminMixin, status_badge
from portal.errors import BusinessRuleError
from portal.models import Tenant
from portal.numbers import try_normalize_number


class VisibleRelatedFilter(admin.RelatedFieldListFilter):
    """A related-object filter offering only the tenants (or their purposes) the user may see."""

    def field_choices(self, field, request, model_admin):
        model = field.related_model
        tenant_ids = visible_tenant_ids(request.user)
        if model is Tenant:
            return [(t.pk, str(t)) for t in Tenant.objects.filter(id__in=tenant_ids)]
        rows = model.objects.filter(tenant_id__in=tenant_ids).select_related("tenant")
        return [(obj.pk, f"{obj} ({obj.tenant.slug})") for obj in rows.order_by("tenant", "pk")]


class NumberSearchMixin:
    """Search by phone number in any written form: the term is normalised (in the country of
    each tenant the user may see, when it has no country code) and matched exactly, so the
    search uses the number index instead of scanning the table."""

    search_fields = ["number"]
    search_help_text = "A phone number, in any usual form."

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        countries = set(
            Tenant.objects.filter(id__in=visible_tenant_ids(request.user)).values_list(
                "country", flat=True
            )
        )
        forms_ = {try_normalize_number(term, country=c) for c in countries | {None}} - {None}
        return queryset.filter(number__in=forms_ or {term}), False


def _rule_to_validation(exc: BusinessRuleError) -> ValidationError:
    return ValidationError(
        {field: messages for field, messages in exc.fields.items()} or exc.message
    )


@admin.register(ConsentEvent)
class ConsentEventAdmin(NumberSearchMixin, ReadOnlyAdminMixin, PortalModelAdmin):
    """The ledger: append-only, so it can be read and filtered, never edited or deleted."""

    list_display = [
        "occurred_at",
        "number",
        "purpose",
        "action_badge",
        "lawful_basis",
        "method",
        "notice",
        "source",
        "tenant",
    ]
    list_filter = [
        ("tenant", VisibleRelatedFilter),
        ("purpose", VisibleRelatedFilter),
        "action",
        "lawful_basis",
        "method",
        "source",
    ]
    list_select_related = ["tenant", "purpose", "notice"]
    fields = [
        "tenant",
        "number",
        "purpose",
        "action",
        "lawful_basis",
        "method",
        "notice",
        "evidence_call_id",
        "evidence_message_id",
        "evidence_document",
        "occurred_at",
        "recorded_at",
        "source",
        "recorded_by",
        "recorded_by_api_key",
    ]
    readonly_fields = fields

    @admin.display(description="Action", ordering="action")
    def action_badge(self, obj):
        severity = "ok" if obj.action == ConsentEvent.Action.GIVEN else "warning"
        return status_badge(obj.get_action_display(), severity)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # append-only: nothing is deleted from here
        return actions


PURPOSE_LAW_FIELDS = (
    "default_lawful_basis",
    "special_category",
    "direct_marketing",
    "compelling_grounds",
)


class PurposeForm(forms.ModelForm):
    class Meta:
        model = Purpose
        fields = [
            "tenant",
            "code",
            "description",
            "default_lawful_basis",
            "is_active",
            "special_category",
            "direct_marketing",
            "compelling_grounds",
        ]

    def clean(self):
        data = super().clean()
        try:
            if "code" in self.fields and data.get("code"):
                data["code"] = services.purpose_code_validate(data["code"])
            if "description" in data:
                data["description"] = services.purpose_description_validate(data["description"])
            services.purpose_law_validate(
                Purpose(**{f: data.get(f) for f in PURPOSE_LAW_FIELDS if f in data})
            )
        except BusinessRuleError as exc:
            raise _rule_to_validation(exc) from None
        return data


@admin.register(Purpose)
class PurposeAdmin(PortalModelAdmin):
    form = PurposeForm
    list_display = [
        "code",
        "tenant",
        "description",
        "default_lawful_basis",
        "special_category",
        "direct_marketing",
        "is_active",
    ]
    list_filter = [
        ("tenant", VisibleRelatedFilter),
        "default_lawful_basis",
        "special_category",
        "direct_marketing",
        "is_active",
    ]
    search_fields = ["code", "description"]
    list_select_related = ["tenant"]

    def get_readonly_fields(self, request, obj=None):
        # A code never changes (integrations and the ledger refer to it).
        return ["tenant", "code"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in ("description", *PURPOSE_LAW_FIELDS)}
        data["is_active"] = form.cleaned_data["is_active"]
        if change:
            saved = services.purpose_update(purpose=obj, **data)
        else:
            saved = services.purpose_create(
                tenant=form.cleaned_data["tenant"], code=form.cleaned_data["code"], **data
            )
        obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None):
        if obj is not None and selectors.purpose_in_use(obj):
            return False  # deactivate instead
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.purpose_delete(purpose=obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bulk delete would skip the in-use rule
        return actions


class NoticeForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")

    class Meta:
        model = PrivacyNotice
        fields = ["tenant", "version", "url", "effective_from", "text", "text_sha256"]

    def clean(self):
        data = super().clean()
        try:
            data["text_sha256"] = services.notice_digest(
                data.get("text") or "", data.get("text_sha256") or ""
            )
        except BusinessRuleError as exc:
            raise _rule_to_validation(exc) from None
        return data


@admin.register(PrivacyNotice)
class PrivacyNoticeAdmin(PortalModelAdmin):
    form = NoticeForm
    list_display = ["version", "tenant", "effective_from", "url", "text_sha256"]
    list_filter = [("tenant", VisibleRelatedFilter)]
    search_fields = ["version", "url"]
    list_select_related = ["tenant"]

    def get_readonly_fields(self, request, obj=None):
        return ["tenant"] if obj is not None else []

    def has_change_permission(self, request, obj=None):
        if obj is not None and selectors.notice_in_use(obj):
            return False  # shown to subjects: evidence, never edited
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and selectors.notice_in_use(obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        fields = ["version", "url", "effective_from", "text", "text_sha256"]
        data = {f: form.cleaned_data[f] for f in fields}
        if change:
            saved = services.notice_update(notice=obj, **data)
        else:
            saved = services.notice_create(tenant=form.cleaned_data["tenant"], **data)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.notice_delete(notice=obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(ProcessingRestriction)
class ProcessingRestrictionAdmin(NumberSearchMixin, ReadOnlyAdminMixin, PortalModelAdmin):
    """Placed and lifted by data-subject requests; listed here so staff can see them."""

    list_display = ["number", "kind", "tenant", "started_at", "lifted_at", "request_id", "state"]
    list_filter = [
        ("tenant", VisibleRelatedFilter),
        "kind",
        ("lifted_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["tenant"]

    @admin.display(description="State")
    def state(self, obj):
        return (
            status_badge("lifted", "muted") if obj.lifted_at else status_badge("in force", "danger")
        )


@admin.register(SmsNotice)
class SmsNoticeAdmin(NumberSearchMixin, ReadOnlyAdminMixin, PortalModelAdmin):
    list_display = ["sent_at", "number", "purpose", "notice", "message_id", "tenant"]
    list_filter = [("tenant", VisibleRelatedFilter)]
    list_select_related = ["tenant", "purpose", "notice"]


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    """What outlived an erasure, by the number's tombstone: read only (erasure writes it)."""

    list_display = ["kind", "purpose_code", "since", "fingerprint_short", "request_ref", "tenant"]
    list_filter = [("tenant", VisibleRelatedFilter), "kind"]
    list_select_related = ["tenant"]

    @admin.display(description="Tombstone")
    def fingerprint_short(self, obj):
        return f"{obj.fingerprint[:12]}…"

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(InboundSms)
class InboundSmsAdmin(NumberSearchMixin, ReadOnlyAdminMixin, PortalModelAdmin):
    list_display = ["received_at", "number", "outcome", "message_id", "tenant"]
    list_filter = [("tenant", VisibleRelatedFilter), "outcome"]
    list_select_related = ["tenant"]


def consent_rate_table(tenant: Tenant) -> str:
    """For the tenant's admin page: per purpose, numbers allowed now / numbers with a record."""
    rates = selectors.consent_rates(tenant=tenant)
    if not rates:
        return "No purposes defined."
    rows = format_html_join(
        "",
        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                rate.purpose.code,
                rate.purpose.get_default_lawful_basis_display(),
                rate.allowed,
                rate.total,
                "—" if rate.percent is None else f"{rate.percent}%",
            )
            for rate in rates
        ),
    )
    return format_html(
        '<table class="portal-consent-rates"><thead><tr><th>Purpose</th><th>Default basis</th>'
        "<th>Numbers allowed now</th><th>Numbers with a record</th><th>Rate</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        rows,
    )
