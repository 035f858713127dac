"""Sending an SMS consent notice by hand, through ``sms_notice_send`` (as
``POST /api/v1/consent/sms-notices/``).

Agents and up may send it, as in the API: telling a caller how their data is used is
front-line work, and the notice records no consent (Recital 32). The form can be sent once
(a reloaded or double-clicked POST sends no second SMS to the subject); the result page shows
the message id to name when the subject's answer is recorded.
"""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.generic import DetailView, FormView

from consent import services
from consent.forms import SmsNoticeForm
from consent.models import ConsentEvent, SmsNotice
from consent.views.ledger import record_url, subject_url
from portal.dashboard import (
    ServiceFormMixin,
    TenantDashboardMixin,
    TenantObjectMixin,
    one_time_token,
    one_time_use,
)
from portal.models import Membership

AGENT = Membership.Role.AGENT
ONCE = "consent-sms-notice"


class SmsNoticeSendView(ServiceFormMixin, TenantDashboardMixin, FormView):
    read_role = write_role = AGENT
    nav = "dashboard:consent:subject"
    form_class = SmsNoticeForm
    template_name = "dashboard/consent/sms_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "tenant": self.tenant}

    def get_initial(self):
        initial = {"once": one_time_token(self.request, ONCE)}
        initial.update(
            {k: v for k, v in self.request.GET.items() if k in ("number", "purpose") and v}
        )
        return initial

    def perform(self, form):
        data = form.cleaned_data
        with one_time_use(self.request, ONCE, data["once"]) as fresh:
            if not fresh:
                return self.done(
                    "That form was already sent, so no second SMS went out.",
                    reverse("dashboard:consent:subject"),
                )
            sent = services.sms_notice_send(
                tenant=self.tenant,
                number=data["number"],
                purpose=data["purpose"] or None,
                notice_version=data["notice_version"] or None,
                sent_by=self.request.user,
            )
        return HttpResponseRedirect(reverse("dashboard:consent:sms-sent", kwargs={"pk": sent.pk}))


class SmsNoticeDetailView(TenantDashboardMixin, TenantObjectMixin, DetailView):
    model = SmsNotice
    nav = "dashboard:consent:subject"
    select_related = ("purpose", "notice", "sent_by", "sent_by_api_key")
    template_name = "dashboard/consent/sms_sent.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sent = self.object
        context.update(
            subject_url=subject_url(sent.number),
            # The subject's answer, recorded with this message id as the evidence.
            record_url=record_url(
                number=sent.number,
                purpose=sent.purpose.code,
                lawful_basis="consent",
                method=ConsentEvent.Method.SMS_NOTICE,
                notice_version=sent.notice.version,
                evidence_message_id=sent.message_id,
            ),
        )
        return context
