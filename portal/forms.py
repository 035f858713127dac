"""Dashboard forms of the core: API keys, webhooks, tenant settings.

They only validate input; the services (``portal.services``, ``portal.webhooks``) decide.
"""

from __future__ import annotations

from django import forms

from portal.models import ApiKey, Tenant
from portal.webhooks import EVENT_TYPES


class OneTimeFormMixin(forms.Form):
    """A hidden token that lets a create form be submitted once (see ``one_time_token``)."""

    once = forms.CharField(widget=forms.HiddenInput, required=False)


class ApiKeyCreateForm(OneTimeFormMixin):
    name = forms.CharField(
        max_length=ApiKey._meta.get_field("name").max_length,
        required=False,
        help_text="What will use the key, e.g. “Asterisk production”. Optional.",
    )


def event_choices() -> list[tuple[str, str]]:
    # Read at form creation: apps register their events in AppConfig.ready.
    return [(name, f"{name} — {text}") for name, text in sorted(EVENT_TYPES.items())]


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where the portal POSTs signed JSON events (https).",
    )
    events = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave all unticked to receive every event, including ones added later.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = event_choices()


class WebhookCreateForm(OneTimeFormMixin, WebhookForm):
    pass


class WebhookEditForm(WebhookForm):
    is_active = forms.BooleanField(
        label="Active", required=False, help_text="Inactive webhooks receive no deliveries."
    )


class TenantSettingsForm(forms.ModelForm):
    """Controller details and the automation policy (saved by ``tenant_update_settings``)."""

    SECTIONS = [
        ("Organisation", ["name", "country", "timezone"]),
        (
            "Controller details (used in letters to your callers)",
            ["legal_name", "address", "privacy_contact_email", "supervisory_authority"],
        ),
        (
            "Automation policy",
            [
                "purpose_gate",
                "require_notice_proof",
                "auto_approve_access",
                "auto_approve_erasure",
            ],
        ),
        ("SMS privacy notice", ["sms_notice_template"]),
        ("Retention", ["default_max_age_days"]),
    ]

    class Meta:
        model = Tenant
        fields = [
            "name",
            "country",
            "timezone",
            "legal_name",
            "address",
            "privacy_contact_email",
            "supervisory_authority",
            "purpose_gate",
            "require_notice_proof",
            "auto_approve_access",
            "auto_approve_erasure",
            "sms_notice_template",
            "default_max_age_days",
        ]
        labels = {
            "name": "Display name",
            "country": "Country (ISO code)",
            "timezone": "Time zone",
            "privacy_contact_email": "Privacy contact email",
            "purpose_gate": "Calls for a purpose without a lawful basis",
            "require_notice_proof": "Require every call to record how the caller was informed",
            "auto_approve_access": "Approve access requests from our API keys automatically",
            "auto_approve_erasure": "Approve erasure requests from our API keys automatically",
            "sms_notice_template": "SMS notice text",
            "default_max_age_days": "Default maximum age of calls (days)",
        }
        help_texts = {
            "sms_notice_template": "Placeholders: {tenant}, {purpose}, {url}.",
        }
        widgets = {
            "purpose_gate": forms.RadioSelect,
            "address": forms.Textarea(attrs={"rows": 3}),
            "sms_notice_template": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_country(self):
        return self.cleaned_data["country"].strip().upper()  # "de" means DE, as in the API

    def sections(self):
        """The fields in titled groups, for the template."""
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]
