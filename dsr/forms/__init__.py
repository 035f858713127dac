"""Forms of the admin's request intake and transition confirmation pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from calls.forms import HoldApplyForm, HoldTermsForm, ReasonForm
from dsr.models import (
    RejectionGround,
    RequestChannel,
    RequestKind,
    VerificationMethod,
)
from dsr.services import deadlines
from portal.access import DPO_GROUP, SERVE_TENANT, SUPPORT_GROUP, visible_tenants
from portal.models import TenantUserObjectPermission

__all__ = ["HoldApplyForm", "HoldTermsForm", "ReasonForm"]  # shared with the hold pages


class IntakeForm(forms.Form):
    """A request taken in by staff: from the subject directly, or on the tenant's instruction."""

    tenant = forms.ModelChoiceField(queryset=None)
    kind = forms.ChoiceField(choices=RequestKind.choices)
    channel = forms.ChoiceField(
        choices=[
            (RequestChannel.DIRECT_TO_PROCESSOR, RequestChannel.DIRECT_TO_PROCESSOR.label),
            (RequestChannel.ADMIN, RequestChannel.ADMIN.label),
        ],
        help_text="A request the subject sent to the platform is forwarded to the tenant at once "
        "and waits for its confirmation.",
    )
    numbers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The subject's phone number(s), one per line, in any format.",
    )
    name = forms.CharField(required=False, max_length=200)
    email = forms.EmailField(required=False)
    details = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    received_at = forms.DateTimeField(
        required=False,
        help_text="When the request first reached us (YYYY-MM-DD HH:MM, UTC); empty for now. "
        "Never in the future.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = visible_tenants(user)

    def clean_numbers(self) -> list[str]:
        text = self.cleaned_data["numbers"].replace(",", "\n").replace(";", "\n")
        return [line.strip() for line in text.splitlines() if line.strip()]


class NoteForm(forms.Form):
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ConfirmForm(forms.Form):
    note = forms.CharField(
        required=True,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How the tenant confirmed (e.g. 'email from privacy@… on 5 March').",
    )


class StartVerificationForm(forms.Form):
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What was asked of the subject — no more than needed to confirm identity.",
    )
    pause_reason = forms.CharField(
        required=False,
        help_text="Fill in to stop the clock until the subject answers (Art. 12(6)).",
    )


class PauseForm(forms.Form):
    reason = forms.CharField(help_text="What the subject was asked for.")


class VerifyForm(forms.Form):
    method = forms.ChoiceField(
        choices=[c for c in VerificationMethod.choices if c[0] != VerificationMethod.TENANT_VOUCHED]
    )
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Record that a document was checked (its type), never its number or a copy.",
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=None, required=False)

    def __init__(self, *args, request_obj, **kwargs):
        super().__init__(*args, **kwargs)
        serving = TenantUserObjectPermission.objects.filter(
            content_object_id=request_obj.tenant_id, permission__codename=SERVE_TENANT
        ).values("user_id")
        self.fields["assignee"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, is_staff=True)
            .filter(Q(groups__name=DPO_GROUP) | Q(groups__name=SUPPORT_GROUP, pk__in=serving))
            .distinct()
            .order_by("username")
        )


class ExtendForm(forms.Form):
    months = forms.TypedChoiceField(
        coerce=int,
        choices=[(2, "Two months from receipt"), (3, "Three months from receipt")],
        initial=deadlines.MAX_PERIOD_MONTHS,
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why more time is needed (complexity, number of requests). The subject is "
        "told, with these reasons (Art. 12(3)).",
    )


class ApproveForm(forms.Form):
    reasons = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RejectForm(forms.Form):
    ground = forms.ChoiceField(choices=RejectionGround.choices)
    reasons = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Told to the subject, with the right to complain to the supervisory "
        "authority (Art. 12(4)).",
    )


class RectifyForm(forms.Form):
    statement = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The correction or supplementary statement added to each of the subject's "
        "calls (Art. 16).",
    )


class OutcomeForm(forms.Form):
    outcome = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PartialOutcomeForm(forms.Form):
    outcome = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What could not be done, and why (the tenant passes it on).",
    )


class LiftNoticeForm(forms.Form):
    text = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Leave empty for the standard notice.",
    )


class VerifyErasureForm(forms.Form):
    numbers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only for a closed request, which keeps no numbers: a number to search free "
        "text for (accepted only if it matches one of the request's tombstones).",
    )

    def clean_numbers(self) -> list[str]:
        text = self.cleaned_data["numbers"].replace(",", "\n")
        return [line.strip() for line in text.splitlines() if line.strip()]
