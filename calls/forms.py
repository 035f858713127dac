"""Forms of the calls app, for the admin and the dashboard. They check input; the services
decide (``calls.services``)."""

from __future__ import annotations

from django import forms

from calls.models import ErasureGround, LegalHold, RecordingAccess
from portal.access import visible_tenants

# Why staff consult a recording: the choice is written to the access log (Art. 5(2)), and the
# subject gets it back under access (Art. 15).
CONSULTATION_PURPOSES = [
    ("quality_review", "Quality review"),
    ("complaint", "Handling a complaint"),
    ("data_subject_request", "Answering a data-subject request"),
    ("legal_claim", "Establishing or defending a legal claim"),
    ("support_case", "Support case of the customer"),
    ("other", "Other (say which)"),
]


class ConsultationForm(forms.Form):
    what = forms.ChoiceField(choices=RecordingAccess.What.choices, widget=forms.HiddenInput)
    purpose = forms.ChoiceField(
        choices=[("", "— choose a purpose —"), *CONSULTATION_PURPOSES],
        label="Purpose of consultation",
    )
    details = forms.CharField(
        required=False, max_length=200, label="Details", help_text="Required for “Other”."
    )

    def clean(self):
        data = super().clean()
        if data.get("purpose") == "other" and not (data.get("details") or "").strip():
            self.add_error("details", "Say for what purpose you consult it.")
        return data

    def purpose_text(self) -> str:
        label = dict(CONSULTATION_PURPOSES)[self.cleaned_data["purpose"]]
        details = (self.cleaned_data.get("details") or "").strip()
        return f"{label}: {details}" if details else label


class CallDeletionForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        label="Reason",
        help_text="Kept in the call's history, e.g. the ticket that asked for it.",
    )


class RetentionRuleForm(forms.Form):
    """A retention rule's fields; the rules between them (a minimum needs a legal reference, the
    minimum is not longer than the maximum, one rule per category) are the service's."""

    category = forms.CharField(
        max_length=50,
        help_text="As your integration sends it, e.g. complaint, sales, support.",
    )
    max_age_days = forms.IntegerField(
        label="Maximum age (days)",
        required=False,
        min_value=0,
        help_text="Calls older than this are deleted by the daily retention sweep (storage "
        "limitation, Art. 5(1)(e)). Empty: no maximum.",
    )
    min_age_days = forms.IntegerField(
        label="Minimum age (days)",
        required=False,
        min_value=0,
        help_text="Keep these calls this long (Art. 17(3)(b) or (e)): every deletion before "
        "then is refused. Empty: no minimum.",
    )
    legal_ground = forms.ChoiceField(
        label="Ground of the minimum",
        choices=[("", "— no minimum —"), *ErasureGround.choices],
        required=False,
        help_text="Art. 17(3)(b) when a law obliges you to keep the calls (commercial, tax or "
        "telecom law); Art. 17(3)(e) when you keep them for legal claims (a limitation period). "
        "Required with a minimum.",
    )
    legal_reference = forms.CharField(
        label="Legal reference",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The law or obligation behind the periods; required with a minimum.",
    )

    def clean_category(self) -> str:
        return self.cleaned_data["category"].strip()


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


# --- legal holds ----------------------------------------------------------------------------


class HoldTermsForm(forms.Form):
    """Why a hold keeps data, and until when (without its scope)."""

    reason_category = forms.ChoiceField(choices=LegalHold.Category.choices)
    legal_ground = forms.ChoiceField(
        choices=[("", "— the category's usual ground —"), *ErasureGround.choices],
        required=False,
        help_text="Art. 17(3)(e) for litigation and statute of limitations, (b) for a regulator; "
        "name it for 'other'.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The case, claim or authority. Write no phone numbers here.",
    )
    expires_at = forms.DateTimeField(
        required=False, help_text="YYYY-MM-DD HH:MM (UTC); empty: until released."
    )

    def hold_terms(self) -> dict:
        data = self.cleaned_data
        return {
            "reason_category": data["reason_category"],
            "legal_ground": data["legal_ground"] or None,
            "reason": data["reason"],
            "expires_at": data["expires_at"],
        }


class HoldApplyForm(HoldTermsForm):
    """The DPO's form for a hold on specific calls, a subject's numbers, or a period."""

    tenant = forms.ModelChoiceField(queryset=None)
    scope = forms.ChoiceField(choices=LegalHold.Scope.choices, widget=forms.RadioSelect)
    calls = forms.CharField(
        required=False, help_text="For specific calls: their ids, separated by spaces or commas."
    )
    numbers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For a subject's numbers: one per line, any format.",
    )
    period_from = forms.DateTimeField(required=False, help_text="For a period: its start (UTC).")
    period_to = forms.DateTimeField(required=False, help_text="Its end (exclusive); empty: open.")

    field_order = ["tenant", "scope", "calls", "numbers", "period_from", "period_to"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = visible_tenants(user)

    def clean_calls(self) -> list[int]:
        text = self.cleaned_data["calls"].replace(",", " ")
        try:
            return [int(part) for part in text.split()]
        except ValueError:
            raise forms.ValidationError("Call ids are numbers.")

    def clean_numbers(self) -> list[str]:
        text = self.cleaned_data["numbers"].replace(",", "\n").replace(";", "\n")
        return [line.strip() for line in text.splitlines() if line.strip()]

    def hold_kwargs(self) -> dict:
        """Keyword arguments of ``calls.services.retention.holds.hold_apply`` for the chosen
        scope only."""
        data = self.cleaned_data
        scope = data["scope"]
        return {
            "tenant": data["tenant"],
            **self.hold_terms(),
            "calls": data["calls"] if scope == LegalHold.Scope.CALLS else None,
            "numbers": data["numbers"] if scope == LegalHold.Scope.NUMBERS else None,
            "period_from": data["period_from"] if scope == LegalHold.Scope.PERIOD else None,
            "period_to": data["period_to"] if scope == LegalHold.Scope.PERIOD else None,
        }
