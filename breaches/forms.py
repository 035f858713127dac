"""Admin forms: the incident itself, and one form per action (each page is its confirmation)."""

from __future__ import annotations

from django import forms

from breaches import clock
from breaches.models import (
    BreachIncident,
    BreachNotification,
    DataCategory,
    RiskLevel,
    SubjectNoticeGround,
)
from breaches.services.incidents import EDITABLE_FIELDS
from portal.models import Tenant

Channel = BreachNotification.Channel
Recipient = BreachNotification.Recipient

TEXTAREA = forms.Textarea(attrs={"rows": 4, "cols": 80})


class BreachIncidentForm(forms.ModelForm):
    data_categories = forms.MultipleChoiceField(
        choices=DataCategory.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = BreachIncident
        fields = list(EDITABLE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "detected_at" in self.fields:
            self.fields["detected_at"].required = False
            self.fields["detected_at"].help_text = "Defaults to the time of awareness."

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("detected_at") and cleaned.get("became_aware_at"):
            cleaned["detected_at"] = cleaned["became_aware_at"]
            self.instance.detected_at = cleaned["became_aware_at"]
        return cleaned


class IncidentActionForm(forms.Form):
    """Base of the action forms: they know their incident."""

    def __init__(self, *args, incident: BreachIncident, **kwargs):
        self.incident = incident
        super().__init__(*args, **kwargs)

    @property
    def late(self) -> bool:
        return clock.is_overdue(self.incident.deadline_at)

    def add_delay_reason(self, *, required: bool, help_text: str) -> None:
        self.fields["delay_reason"] = forms.CharField(
            widget=TEXTAREA,
            required=required,
            label="Reasons for the delay (Art. 33(1))",
            help_text=help_text,
        )


class AssessForm(IncidentActionForm):
    risk_level = forms.ChoiceField(choices=RiskLevel.choices, widget=forms.RadioSelect)
    reasoning = forms.CharField(widget=TEXTAREA, label="Reasoning of the assessment")

    def __init__(self, *args, pending_tenants: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if self.incident.risk_level:
            self.fields["risk_level"].initial = self.incident.risk_level
            self.fields["reasoning"].initial = self.incident.risk_reasoning
        if pending_tenants and self.late:
            self.add_delay_reason(
                required=False,
                help_text="Needed when rating high: the tenant notices then go out at once, "
                "after the 72 hours.",
            )


class LinkCallsForm(IncidentActionForm):
    call_ids = forms.CharField(
        required=False,
        label="Call ids",
        help_text="Comma- or space-separated ids of the affected calls.",
    )
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.all(), required=False)
    started_from = forms.DateTimeField(required=False, help_text="UTC, e.g. 2025-03-28 09:00")
    started_to = forms.DateTimeField(required=False, help_text="UTC; calls before this time")

    def clean_call_ids(self) -> list[int] | None:
        raw = self.cleaned_data.get("call_ids", "").replace(",", " ").split()
        if not raw:
            return None
        try:
            return [int(item) for item in raw]
        except ValueError:
            raise forms.ValidationError("Give call ids as whole numbers.") from None

    def clean(self):
        cleaned = super().clean()
        scope = [cleaned.get(f) for f in ("tenant", "started_from", "started_to")]
        if cleaned.get("call_ids") is None and not any(scope):
            raise forms.ValidationError("Give call ids, or a tenant and a time window.")
        if cleaned.get("call_ids") is not None and any(scope):
            raise forms.ValidationError("Give either call ids or a tenant and window, not both.")
        if any(scope) and not all(scope):
            raise forms.ValidationError("A call scope needs a tenant, a start and an end.")
        return cleaned


class NotifyTenantsForm(IncidentActionForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.late:
            self.add_delay_reason(
                required=True,
                help_text="The 72 hours since awareness have passed: say why the notice is late.",
            )


class AddPhaseForm(IncidentActionForm):
    phase = forms.ChoiceField(
        choices=[
            (BreachNotification.Phase.FOLLOW_UP, "Follow-up"),
            (BreachNotification.Phase.FINAL, "Final"),
        ],
        widget=forms.RadioSelect,
    )
    update = forms.CharField(widget=TEXTAREA, label="What is new in this notice")


class AuthorityForm(IncidentActionForm):
    NOTIFIED, NOT_NOTIFIED = "notified", "not_notified"
    decision = forms.ChoiceField(
        choices=[
            (NOTIFIED, "The supervisory authority was notified"),
            (NOT_NOTIFIED, "The supervisory authority is not notified (give the reasoning)"),
        ],
        widget=forms.RadioSelect,
    )
    authority_name = forms.CharField(required=False, max_length=200)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.AUTHORITY_PORTAL)
    sent_at = forms.DateTimeField(
        required=False, help_text="UTC; defaults to now. When the notification was made."
    )
    reference = forms.CharField(required=False, max_length=100, label="Authority's reference")
    content = forms.CharField(
        widget=TEXTAREA,
        required=False,
        help_text="What was sent; leave empty to store the portal's Art. 33(3) rendering.",
    )
    delay_reason = forms.CharField(
        widget=TEXTAREA,
        required=False,
        label="Reasons for the delay (Art. 33(1))",
        help_text="Required when the notification was made after the 72 hours.",
    )
    reasoning = forms.CharField(
        widget=TEXTAREA, required=False, label="Reasoning for not notifying"
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == self.NOTIFIED and not cleaned.get("authority_name"):
            self.add_error("authority_name", "Name the supervisory authority.")
        if cleaned.get("decision") == self.NOT_NOTIFIED and not cleaned.get("reasoning"):
            self.add_error("reasoning", "Give the reasoning for not notifying.")
        return cleaned


class SubjectsForm(IncidentActionForm):
    TOLD, PUBLIC, NOT_TOLD = "told", "public", "not_told"
    decision = forms.ChoiceField(
        choices=[
            (TOLD, "The data subjects were told directly (Art. 34(1))"),
            (PUBLIC, "A public communication was made (Art. 34(3)(c))"),
            (NOT_TOLD, "The data subjects are not told (give the ground and reasoning)"),
        ],
        widget=forms.RadioSelect,
    )
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.EMAIL)
    sent_at = forms.DateTimeField(required=False, help_text="UTC; defaults to now.")
    content = forms.CharField(
        widget=TEXTAREA,
        required=False,
        help_text="What was sent; leave empty to store the portal's Art. 34(2) rendering.",
    )
    ground = forms.ChoiceField(
        choices=[("", "—"), *SubjectNoticeGround.choices], required=False, label="Ground"
    )
    reasoning = forms.CharField(widget=TEXTAREA, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == self.NOT_TOLD:
            if not cleaned.get("ground"):
                self.add_error("ground", "Choose the ground for not telling the subjects.")
            if not cleaned.get("reasoning"):
                self.add_error("reasoning", "Give the reasoning.")
        return cleaned


class ContainForm(IncidentActionForm):
    measures_taken = forms.CharField(widget=TEXTAREA, label="Measures taken (Art. 33(3)(d))")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["measures_taken"].initial = self.incident.measures_taken


class CloseForm(IncidentActionForm):
    note = forms.CharField(widget=TEXTAREA, label="Why the incident can be closed")
