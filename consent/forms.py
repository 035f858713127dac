"""Dashboard forms of the consent app: they shape the input, the services decide.

The ledger forms carry the same fields as ``POST /api/v1/consents/`` and leave every rule to
``consent_give`` / ``consent_withdraw``: a field the user left empty reaches the service empty,
so that the service's own message (e.g. "implied consent is not consent") is the one shown.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import truncatechars
from django.utils import timezone

from consent.models import ConsentEvent, LawfulBasis, PrivacyNotice, Purpose
from consent.selectors import notice_in_effect
from consent.services import CONSENT_METHODS
from portal.errors import BusinessRuleError
from portal.forms import OneTimeFormMixin
from portal.models import Tenant
from portal.numbers import normalize_number

Method = ConsentEvent.Method
# The evidence fields of the API are nested (``evidence.call_id``); here they are flat.
EVIDENCE_FIELDS = {
    f"evidence.{key}": f"evidence_{key}" for key in ("call_id", "message_id", "document")
}
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def rule_error_on_form_fields(error: BusinessRuleError) -> BusinessRuleError:
    """The service's error with its nested evidence fields renamed to this module's form fields,
    so that ``ServiceFormMixin`` shows each message on the field it is about."""
    fields = {EVIDENCE_FIELDS.get(name, name): texts for name, texts in error.fields.items()}
    return BusinessRuleError(
        error.message, code=error.code, status_code=error.status_code, fields=fields
    )


class NumberField(forms.CharField):
    """A phone number in any usual form, cleaned to E.164 with the tenant's country (the same
    normaliser and message as the API)."""

    def __init__(self, *args, country: str | None = None, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(*args, **kwargs)
        self.country = country

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        try:
            return normalize_number(value, country=self.country)
        except BusinessRuleError as error:
            raise ValidationError(error.message, code=error.code) from None


def local_datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)


def purpose_choices(tenant: Tenant, *, active_only: bool = False) -> list[tuple[str, str]]:
    purposes = Purpose.objects.for_tenant(tenant).order_by("code")
    if active_only:
        purposes = purposes.filter(is_active=True)
    choices = [("", "— choose a purpose —")]
    for purpose in purposes:
        label = f"{purpose.code} — {truncatechars(purpose.description, 60)}"
        choices.append((purpose.code, label if purpose.is_active else f"{label} (deactivated)"))
    return choices


def notice_choices(tenant: Tenant, empty_label: str) -> list[tuple[str, str]]:
    choices = [("", empty_label)]
    for notice in PrivacyNotice.objects.for_tenant(tenant).order_by("-effective_from", "-id"):
        since = date_filter(timezone.localtime(notice.effective_from), "j M Y")
        choices.append((notice.version, f"v{notice.version} (in effect from {since})"))
    return choices


class SubjectLookupForm(forms.Form):
    number = NumberField(
        label="Number",
        help_text="In any usual form: 030 1234567, +49 30 1234567, 0049301234567…",
    )

    def __init__(self, *args, country: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["number"].country = country


class ConsentRecordForm(forms.Form):
    """Giving or withdrawing by hand (e.g. from a letter): the fields of the API."""

    action = forms.ChoiceField(
        label="What happened",
        choices=[
            (ConsentEvent.Action.GIVEN, "Given — consent (or another lawful basis) obtained"),
            (ConsentEvent.Action.WITHDRAWN, "Withdrawn — the subject withdrew their consent"),
        ],
        initial=ConsentEvent.Action.GIVEN,
        widget=forms.RadioSelect,
    )
    number = forms.CharField(
        label="Number",
        max_length=40,
        help_text="The subject's number in any usual form; it is stored in E.164.",
    )
    purpose = forms.ChoiceField(
        label="Purpose",
        required=False,
        help_text="One purpose per record: consent is given for each purpose separately.",
    )
    lawful_basis = forms.ChoiceField(
        label="Lawful basis",
        required=False,
        choices=[("", "— choose a basis —"), *LawfulBasis.choices],
        initial=LawfulBasis.CONSENT,
        help_text="A withdrawal is always of consent (Art. 7(3)).",
    )
    method = forms.ChoiceField(
        label="Method",
        required=False,
        choices=[("", "— how was it obtained? —"), *Method.choices],
        help_text="The subject's explicit act: silence or carrying on is not consent.",
    )
    notice_version = forms.ChoiceField(
        label="Privacy notice shown",
        required=False,
        help_text="The version the subject was shown. Required to give.",
    )
    evidence_call_id = forms.IntegerField(
        label="Call id", required=False, min_value=1, help_text="The call it happened on."
    )
    evidence_message_id = forms.CharField(
        label="SMS message id",
        required=False,
        max_length=128,
        help_text="Of the SMS notice the subject answered.",
    )
    evidence_document = forms.CharField(
        label="Document reference",
        required=False,
        max_length=255,
        help_text="E.g. the letter's reference, a signed form, a ticket number.",
    )
    occurred_at = forms.DateTimeField(
        label="Occurred at",
        required=False,
        widget=local_datetime_input(),
        help_text="Your organisation's local time. Leave empty for now.",
    )

    EVIDENCE = ("evidence_call_id", "evidence_message_id", "evidence_document")

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = purpose_choices(tenant)
        self.fields["notice_version"].choices = notice_choices(tenant, "— none —")

    def main_fields(self):
        return [field for field in self.visible_fields() if field.name not in self.EVIDENCE]

    def evidence_fields(self):
        return [self[name] for name in self.EVIDENCE]

    def service_arguments(self) -> dict:
        """The cleaned input as the services take it (empty means "not given")."""
        data = self.cleaned_data
        arguments = {
            "number": data["number"],
            "purpose": data["purpose"] or None,
            "method": data["method"] or None,
            "notice_version": data["notice_version"] or None,
            "evidence": {
                name.removeprefix("evidence_"): data[name]
                for name in self.EVIDENCE
                if data[name] not in (None, "")
            },
            "occurred_at": data["occurred_at"],
        }
        if data["lawful_basis"]:  # else the service's default (a withdrawal: consent)
            arguments["lawful_basis"] = data["lawful_basis"]
        return arguments


class ConsentWithdrawForm(forms.Form):
    """The short confirmation of a withdrawal: how and when; everything else is known."""

    method = forms.ChoiceField(
        label="How the subject withdrew",
        choices=[(value, label) for value, label in Method.choices if value in CONSENT_METHODS],
        initial=Method.VERBAL,
    )
    evidence_document = forms.CharField(
        label="Document reference",
        required=False,
        max_length=255,
        help_text="Optional: the letter, email or ticket it came with.",
    )
    occurred_at = forms.DateTimeField(
        label="Withdrawn at",
        required=False,
        widget=local_datetime_input(),
        help_text="Your organisation's local time. Leave empty for now.",
    )


class PurposeCreateForm(forms.Form):
    # Plain text, not a slug field: the service explains a catch-all code such as "*".
    code = forms.CharField(
        label="Code",
        max_length=64,
        help_text="A short, specific name used by your integration and the ledger, e.g. "
        "quality_assurance. It never changes once created.",
    )
    description = forms.CharField(
        label="Description",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="In plain words: your callers are told this text (e.g. in the SMS notice).",
    )
    default_lawful_basis = forms.ChoiceField(
        label="Default lawful basis",
        choices=LawfulBasis.choices,
        initial=LawfulBasis.CONSENT,
        help_text="Applies to numbers with nothing recorded: consent needs a recorded consent; "
        "any other basis allows processing until the subject objects or a record says otherwise.",
    )


class PurposeEditForm(forms.Form):
    description = PurposeCreateForm.base_fields["description"]
    default_lawful_basis = PurposeCreateForm.base_fields["default_lawful_basis"]


class NoticeForm(forms.Form):
    version = forms.CharField(label="Version", max_length=32, help_text="E.g. 2.1")
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where subjects read this version (the SMS notice links to it).",
    )
    effective_from = forms.DateTimeField(
        label="In effect from",
        widget=local_datetime_input(),
        help_text="Your organisation's local time.",
    )
    text = forms.CharField(
        label="Text",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="The notice's text; its SHA-256 is kept with it as proof of what was shown.",
    )
    text_sha256 = forms.CharField(
        label="SHA-256 of the text",
        required=False,
        max_length=64,
        help_text="Only when you archive the text elsewhere: 64 hexadecimal digits.",
    )


class SmsNoticeForm(OneTimeFormMixin):
    number = forms.CharField(
        label="Number", max_length=40, help_text="The subject's mobile number, in any usual form."
    )
    purpose = forms.ChoiceField(
        label="Purpose", required=False, help_text="The notice asks consent for this purpose."
    )
    notice_version = forms.ChoiceField(
        label="Privacy notice to link to",
        required=False,
        help_text="The version in effect now when left empty.",
    )

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = purpose_choices(tenant, active_only=True)
        in_effect = notice_in_effect(tenant)
        empty = f"the one in effect now (v{in_effect.version})" if in_effect else "— none —"
        self.fields["notice_version"].choices = notice_choices(tenant, empty)
