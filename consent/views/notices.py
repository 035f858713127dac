"""Privacy-notice versions: everyone reads; admins and owners publish them. A version shown to
subjects (named by a consent record or a sent SMS notice) is evidence: the ``notice_*``
services refuse to change or delete it, and the pages do not offer it."""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.views.generic import DetailView, FormView

from consent import selectors, services
from consent.forms import NoticeForm
from consent.models import PrivacyNotice
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
NAV = "dashboard:consent:notices"


def with_state(queryset):
    """Annotate ``superseded``: a later version is in effect now (one subquery per page)."""
    later = PrivacyNotice.objects.filter(
        tenant_id=OuterRef("tenant_id"),
        effective_from__gt=OuterRef("effective_from"),
        effective_from__lte=timezone.now(),
    )
    return queryset.annotate(superseded=Exists(later))


def notice_state(notice: PrivacyNotice) -> tuple[str, str]:
    if notice.effective_from > timezone.now():
        return "not yet in effect", "info"
    if notice.superseded:
        return "superseded", "muted"
    return "in effect", "ok"


def notice_url(notice: PrivacyNotice) -> str:
    return reverse("dashboard:consent:notice", kwargs={"pk": notice.pk})


class NoticeListView(TenantListView):
    model = PrivacyNotice
    nav = NAV
    template_name = "dashboard/consent/notices.html"
    columns = [
        Column("Version", "version", link="dashboard:consent:notice"),
        Column("In effect from", "effective_from", kind="datetime"),
        Column("State", notice_state, kind="badge"),
        Column("URL", "url"),
        Column("Published", "created_at", kind="date"),
    ]
    empty_title = "No privacy notice yet"
    empty_text = (
        "Consent is informed only if the subject was shown your privacy notice (Art. 7, 13): "
        "every consent names the version shown, and the SMS notice links to it. Publish the "
        "version in effect, with its URL."
    )

    def get_base_queryset(self):
        return with_state(super().get_base_queryset())


class NoticeDetailView(TenantDashboardMixin, TenantObjectMixin, DetailView):
    model = PrivacyNotice
    nav = NAV
    template_name = "dashboard/consent/notice_detail.html"

    def get_queryset(self):
        return with_state(super().get_queryset())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(state=notice_state(self.object), shown=selectors.notice_in_use(self.object))
        return context


class NoticeCreateView(ServiceFormMixin, TenantDashboardMixin, FormView):
    read_role = write_role = ADMIN
    nav = NAV
    form_class = NoticeForm
    template_name = "dashboard/consent/notice_form.html"

    def perform(self, form):
        notice = services.notice_create(tenant=self.tenant, **form.cleaned_data)
        return self.done(f"Privacy notice v{notice.version} published.", notice_url(notice))


class NoticeEditView(
    ObjectFormMixin, ServiceFormMixin, TenantDashboardMixin, TenantObjectMixin, FormView
):
    """Correct a version nobody has been shown yet (the service refuses one that was)."""

    model = PrivacyNotice
    read_role = write_role = ADMIN
    nav = NAV
    form_class = NoticeForm
    template_name = "dashboard/consent/notice_form.html"

    def get_initial(self):
        notice = self.object
        return {
            "version": notice.version,
            "url": notice.url,
            "effective_from": timezone.localtime(notice.effective_from),
            "text": notice.text,
            "text_sha256": "" if notice.text else notice.text_sha256,
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["shown"] = selectors.notice_in_use(self.object)
        return context

    def perform(self, form):
        notice = services.notice_update(notice=self.object, **form.cleaned_data)
        return self.done(f"Privacy notice v{notice.version} saved.", notice_url(notice))


class NoticeDeleteView(ConfirmActionView):
    model = PrivacyNotice
    read_role = write_role = ADMIN
    nav = NAV
    confirm_title = "Delete this privacy notice version?"
    confirm_explanation = (
        "Only a version nobody has been shown can be deleted: one named by a consent record "
        "or an SMS notice is evidence and stays."
    )
    confirm_button = "Delete the version"

    def perform(self, obj) -> str:
        services.notice_delete(notice=obj)
        return f"Privacy notice v{obj.version} deleted."

    def get_success_url(self) -> str:
        return reverse("dashboard:consent:notices")

    def get_cancel_url(self) -> str:
        return notice_url(self.object)
