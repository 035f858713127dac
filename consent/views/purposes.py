"""Purposes: everyone reads; admins and owners define, edit, deactivate and delete them through
the ``purpose_*`` services (no catch-all codes, codes never change, a purpose in use is only
deactivated)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.views.generic import DetailView, FormView

from consent import selectors, services
from consent.forms import PurposeCreateForm, PurposeEditForm
from consent.models import Purpose
from consent.views.mixins import ObjectFormMixin
from portal.dashboard import (
    ConfirmActionView,
    ServiceFormMixin,
    TenantDashboardMixin,
    TenantObjectMixin,
)
from portal.dashboard_lists import Column, TenantListView
from portal.models import Membership

ADMIN = Membership.Role.ADMIN
NAV = "dashboard:consent:purposes"


def purpose_state(purpose: Purpose) -> tuple[str, str]:
    return ("active", "ok") if purpose.is_active else ("deactivated", "muted")


def purpose_url(purpose: Purpose) -> str:
    return reverse("dashboard:consent:purpose", kwargs={"pk": purpose.pk})


class PurposeListView(TenantListView):
    model = Purpose
    nav = NAV
    template_name = "dashboard/consent/purposes.html"
    ordering = ("code",)
    columns = [
        Column("Code", "code", kind="code", link="dashboard:consent:purpose"),
        Column("Description", "description"),
        Column("Default basis", "get_default_lawful_basis_display"),
        Column("State", purpose_state, kind="badge"),
        Column("Created", "created_at", kind="date"),
    ]
    empty_title = "No purposes yet"
    empty_text = (
        "A purpose is one specific thing you do with the calls — quality assurance, handling "
        "complaints, marketing — with its lawful basis. Consent is recorded per purpose and "
        "calls are stored for purposes: define them before your integration sends either."
    )


class PurposeDetailView(TenantDashboardMixin, TenantObjectMixin, DetailView):
    model = Purpose
    nav = NAV
    template_name = "dashboard/consent/purpose_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        purpose = self.object
        [rate] = selectors.consent_rates(tenant=self.tenant, purposes=[purpose])
        ledger = reverse("dashboard:consent:ledger")
        context.update(
            rate=rate,
            state=purpose_state(purpose),
            in_use=selectors.purpose_in_use(purpose),
            ledger_url=f"{ledger}?{urlencode({'purpose': purpose.code})}",
        )
        return context


class PurposeCreateView(ServiceFormMixin, TenantDashboardMixin, FormView):
    read_role = write_role = ADMIN
    nav = NAV
    form_class = PurposeCreateForm
    template_name = "dashboard/consent/purpose_form.html"

    def perform(self, form):
        purpose = services.purpose_create(tenant=self.tenant, **form.cleaned_data)
        return self.done(f"Purpose {purpose.code} defined.", purpose_url(purpose))


class PurposeEditView(
    ObjectFormMixin, ServiceFormMixin, TenantDashboardMixin, TenantObjectMixin, FormView
):
    """Description and default basis; the code never changes (the ledger refers to it)."""

    model = Purpose
    read_role = write_role = ADMIN
    nav = NAV
    form_class = PurposeEditForm
    template_name = "dashboard/consent/purpose_form.html"

    def get_initial(self):
        return {
            "description": self.object.description,
            "default_lawful_basis": self.object.default_lawful_basis,
        }

    def perform(self, form):
        services.purpose_update(purpose=self.object, **form.cleaned_data)
        return self.done(f"Purpose {self.object.code} saved.", purpose_url(self.object))


class PurposeActivationView(ConfirmActionView):
    """Deactivate an active purpose, or reactivate a deactivated one."""

    model = Purpose
    read_role = write_role = ADMIN
    nav = NAV

    def get_context_data(self, **kwargs):
        active = self.object.is_active
        self.confirm_title = "Deactivate this purpose?" if active else "Reactivate this purpose?"
        self.confirm_button = "Deactivate the purpose" if active else "Reactivate the purpose"
        self.danger = active
        self.confirm_explanation = (
            "Nothing is processed for it any more: the consent check answers “not allowed” for "
            "every number, calls stored for it are refused or flagged, and no new consent can "
            "be recorded for it. Withdrawals can still be recorded, and its records stay."
            if active
            else "The consent check answers for it again from the ledger and its default "
            "lawful basis, and consent can be recorded for it."
        )
        return super().get_context_data(**kwargs)

    def perform(self, obj) -> str:
        purpose = services.purpose_update(purpose=obj, is_active=not obj.is_active)
        return f"Purpose {purpose.code} {'reactivated' if purpose.is_active else 'deactivated'}."

    def get_success_url(self) -> str:
        return purpose_url(self.object)


class PurposeDeleteView(ConfirmActionView):
    """Offered only for a purpose nothing refers to; the service refuses one in use."""

    model = Purpose
    read_role = write_role = ADMIN
    nav = NAV
    confirm_title = "Delete this purpose?"
    confirm_explanation = (
        "Only a purpose that no consent record or call names can be deleted; one in use can "
        "only be deactivated."
    )
    confirm_button = "Delete the purpose"

    def perform(self, obj) -> str:
        services.purpose_delete(purpose=obj)
        return f"Purpose {obj.code} deleted."

    def get_success_url(self) -> str:
        return reverse("dashboard:consent:purposes")

    def get_cancel_url(self) -> str:
        return purpose_url(self.object)
