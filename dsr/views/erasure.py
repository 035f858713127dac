"""Dashboard pages for legal holds and erasure certificates (mounted under /dashboard/erasure/
by portal/dashboard_urls.py).

Everyone in the tenant reads its holds; placing and releasing one needs the admin role, as in
the API (``POST /api/v1/holds/``, ``.../release/``), and calls the same services. The
certificate page shows a request's erasure certificate as issued.
"""

from __future__ import annotations

from collections import Counter

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import reverse
from django.views.generic import DetailView, FormView

from calls.models import LegalHold
from calls.services.retention.holds import (
    held_calls,
    hold_apply,
    hold_placed_by,
    hold_placed_by_platform,
    hold_releasable_by,
    hold_release,
)
from dsr.forms import HoldTermsForm, ReasonForm
from dsr.models import DataSubjectRequest, ErasureItem
from dsr.services.erasure import certificate as certificates
from portal.content_security import allow_inline_styles
from portal.dashboard import ServiceFormMixin, TenantDashboardMixin, TenantObjectMixin
from portal.dashboard_lists import Column, TenantListView
from portal.models import Membership

ADMIN = Membership.Role.ADMIN
STATE_SEVERITY = {"active": "danger", "scheduled": "info", "expired": "muted", "released": "muted"}


def state_badge(hold: LegalHold) -> tuple[str, str]:
    state = hold.state()
    return state, STATE_SEVERITY[state]


def scope_text(hold: LegalHold) -> str:
    if hold.scope == LegalHold.Scope.CALLS:
        return f"{len(hold.call_links.all())} call(s)"
    if hold.scope == LegalHold.Scope.NUMBERS:
        return f"every call of {len(hold.numbers.all())} number(s)"
    end = f"{hold.period_to:%Y-%m-%d}" if hold.period_to else "open"
    return f"calls started {hold.period_from:%Y-%m-%d} – {end}"


class HoldListView(TenantListView):
    model = LegalHold
    nav = "dashboard:erasure:holds"
    template_name = "dashboard/holds/list.html"
    columns = [
        Column("Hold", str, link="dashboard:erasure:hold"),
        Column("Why", "get_reason_category_display"),
        Column("Scope", scope_text),
        Column("State", state_badge, kind="badge"),
        Column("Expires", "expires_at", kind="datetime", empty="when released"),
        Column("Placed", "applied_at", kind="datetime"),
        Column("Placed by", hold_placed_by),
    ]
    empty_title = "No legal holds"
    empty_text = (
        "A legal hold keeps calls that you must keep — for a court case, until a claim is "
        "time-barred, for a regulator — whatever else asks for their deletion: an erasure "
        "request defers them with the reason (Art. 17(3) GDPR), the retention sweep and every "
        "delete refuse them, until you release the hold."
    )

    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .select_related("applied_by", "applied_by_api_key")
            .prefetch_related("call_links", "numbers")
        )


class HoldDetailView(TenantDashboardMixin, TenantObjectMixin, DetailView):
    model = LegalHold
    nav = "dashboard:erasure:holds"
    template_name = "dashboard/holds/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        hold = self.object
        context.update(
            state=state_badge(hold),
            scope=scope_text(hold),
            calls=held_calls(hold).order_by("-started_at")[:50],
            numbers=[row.number for row in hold.numbers.all()],
            placed_by=hold_placed_by(hold),
            placed_by_platform=hold_placed_by_platform(hold),
            can_release=self.can(ADMIN)
            and hold.state() in ("active", "scheduled")
            and hold_releasable_by(hold, by=self.request.user),
        )
        return context


class HoldForm(HoldTermsForm):
    """The tenant's hold: on a subject's numbers, or on the calls of a period (specific calls
    are held from the API or by the DPO)."""

    scope = forms.ChoiceField(
        choices=[
            (LegalHold.Scope.NUMBERS, "Every call of a subject's numbers"),
            (LegalHold.Scope.PERIOD, "Every call that started in a period"),
        ],
        widget=forms.RadioSelect,
    )
    numbers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line, any format.",
    )
    period_from = forms.DateTimeField(required=False, help_text="Start (YYYY-MM-DD HH:MM).")
    period_to = forms.DateTimeField(required=False, help_text="End; empty for no end.")

    field_order = ["scope", "numbers", "period_from", "period_to"]

    def hold_kwargs(self) -> dict:
        data = self.cleaned_data
        numbers = [n.strip() for n in data["numbers"].replace(",", "\n").splitlines() if n.strip()]
        by_numbers = data["scope"] == LegalHold.Scope.NUMBERS
        return {
            **self.hold_terms(),
            "numbers": numbers if by_numbers else None,
            "period_from": None if by_numbers else data["period_from"],
            "period_to": None if by_numbers else data["period_to"],
        }


class HoldCreateView(ServiceFormMixin, TenantDashboardMixin, FormView):
    read_role = write_role = ADMIN
    nav = "dashboard:erasure:holds"
    form_class = HoldForm
    template_name = "dashboard/holds/form.html"

    def perform(self, form):
        hold = hold_apply(tenant=self.tenant, **form.hold_kwargs(), by=self.request.user)
        return self.done(
            f"{hold} is in force.", reverse("dashboard:erasure:hold", kwargs={"pk": hold.pk})
        )


class HoldReleaseView(ServiceFormMixin, TenantDashboardMixin, TenantObjectMixin, FormView):
    model = LegalHold
    read_role = write_role = ADMIN
    nav = "dashboard:erasure:holds"
    form_class = ReasonForm
    template_name = "dashboard/holds/release.html"

    def get(self, request, *args, **kwargs):
        self.require_releasable()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.require_releasable()
        return super().post(request, *args, **kwargs)

    def require_releasable(self) -> None:
        if not hold_releasable_by(self.get_object(), by=self.request.user):
            raise PermissionDenied(
                "This hold was placed by the platform's staff: only they can release it."
            )

    def get_context_data(self, **kwargs):
        self.object = self.get_object()
        return super().get_context_data(object=self.object, **kwargs)

    def perform(self, form):
        hold = hold_release(
            hold=self.get_object(), reason=form.cleaned_data["reason"], by=self.request.user
        )
        return self.done(
            f"{hold} released: the erasures it deferred are carried out now.",
            reverse("dashboard:erasure:hold", kwargs={"pk": hold.pk}),
        )


class CertificateView(TenantDashboardMixin, TenantObjectMixin, DetailView):
    """A request's erasure certificate, as issued (the readable page); until there is one, a
    page that says when it comes."""

    model = DataSubjectRequest
    template_name = "dashboard/holds/no_certificate.html"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        issued = certificates.certificate_latest(self.object)
        if issued is None:
            return self.render_to_response(self.get_context_data(object=self.object))
        return allow_inline_styles(HttpResponse(certificates.certificate_html(issued)))


def request_erasure_context(obj: DataSubjectRequest) -> dict:
    """What the request page shows of an erasure: counts erased, items kept and why, the
    certificate (``dashboard/holds/_request_erasure.html``)."""
    if obj.kind != "erasure":
        return {}
    items = list(obj.erasure_items.order_by("kind", "object_id"))
    if not items:
        return {}
    erased = Counter()
    for item in items:
        if item.status == ErasureItem.Status.ERASED:
            erased.update(item.counts or {})
    issued = certificates.certificate_latest(obj)
    return {
        "erasure": {
            "summary": certificates.describe_counts(erased),
            "deferred": [i for i in items if i.status == ErasureItem.Status.DEFERRED],
            "pending": sum(i.status == ErasureItem.Status.PENDING for i in items),
            "certificate": issued,
            "certificate_url": reverse("dashboard:erasure:certificate", kwargs={"pk": obj.pk}),
            "certificate_api": reverse("request-certificate", args=[obj.pk]),
        }
    }
