"""Forms of the calls app, for the admin and the dashboard. They check input; the services
decide (``calls.services``)."""

from __future__ import annotations

from django import forms

from calls.models import RecordingAccess

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
        help_text="A legal obligation to keep these calls this long (Art. 17(3)(b)): every "
        "deletion before then is refused. Empty: no minimum.",
    )
    legal_reference = forms.CharField(
        label="Legal reference",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The law or obligation behind the periods; required with a minimum.",
    )

    def clean_category(self) -> str:
        return self.cleaned_data["category"].strip()
