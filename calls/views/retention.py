"""The dashboard's retention rules: everyone reads, admins and owners add, edit and delete
them through the same services as the API (``calls.services.retention_rule_*``)."""

from __future__ import annotations

from django.urls import reverse
from django.views.generic import FormView

from calls import selectors, services
from calls.forms import RetentionRuleForm
from calls.models import RetentionRule
from portal.dashboard import (
    ConfirmActionView,
    ServiceFormMixin,
    TenantDashboardMixin,
    TenantObjectMixin,
)
from portal.dashboard_lists import Column, TenantListView
from portal.models import Membership

ADMIN = Membership.Role.ADMIN


def _days(value: int | None) -> str:
    if value is None:
        return ""
    years = value / 365
    return f"{value} days" + (f" (about {years:.3g} years)" if value >= 365 else "")


class RetentionRuleListView(TenantListView):
    model = RetentionRule
    write_role = ADMIN
    nav = "dashboard:calls:retention-rules"
    template_name = "dashboard/calls/retention_rules.html"
    ordering = ("category",)
    columns = [
        Column("Category", "category", kind="code"),
        Column("Deleted after", lambda rule: _days(rule.max_age_days), empty="never"),
        Column("Kept at least", lambda rule: _days(rule.min_age_days), empty="no minimum"),
        Column("Ground", lambda rule: rule.get_legal_ground_display(), empty="—"),
        Column("Legal reference", "legal_reference"),
        Column("Created", "created_at", kind="date"),
    ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["without_rule"] = selectors.categories_without_rule(self.tenant)
        return context

    empty_title = "No retention rules yet"
    empty_text = (
        "Without a rule, calls are kept until someone deletes them. Add a rule per category: a "
        "maximum age for storage limitation and, where a law obliges you to keep calls, a minimum."
    )


class RetentionRuleFormMixin(ServiceFormMixin, TenantDashboardMixin):
    read_role = write_role = ADMIN
    nav = "dashboard:calls:retention-rules"
    form_class = RetentionRuleForm
    template_name = "dashboard/calls/retention_rule_form.html"

    def list_url(self) -> str:
        return reverse("dashboard:calls:retention-rules")


class RetentionRuleCreateView(RetentionRuleFormMixin, FormView):
    def perform(self, form):
        rule = services.retention_rule_create(tenant=self.tenant, **form.cleaned_data)
        return self.done(f"Retention rule for “{rule.category}” added.", self.list_url())


class RetentionRuleEditView(RetentionRuleFormMixin, TenantObjectMixin, FormView):
    model = RetentionRule

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().post(request, *args, **kwargs)

    def get_initial(self):
        return {name: getattr(self.object, name) for name in services.RULE_FIELDS}

    def perform(self, form):
        changes = {
            name: value
            for name, value in form.cleaned_data.items()
            if getattr(self.object, name) != value
        }
        if not changes:
            return self.done("Nothing changed.", self.list_url())
        rule = services.retention_rule_update(rule=self.object, **changes)
        return self.done(f"Retention rule for “{rule.category}” saved.", self.list_url())


class RetentionRuleDeleteView(ConfirmActionView):
    model = RetentionRule
    read_role = write_role = ADMIN
    nav = "dashboard:calls:retention-rules"
    confirm_title = "Delete this retention rule?"
    confirm_explanation = (
        "Calls of this category are then kept until someone deletes them: the sweep no longer "
        "deletes them after the maximum, and no minimum protects them from early deletion."
    )
    confirm_button = "Delete the rule"

    def perform(self, obj) -> str:
        services.retention_rule_delete(rule=obj)
        return f"Retention rule for “{obj.category}” deleted."

    def get_success_url(self) -> str:
        return reverse("dashboard:calls:retention-rules")
