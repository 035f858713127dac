"""Admin for calls: search by number in any format, logged playback, deletion through the
service (never the stock bulk delete), the read-only access log, retention rules."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from calls import selectors, services
from calls.admin.holds import place_hold_on_calls  # also registers the legal-hold admin
from calls.forms import CallDeletionForm, ConsultationForm
from calls.models import Call, FileDeletion, Recording, RecordingAccess, RetentionRule, Transcript
from calls.views import (
    consultant,
    consultation_for_token,
    consultation_token,
    recording_response,
)
from consent.models import Purpose
from portal.access import is_dpo, visible_tenants
from portal.admin import PortalModelAdmin, ReadOnlyAdminMixin, status_badge
from portal.errors import BusinessRuleError
from portal.numbers import try_normalize_number


class CategoryFilter(admin.SimpleListFilter):
    """Categories with a retention rule (listing the distinct categories of a big call table
    would scan it); any other category works through the URL (?category=...)."""

    title = "category"
    parameter_name = "category"
    NONE = "__none__"

    def lookups(self, request, model_admin):
        categories = (
            RetentionRule.objects.visible_to(request.user)
            .order_by("category")
            .values_list("category", flat=True)
            .distinct()
        )
        return [(c, c) for c in categories] + [(self.NONE, "(no category)")]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(category="" if value == self.NONE else value)


class PurposeFilter(admin.SimpleListFilter):
    title = "purpose"
    parameter_name = "purpose"

    def lookups(self, request, model_admin):
        codes = (
            Purpose.objects.visible_to(request.user)
            .order_by("code")
            .values_list("code", flat=True)
            .distinct()
        )
        return [(code, code) for code in codes]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(purposes__code=self.value())
        return queryset


@admin.register(Call)
class CallAdmin(PortalModelAdmin):
    list_display = [
        "external_id",
        "tenant",
        "direction",
        "caller",
        "callee",
        "started_at",
        "category",
        "purpose_codes",
        "media_badges",
        "flags",
    ]
    list_filter = [
        "tenant",
        "direction",
        CategoryFilter,
        PurposeFilter,
        ("started_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["tenant", "recording", "transcript"]
    search_fields = ["=external_id"]
    search_help_text = "A number in any format (caller or callee), or an external id."
    fields = [
        "tenant",
        "external_id",
        "direction",
        "caller",
        "callee",
        "started_at",
        "ended_at",
        "duration_seconds",
        "purpose_codes",
        "category",
        "flags",
        "created_at",
        "recording_details",
        "transcript_details",
    ]
    readonly_fields = fields
    actions = ["delete_calls", "place_legal_hold"]
    change_form_template = "admin/calls/call/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("purposes")

    # Calls come from the tenants' integrations; staff read them, and delete them only through
    # the deletion service.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # QuerySet.delete() would skip every rule
        return actions

    def get_search_results(self, request, queryset, search_term):
        """Match a number in any format: read in each visible tenant's country (a number
        without country code means something else in DE and IE), exact on caller or callee."""
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(external_id=term)
        countries = visible_tenants(request.user).values_list("country", flat=True).distinct()
        for country in countries:
            e164 = try_normalize_number(term, country=country)
            if e164:
                matches = Q(caller=e164) | Q(callee=e164)
                international = term.startswith(("+", "00"))
                condition |= matches if international else Q(tenant__country=country) & matches
        return queryset.filter(condition), False

    @admin.display(description="Purposes")
    def purpose_codes(self, obj):
        return ", ".join(p.code for p in obj.purposes.all()) or "—"

    @admin.display(description="Media")
    def media_badges(self, obj):
        parts = []
        if selectors.call_media(obj, "recording"):
            parts.append(status_badge("recording", "info"))
        if selectors.call_media(obj, "transcript"):
            parts.append(status_badge("transcript", "info"))
        return format_html_join(" ", "{}", ((p,) for p in parts)) or "—"

    @admin.display(description="Flags")
    def flags(self, obj):
        parts = []
        if obj.is_restricted:
            parts.append(status_badge("restricted", "danger"))
        if obj.gate_flags:
            parts.append(status_badge(f"no basis: {', '.join(obj.gate_flags)}", "warning"))
        return format_html_join(" ", "{}", ((p,) for p in parts)) or "—"

    @admin.display(description="Recording")
    def recording_details(self, obj):
        recording = selectors.call_media(obj, "recording")
        if recording is None:
            return "—"
        return format_html(
            "{} · {} bytes · {} s · SHA-256 <code>{}</code>",
            recording.content_type,
            recording.size_bytes,
            recording.duration_seconds if recording.duration_seconds is not None else "?",
            recording.sha256,
        )

    @admin.display(description="Transcript")
    def transcript_details(self, obj):
        transcript = selectors.call_media(obj, "transcript")
        if transcript is None:
            return "—"
        return f"{transcript.language}, {len(transcript.text)} characters (open it below)"

    # --- consultation: choose a purpose, the access is logged, then the player or text ------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/consult/",
                wrap(self.consult_view),
                name="{}_{}_consult".format(*info),
            ),
            path(
                "<path:object_id>/recording/<str:token>/",
                wrap(self.recording_view),
                name="{}_{}_recording".format(*info),
            ),
            *super().get_urls(),
        ]

    def _may_consult(self, request) -> bool:
        return request.user.has_perm("calls.consult_recording")

    def _change_url(self, call_id) -> str:
        return reverse("admin:calls_call_change", args=[call_id])

    def _consultation(self, request, call_id, token) -> RecordingAccess | None:
        """The logged consultation a player link stands for: same user, same call, recent."""
        return consultation_for_token(token, user=request.user, call_id=call_id)

    def consult_view(self, request, object_id):
        call = self.get_object(request, unquote(object_id))
        if call is None or not self.has_view_permission(request, call):
            raise Http404
        if request.method != "POST":
            return HttpResponseRedirect(self._change_url(call.pk))
        if not self._may_consult(request):
            raise PermissionDenied
        form = ConsultationForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(m for messages_ in form.errors.values() for m in messages_)
            self.message_user(request, f"Choose a purpose first: {errors}", messages.ERROR)
            return HttpResponseRedirect(self._change_url(call.pk))
        try:
            access = services.consultation_record(
                call=call,
                what=form.cleaned_data["what"],
                how=RecordingAccess.How.PLAYBACK,
                purpose=form.purpose_text(),
                **consultant(request),
            )
        except BusinessRuleError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(self._change_url(call.pk))
        token = consultation_token(access)
        return HttpResponseRedirect(f"{self._change_url(call.pk)}?consultation={token}")

    def recording_view(self, request, object_id, token):
        call = self.get_object(request, unquote(object_id))
        access = self._consultation(request, call.pk if call else None, token)
        if call is None or access is None or access.what != RecordingAccess.What.RECORDING:
            raise Http404
        recording = Recording.objects.filter(call=call).first()
        if recording is None:
            raise Http404
        # Already logged by consult_view: the player's (range) requests are one consultation.
        opened = services.OpenRecording(recording, recording.file.open("rb"), access)
        return recording_response(opened, how=RecordingAccess.How.PLAYBACK)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        call = self.get_object(request, unquote(object_id))
        extra = {}
        if call is not None:
            extra = {
                "has_recording": Recording.objects.filter(call=call).exists(),
                "has_transcript": Transcript.objects.filter(call=call).exists(),
                "consultation_form": ConsultationForm(),
                "can_consult": self._may_consult(request),
                "consult_url": reverse("admin:calls_call_consult", args=[call.pk]),
            }
            token = request.GET.get("consultation")
            access = self._consultation(request, call.pk, token)
            if access is not None and access.what == RecordingAccess.What.RECORDING:
                extra["recording_url"] = reverse(
                    "admin:calls_call_recording", args=[call.pk, token]
                )
            elif access is not None:
                extra["transcript"] = Transcript.objects.filter(call=call).first()
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    # --- deletion, through the one service --------------------------------------------------

    def _confirm_deletion(self, request, calls, form, action=""):
        rules = selectors.retention_rules_index(tenant_ids={c.tenant_id for c in calls})
        blocked = [
            f"{call}: {' '.join(b.reason for b in blockers)}"
            for call in calls
            if (blockers := services.call_deletion_blockers(call, rules=rules))
        ]
        explanation = (
            "The calls, their recordings (every stored version) and transcripts will be deleted. "
            "This cannot be undone."
        )
        if blocked:
            explanation += (
                f" {len(blocked)} of them must be kept and will be skipped: "
                + "; ".join(blocked[:20])
            )
        return TemplateResponse(
            request,
            "admin/portal/confirm_action.html",
            {
                **self.admin_site.each_context(request),
                "title": "Delete calls?" if len(calls) != 1 else f"Delete {calls[0]}?",
                "objects": calls,
                "action": action,
                "explanation": explanation,
                "form": form,
                "opts": self.opts,
            },
        )

    def _delete(self, request, calls, reason) -> tuple[int, list[str]]:
        deleted, refused = 0, []
        for call in calls:
            try:
                if services.call_delete(call=call, reason=reason, source="admin"):
                    self.log_deletions(request, [call])
                    deleted += 1
            except BusinessRuleError as exc:
                refused.append(f"{call}: {exc.message}")
        return deleted, refused

    def _report(self, request, deleted, refused) -> None:
        if deleted:
            self.message_user(request, f"Deleted {deleted} call(s).", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.ERROR)

    @admin.action(description="Delete selected calls…", permissions=["delete"])
    def delete_calls(self, request, queryset):
        calls = list(queryset)
        form = CallDeletionForm(request.POST if request.POST.get("confirm") == "yes" else None)
        if not form.is_valid():
            return self._confirm_deletion(request, calls, form, action="delete_calls")
        self._report(request, *self._delete(request, calls, form.cleaned_data["reason"]))
        return None

    def delete_view(self, request, object_id, extra_context=None):
        call = self.get_object(request, unquote(object_id))
        if call is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_delete_permission(request, call):
            raise PermissionDenied
        form = CallDeletionForm(request.POST if request.method == "POST" else None)
        if not form.is_valid():
            return self._confirm_deletion(request, [call], form)
        deleted, refused = self._delete(request, [call], form.cleaned_data["reason"])
        self._report(request, deleted, refused)
        if refused:
            return HttpResponseRedirect(self._change_url(call.pk))
        return HttpResponseRedirect(reverse("admin:calls_call_changelist"))

    # --- legal holds (calls.services.retention.holds): on selected calls, after confirming ---

    def has_hold_permission(self, request):
        return request.user.has_perm("calls.add_legalhold")

    @admin.action(description="Place a legal hold on the selected calls…", permissions=["hold"])
    def place_legal_hold(self, request, queryset):
        return place_hold_on_calls(self, request, queryset)

    def delete_model(self, request, obj):  # any other path the admin might take
        services.call_delete(call=obj, reason="deleted in the admin", source="admin")

    def delete_queryset(self, request, queryset):
        for call in queryset:
            services.call_delete(call=call, reason="deleted in the admin", source="admin")


@admin.register(RecordingAccess)
class RecordingAccessAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    list_display = ["accessed_at", "tenant", "call", "what", "how", "purpose", "who", "ip_address"]
    list_filter = ["tenant", "what", "how", ("accessed_at", admin.DateFieldListFilter)]
    list_select_related = ["tenant", "call", "user", "api_key"]
    search_fields = ["=call__external_id", "purpose"]

    @admin.display(description="Who")
    def who(self, obj):
        if obj.api_key_id:
            return f"API key {obj.api_key.prefix}…"
        return obj.user.get_username() if obj.user_id else "—"


@admin.register(RetentionRule)
class RetentionRuleAdmin(PortalModelAdmin):
    list_display = [
        "category",
        "tenant",
        "max_age_days",
        "min_age_days",
        "legal_ground",
        "legal_reference",
    ]
    list_filter = ["tenant"]
    list_select_related = ["tenant"]
    search_fields = ["category", "legal_reference"]
    fields = [
        "tenant",
        "category",
        "max_age_days",
        "min_age_days",
        "legal_ground",
        "legal_reference",
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["tenant"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        values = {name: getattr(obj, name) for name in services.RULE_FIELDS}
        if change:
            services.retention_rule_update(rule=obj, **values)
        else:
            obj.pk = services.retention_rule_create(tenant=obj.tenant, **values).pk

    def delete_model(self, request, obj):
        services.retention_rule_delete(rule=obj)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            services.retention_rule_delete(rule=rule)


@admin.register(FileDeletion)
class FileDeletionAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    list_display = [
        "storage_key",
        "tenant",
        "reason",
        "requested_at",
        "state",
        "versions_removed",
        "attempts",
        "last_error",
    ]
    list_filter = ["tenant", ("completed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["tenant"]
    search_fields = ["=storage_key"]
    actions = ["retry_now"]

    @admin.display(description="State", ordering="completed_at")
    def state(self, obj):
        if obj.completed_at:
            return status_badge("removed", "ok")
        return status_badge("failing" if obj.attempts else "pending", "danger")

    def has_retry_permission(self, request):
        return is_dpo(request.user)

    @admin.action(description="Retry removing the selected files now", permissions=["retry"])
    def retry_now(self, request, queryset):
        done = 0
        for deletion in queryset.filter(completed_at__isnull=True):
            result = services.file_deletion_run(deletion_id=deletion.pk)
            done += bool(result and result.completed_at)
        self.message_user(request, f"Removed {done} file(s) from storage.", messages.INFO)
