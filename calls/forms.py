"""Forms of the calls app (admin; the dashboard will reuse them)."""

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
