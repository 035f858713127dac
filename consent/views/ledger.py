"""The ledger pages: the ledger with filters, one event, a subject (the check's answer per
purpose, restrictions, history), recording by hand and the withdraw button.

Events are recorded through ``consent_give`` / ``consent_withdraw`` — the API's services, rules
and messages — with ``source="dashboard"`` and the user as ``recorded_by``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.views.generic import DetailView, FormView

from calls.selectors import calls_informed
from consent import selectors, services
from consent.filters import ConsentLedgerFilterSet
from consent.forms import (
    ConsentRecordForm,
    ConsentWithdrawForm,
    SubjectLookupForm,
    rule_error_on_form_fields,
)
from consent.models import ConsentEvent, LawfulBasis, ProcessingRestriction, SmsNotice
from portal.dashboard import (
    ConfirmActionView,
    ServiceFormMixin,
    TenantDashboardMixin,
    TenantDashboardView,
    TenantObjectMixin,
    add_rule_error,
)
from portal.dashboard_lists import Column, TenantListView, WindowPaginator
from portal.errors import BusinessRuleError
from portal.models import Membership

AGENT = Membership.Role.AGENT
DASHBOARD = ConsentEvent.Source.DASHBOARD
BASIS_LABELS = dict(LawfulBasis.choices)


def subject_url(number: str) -> str:
    """The subject page of a number (E.164 or any form the page understands)."""
    return f"{reverse('dashboard:consent:subject')}?{urlencode({'number': number})}"


def record_url(**prefill: str) -> str:
    """The record form with fields filled in (see ``ConsentRecordView.prefill``)."""
    return f"{reverse('dashboard:consent:record')}?{urlencode(prefill)}"


# --- ledger cells ---------------------------------------------------------------------------


def action_state(event: ConsentEvent) -> tuple[str, str]:
    if (
        event.method == ConsentEvent.Method.IVR_ANNOUNCEMENT
        and event.lawful_basis == LawfulBasis.CONSENT
        and event.action == ConsentEvent.Action.GIVEN
    ):
        # Recorded before such events were refused: silence is no consent (Art. 4(11)).
        return "announcement only, not consent", "danger"
    if event.action == ConsentEvent.Action.GIVEN:
        return "given", "ok"
    return "withdrawn", "warning"


def number_link(event: ConsentEvent) -> str:
    return format_html('<a href="{}">{}</a>', subject_url(event.number), event.number)


def recorded_by(event: ConsentEvent) -> str:
    if event.recorded_by_api_key_id:
        return f"API key {event.recorded_by_api_key.prefix}"
    if event.recorded_by_id:
        return event.recorded_by.get_username()
    return ""


def evidence_text(event: ConsentEvent) -> str:
    parts = []
    if event.evidence_call_id:
        parts.append(f"call {event.evidence_call_id}")
    if event.evidence_message_id:
        parts.append(f"SMS {event.evidence_message_id}")
    if event.evidence_document:
        parts.append(event.evidence_document)
    return "; ".join(parts)


EVENT_COLUMNS = [
    Column("Occurred", "occurred_at", kind="datetime", link="dashboard:consent:event"),
    Column("Number", number_link),
    Column("Purpose", "purpose.code", kind="code"),
    Column("Action", action_state, kind="badge"),
    Column("Basis", "get_lawful_basis_display"),
    Column("Method", "get_method_display"),
    Column("Source", "get_source_display"),
    Column("Recorded by", recorded_by),
]
HISTORY_COLUMNS = [c for c in EVENT_COLUMNS if c.label != "Number"] + [
    Column("Evidence", evidence_text),
    Column("Notice", "notice.version"),
]
LEDGER_SELECT_RELATED = ("purpose", "notice", "recorded_by", "recorded_by_api_key")


class LedgerView(TenantListView):
    """The append-only ledger, newest first, with filters; every role reads it."""

    model = ConsentEvent
    nav = "dashboard:consent:ledger"
    template_name = "dashboard/consent/ledger.html"
    filterset_class = ConsentLedgerFilterSet
    list_select_related = ("purpose", "recorded_by", "recorded_by_api_key")
    columns = EVENT_COLUMNS
    empty_title = "No consent recorded yet"
    empty_text = (
        "Consent reaches the ledger from your telephony platform through the API "
        "(POST /api/v1/consents/, at the moment the caller agrees), or by hand here — for "
        "example from a letter or a signed form. Each event names one number, one purpose, the "
        "lawful basis, how it was obtained and the privacy notice shown."
    )


class EventDetailView(TenantDashboardMixin, TenantObjectMixin, DetailView):
    model = ConsentEvent
    nav = "dashboard:consent:ledger"
    template_name = "dashboard/consent/event_detail.html"
    select_related = LEDGER_SELECT_RELATED

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        event = self.object
        context.update(
            subject_url=subject_url(event.number),
            action=action_state(event),
            recorded_by=recorded_by(event),
        )
        return context


# --- a subject: state per purpose, restrictions, history ------------------------------------


class SubjectView(TenantDashboardView):
    """Enter a number in any form: the consent check's answer for every purpose (the same as
    ``GET /api/v1/consent/check/``), restrictions and objections in force, and the number's
    whole history (paged without counting)."""

    template_name = "dashboard/consent/subject.html"
    nav = "dashboard:consent:subject"
    history_per_page = 50
    recent_sms_notices = 10

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = SubjectLookupForm(self.request.GET or None, country=self.tenant.country)
        context["form"] = form
        if form.is_bound and form.is_valid():
            context.update(self.subject(form.cleaned_data["number"]))
        return context

    def subject(self, number: str) -> dict:
        history = selectors.consent_history(tenant=self.tenant, number=number)
        paginator = WindowPaginator(history, self.history_per_page)
        page = paginator.page(self.request.GET.get("page") or 1)
        total, total_capped = paginator.total(page)
        restrictions = self.scope(ProcessingRestriction.objects).filter(
            number=number, lifted_at__isnull=True
        )
        sms_notices = (
            self.scope(SmsNotice.objects)
            .filter(number=number)
            .select_related("purpose", "notice")
            .order_by("-sent_at")[: self.recent_sms_notices]
        )
        return {
            "number": number,
            "answers": [
                {
                    "code": row.code,
                    "is_active": row.is_active,
                    "answer": row.answer,
                    "basis_label": BASIS_LABELS.get(row.answer.basis, ""),
                    "consent_given": row.consent_given,
                }
                for row in selectors.consent_check_all(self.tenant, number)
            ],
            "restrictions": list(restrictions.order_by("kind", "started_at")),
            "sms_notices": list(sms_notices),
            "informed_calls": calls_informed(tenant=self.tenant, number=number),
            "record_url": record_url(number=number),
            "sms_url": f"{reverse('dashboard:consent:sms')}?{urlencode({'number': number})}",
            # dashboard/includes/table.html
            "object_list": page.object_list,
            "page_obj": page,
            "total": total,
            "total_capped": total_capped,
            "columns": HISTORY_COLUMNS,
            "empty_title": "Nothing recorded for this number",
            "empty_text": "The answers above come from each purpose's default lawful basis.",
        }


# --- recording by hand ----------------------------------------------------------------------


class ConsentRecordView(ServiceFormMixin, TenantDashboardMixin, FormView):
    """Give or withdraw by hand, through ``consent_give`` / ``consent_withdraw``."""

    read_role = write_role = AGENT
    nav = "dashboard:consent:ledger"
    form_class = ConsentRecordForm
    template_name = "dashboard/consent/record.html"
    # Links (subject page, SMS notice sent) may fill these in.
    prefill = (
        "action",
        "number",
        "purpose",
        "lawful_basis",
        "method",
        "notice_version",
        "evidence_message_id",
    )

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "tenant": self.tenant}

    def get_initial(self):
        initial = super().get_initial()
        in_effect = selectors.notice_in_effect(self.tenant)
        if in_effect is not None:
            initial["notice_version"] = in_effect.version
        initial.update({k: v for k, v in self.request.GET.items() if k in self.prefill and v})
        return initial

    def perform(self, form):
        giving = form.cleaned_data["action"] == ConsentEvent.Action.GIVEN
        service = services.consent_give if giving else services.consent_withdraw
        try:
            event = service(
                tenant=self.tenant,
                source=DASHBOARD,
                recorded_by=self.request.user,
                **form.service_arguments(),
            )
        except BusinessRuleError as error:
            raise rule_error_on_form_fields(error) from None
        verb = "gave" if giving else "withdrew"
        basis = "consent" if event.lawful_basis == LawfulBasis.CONSENT else event.lawful_basis
        return self.done(
            f"Recorded in the ledger: {event.number} {verb} {basis.replace('_', ' ')} for "
            f"{event.purpose.code}.",
            subject_url(event.number),
        )


class ConsentWithdrawView(ConfirmActionView):
    """The withdraw button of the subject page: a short confirmation (how, and when — now by
    default), then ``consent_withdraw`` with the number and purpose of the consent in force.

    The URL names the giving event the button was shown for; if that consent is no longer in
    force (withdrawn meanwhile, a second click), nothing is recorded."""

    model = ConsentEvent
    read_role = write_role = AGENT
    nav = "dashboard:consent:subject"
    select_related = ("purpose",)
    template_name = "dashboard/consent/withdraw.html"
    confirm_title = "Withdraw this consent?"
    confirm_explanation = (
        "A withdrawal is a new event in the ledger; the consent stays on record as it was "
        "given. From now on the consent check answers “not allowed” for this purpose."
    )
    confirm_button = "Withdraw consent"

    def not_in_force(self, *, lock: bool = False) -> str:
        """Why there is nothing to withdraw, or "" when the consent is in force."""
        event = self.object
        if event.action != ConsentEvent.Action.GIVEN or event.lawful_basis != LawfulBasis.CONSENT:
            return "This event is not a consent given: there is nothing to withdraw."
        if selectors.consent_given_state(
            tenant=self.tenant,
            number=event.number,
            purpose_code=event.purpose.code,
            for_update=lock,
        ):
            return ""
        return (
            f"{event.number} has no consent in force for {event.purpose.code} any more: "
            "nothing was recorded."
        )

    def nothing_to_withdraw(self, reason: str):
        messages.info(self.request, reason)
        return HttpResponseRedirect(self.get_success_url())

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        if reason := self.not_in_force():
            return self.nothing_to_withdraw(reason)
        return self.render_to_response(self.get_context_data(form=ConsentWithdrawForm()))

    def post(self, request, *args, **kwargs):
        self.object = event = self.get_object()
        if reason := self.not_in_force():
            return self.nothing_to_withdraw(reason)
        form = ConsentWithdrawForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        data = form.cleaned_data
        try:
            with transaction.atomic():
                # Checked again with the state row locked: of two clicks sent at once, the
                # second waits for the first and then finds nothing left to withdraw.
                if reason := self.not_in_force(lock=True):
                    return self.nothing_to_withdraw(reason)
                services.consent_withdraw(
                    tenant=self.tenant,
                    number=event.number,
                    purpose=event.purpose,
                    method=data["method"],
                    evidence={"document": data["evidence_document"]},
                    occurred_at=data["occurred_at"],
                    source=DASHBOARD,
                    recorded_by=request.user,
                )
        except BusinessRuleError as error:
            add_rule_error(form, rule_error_on_form_fields(error))
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(
            request,
            f"Consent withdrawn: {event.number} for {event.purpose.code}. "
            "The consent check now answers “not allowed”.",
        )
        return HttpResponseRedirect(self.get_success_url())

    def get_success_url(self) -> str:
        return subject_url(self.object.number)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["event"] = self.object
        context["object"] = f"{self.object.number} — {self.object.purpose.code}"
        return context
