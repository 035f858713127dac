"""Web views of the calls app: helpers shared with the API and the admin, and the tenant
dashboard's pages (mounted under /dashboard/calls/ by ``calls/urls.py``).

Dashboard pages: the call list (search by number in any format, filters), the call page
(details, the lawful basis at the time, the player and the transcript — each consultation
logged with its purpose first —, the access log), deleting a call through
``services.call_delete``, and the retention rules. Everyone reads; agents consult recordings
and transcripts; admins and owners delete calls and manage the rules.
"""

from __future__ import annotations

import mimetypes
from datetime import timedelta
from urllib.parse import urlencode

from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.generic import DetailView, FormView, View

from calls import selectors, services
from calls.filters import CallFilterSet
from calls.forms import CallDeletionForm, ConsultationForm, RetentionRuleForm
from calls.models import Call, RecordingAccess, RetentionRule
from calls.services import OpenRecording
from calls.templatetags.calls import phone
from consent.models import LawfulBasis
from portal.access import is_dpo
from portal.charts import weekly_counts
from portal.dashboard import (
    ConfirmActionView,
    ServiceFormMixin,
    TenantDashboardMixin,
    TenantObjectMixin,
)
from portal.dashboard_lists import Column, TenantListView
from portal.errors import BusinessRuleError
from portal.models import ApiKey, Membership
from portal.templatetags.dashboard import badge

ADMIN = Membership.Role.ADMIN
AGENT = Membership.Role.AGENT

# --- shared by the API, the admin and the dashboard ----------------------------------------


def consultant(request) -> dict:
    """Who consults a recording, for the access log: user, API key and address.

    The address is the peer's (REMOTE_ADDR): a client-supplied X-Forwarded-For is not
    evidence. Behind a proxy, have it set REMOTE_ADDR (e.g. gunicorn's --forwarded-allow-ips).
    """
    auth = getattr(request, "auth", None)
    api_key = auth if isinstance(auth, ApiKey) else None
    return {
        # A key acts for its tenant's integration, not as the person who created it (who may
        # even be platform staff): the key is the consultant.
        "user": None if api_key else request.user,
        "api_key": api_key,
        "ip_address": request.META.get("REMOTE_ADDR") or None,
    }


def recording_response(opened: OpenRecording, *, how: str) -> FileResponse:
    """Stream a recording; downloads as an attachment, playback inline. The file name carries
    the call's id, never a number."""
    recording = opened.recording
    extension = mimetypes.guess_extension(recording.content_type) or ""
    response = FileResponse(
        opened.file,
        content_type=recording.content_type,
        as_attachment=how != RecordingAccess.How.PLAYBACK,
        filename=f"call-{recording.call_id}{extension}",
    )
    response["Content-Length"] = str(recording.size_bytes)
    response["Cache-Control"] = "private, no-store"
    return response


CONSULTATION_SALT = "calls.consultation"
CONSULTATION_TTL = 15 * 60  # seconds a logged consultation's player or transcript link works


def consultation_token(access: RecordingAccess) -> str:
    """A short-lived link token standing for one logged consultation (signed access id)."""
    return signing.dumps(access.pk, salt=CONSULTATION_SALT)


def consultation_for_token(
    token: str | None, *, user, call_id: int | None, what: str | None = None
) -> RecordingAccess | None:
    """The logged consultation a link stands for — by this user, of this call (and of
    ``what``), issued less than ``CONSULTATION_TTL`` ago — or None.

    A player's requests (the browser may fetch the file more than once) are the one
    consultation logged when the purpose was chosen; without one, nothing is served.
    """
    if not token or call_id is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        access_id = signing.loads(token, salt=CONSULTATION_SALT, max_age=CONSULTATION_TTL)
    except signing.BadSignature:
        return None
    accesses = RecordingAccess.objects.filter(pk=access_id, user=user, call_id=call_id)
    if what is not None:
        accesses = accesses.filter(what=what)
    return accesses.first()


# --- dashboard: the call list --------------------------------------------------------------


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


# --- dashboard: the call page, consultation and playback -----------------------------------

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
            blockers=services.call_deletion_blockers(call, rules=rules),
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


# --- dashboard: retention rules ------------------------------------------------------------


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
        Column("Legal reference", "legal_reference"),
        Column("Created", "created_at", kind="date"),
    ]
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
