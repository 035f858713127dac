"""The dashboard's call pages: the list (search by number in any format, filters), the call
page (details, the lawful basis at the time, the player and the transcript — each consultation
logged with its purpose first —, the access log), the recording stream, deleting a call through
``services.call_delete``, and the overview panel."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.generic import DetailView, View

from calls import selectors, services
from calls.filters import CallFilterSet
from calls.forms import CallDeletionForm, ConsultationForm
from calls.models import Call, RecordingAccess, RetentionRule
from calls.services import OpenRecording
from calls.templatetags.calls import phone
from calls.views.media import (
    CONSULTATION_TTL,
    consultant,
    consultation_for_token,
    consultation_token,
    recording_response,
)
from consent.models import LawfulBasis
from portal.access import is_dpo
from portal.charts import weekly_counts
from portal.dashboard import ConfirmActionView, TenantDashboardMixin, TenantObjectMixin
from portal.dashboard_lists import Column, TenantListView
from portal.errors import BusinessRuleError
from portal.models import Membership
from portal.templatetags.dashboard import badge

ADMIN = Membership.Role.ADMIN
AGENT = Membership.Role.AGENT

# --- the call list ------------------------------------------------------------------------


def call_numbers(call: Call) -> str:
    return format_html(
        '<span class="nowrap">{}</span> → <span class="nowrap">{}</span>',
        phone(call.caller),
        phone(call.callee),
    )


def call_duration(call: Call) -> str:
    seconds = call.duration_seconds
    if seconds is None:
        return ""
    return f"{seconds // 60}:{seconds % 60:02d}"


def call_purposes(call: Call) -> str:
    return ", ".join(p.code for p in call.purposes.all())


def call_media_badges(call: Call):
    parts = [
        badge(name, "info")
        for name in ("recording", "transcript")
        if selectors.call_media(call, name) is not None
    ]
    return format_html_join(" ", "{}", ((part,) for part in parts))


def call_flag_badges(call: Call):
    parts = []
    if call.is_restricted:
        parts.append(badge("restricted", "danger"))
    if call.gate_flags:
        parts.append(badge(f"no basis: {', '.join(call.gate_flags)}", "warning"))
    return format_html_join(" ", "{}", ((part,) for part in parts))


class CallListView(TenantListView):
    model = Call
    nav = "dashboard:calls:list"
    template_name = "dashboard/calls/list.html"
    filterset_class = CallFilterSet
    list_select_related = ("recording", "transcript")
    columns = [
        Column("Started", "started_at", kind="datetime", link="dashboard:calls:detail"),
        Column("Caller → callee", call_numbers),
        Column("Direction", "get_direction_display"),
        Column("Flags", call_flag_badges),
        Column("Media", call_media_badges),
        Column("Purposes", call_purposes),
        Column("Category", "category"),
        Column("Duration", call_duration),
    ]
    empty_title = "No calls yet"
    empty_text = (
        "Calls arrive from your telephony integration through the API (POST /api/v1/calls/, "
        "one call or a batch of 500), with their recordings and transcripts."
    )

    def get_base_queryset(self):
        # Purposes of the page's rows in one query; newest first on the (tenant, started_at)
        # index.
        return (
            super().get_base_queryset().prefetch_related("purposes").order_by("-started_at", "-id")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["categories"] = list(
            self.scope(RetentionRule.objects.all()).values_list("category", flat=True)
        )
        return context


# --- the call page, consultation and playback -----------------------------------------------

CONSULTATION_KEYS = tuple(RecordingAccess.What.values)  # "recording", "transcript"
RECENT_ACCESSES = 50


class CallDetailView(TenantDashboardMixin, TenantObjectMixin, DetailView):
    """GET: the call. POST (agents and up): log a consultation of its recording or transcript
    with the chosen purpose, then come back with a link that plays or shows it."""

    model = Call
    nav = "dashboard:calls:list"
    template_name = "dashboard/calls/detail.html"
    select_related = ("recording", "transcript")

    def get_queryset(self):
        return super().get_queryset().prefetch_related("purposes")

    def may_consult(self) -> bool:
        return self.can(AGENT)

    def post(self, request, *args, **kwargs):
        self.object = call = self.get_object()
        form = ConsultationForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(consultation_form=form))
        what = form.cleaned_data["what"]
        try:
            access = services.consultation_record(
                call=call,
                what=what,
                how=RecordingAccess.How.PLAYBACK,
                purpose=form.purpose_text(),
                **consultant(request),
            )
        except BusinessRuleError as error:
            form.add_error(None, error.message)
            return self.render_to_response(self.get_context_data(consultation_form=form))
        # Keep the other link of this page (the player while reading the transcript).
        links = {key: request.GET[key] for key in CONSULTATION_KEYS if request.GET.get(key)}
        links[what] = consultation_token(access)
        url = reverse("dashboard:calls:detail", kwargs={"pk": call.pk})
        return HttpResponseRedirect(f"{url}?{urlencode(links)}#{what}")

    def _consultations(self, call: Call) -> dict[str, RecordingAccess]:
        if not self.may_consult() or (call.is_restricted and not is_dpo(self.request.user)):
            return {}
        found = {}
        for what in CONSULTATION_KEYS:
            access = consultation_for_token(
                self.request.GET.get(what), user=self.request.user, call_id=call.pk, what=what
            )
            if access is not None:
                found[what] = access
        return found

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        call = self.object
        rules = selectors.retention_rules_index(tenant_ids=[call.tenant_id])
        consultations = self._consultations(call)
        recording = selectors.call_media(call, "recording")
        transcript = selectors.call_media(call, "transcript")
        accesses = list(
            selectors.recording_accesses_for_calls(tenant=self.tenant, call_ids=[call.pk])[
                : RECENT_ACCESSES + 1
            ]
        )
        player_url = ""
        if "recording" in consultations and recording is not None:
            stream = reverse("dashboard:calls:recording", kwargs={"pk": call.pk})
            player_url = f"{stream}?{urlencode({'access': self.request.GET['recording']})}"
        context.update(
            call=call,
            recording=recording,
            transcript=transcript,
            lawful_bases=[
                (purpose, answer, LawfulBasis(answer.basis).label if answer.basis else "")
                for purpose, answer in selectors.call_lawful_bases(call)
            ],
            rule=selectors.retention_rule_for(call, rules=rules),
            blockers=(blockers := services.call_deletion_blockers(call, rules=rules)),
            held=any(blocker.code == "legal_hold" for blocker in blockers),
            may_consult=self.may_consult(),
            restricted_for_user=call.is_restricted and not is_dpo(self.request.user),
            consultation_form=kwargs.get("consultation_form") or ConsultationForm(),
            recording_access=consultations.get("recording"),
            transcript_access=consultations.get("transcript") if transcript else None,
            player_url=player_url,
            consultation_minutes=CONSULTATION_TTL // 60,
            accesses=accesses[:RECENT_ACCESSES],
            more_accesses=len(accesses) > RECENT_ACCESSES,
        )
        return context


class CallRecordingView(TenantDashboardMixin, TenantObjectMixin, View):
    """The player's source: serves the recording only for a consultation logged on the call
    page (``?access=`` its link token), by the same user, within a few minutes."""

    model = Call
    read_role = write_role = AGENT

    def get(self, request, *args, **kwargs):
        call = self.get_object()
        access = consultation_for_token(
            request.GET.get("access"),
            user=request.user,
            call_id=call.pk,
            what=RecordingAccess.What.RECORDING,
        )
        if access is None:
            raise PermissionDenied(
                "Choose the purpose of listening on the call's page first: every playback is "
                "logged. Player links expire after a few minutes."
            )
        try:  # restricted since the consultation was logged: refuse all the same
            services.consultation_check(call=call, user=request.user)
        except BusinessRuleError as error:
            raise PermissionDenied(error.message) from None
        recording = selectors.call_media(call, "recording")
        if recording is None:
            raise Http404("This call has no recording.")
        opened = OpenRecording(recording, recording.file.open("rb"), access)
        return recording_response(opened, how=RecordingAccess.How.PLAYBACK)


class CallDeleteView(ConfirmActionView):
    model = Call
    read_role = write_role = ADMIN
    nav = "dashboard:calls:list"
    template_name = "dashboard/calls/delete.html"
    confirm_title = "Delete this call?"
    confirm_explanation = (
        "The call, its recording (every stored version) and its transcript are deleted, and your "
        "webhooks receive call.deleted so that copies are deleted too. This cannot be undone. "
        "The access log keeps the dates and purposes of past consultations."
    )
    confirm_button = "Delete the call"

    def get(self, request, *args, **kwargs):
        self.form = CallDeletionForm()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        self.form = CallDeletionForm(request.POST)
        if not self.form.is_valid():
            return self.render_to_response(self.get_context_data())
        return super().post(request, *args, **kwargs)

    def perform(self, obj) -> str:
        services.call_delete(call=obj, reason=self.form.cleaned_data["reason"], source="dashboard")
        return f"Deleted {obj} with its recording and transcript."

    def get_success_url(self) -> str:
        return reverse("dashboard:calls:list")

    def get_cancel_url(self) -> str:
        return reverse("dashboard:calls:detail", kwargs={"pk": self.object.pk})

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(form=self.form, blockers=services.call_deletion_blockers(self.object))
        return context


# --- overview panel ------------------------------------------------------------------------


def calls_overview_panel(request) -> dict:
    """Calls per week (12 weeks), consultations in the last 7 days, calls the purpose gate
    flagged in the last 30 days: three grouped queries on indexed columns."""
    tenant = request.tenant
    calls = Call.objects.for_tenant(tenant)
    now = timezone.now()
    weeks = weekly_counts(calls, "started_at", weeks=12, tzinfo=tenant.tzinfo)
    consulted = (
        RecordingAccess.objects.for_tenant(tenant)
        .filter(accessed_at__gte=now - timedelta(days=7))
        .aggregate(
            recordings=Count("pk", filter=Q(what=RecordingAccess.What.RECORDING)),
            transcripts=Count("pk", filter=Q(what=RecordingAccess.What.TRANSCRIPT)),
        )
    )
    flagged = calls.filter(started_at__gte=now - timedelta(days=30)).exclude(gate_flags=[]).count()
    return {
        "weeks": weeks,
        "total": sum(count for _label, count in weeks),
        "consulted": consulted,
        "flagged": flagged,
    }
