"""SMS consent notices: the tenant's template, filled in and sent through the pluggable SMS
backend (``portal.sms``), and kept as evidence (its message id).

Sending a notice records no consent by itself: silence or inactivity is not consent
(Recital 32). When the subject answers (or acts as the notice asks), the consent is recorded with
``consent_give(method="sms_notice", evidence={"message_id": ...})``.
"""

from __future__ import annotations

import string

from django.core.exceptions import ValidationError

from consent.models import PrivacyNotice, Purpose, SmsNotice
from consent.selectors import notice_in_effect
from consent.services.notices import notice_resolve
from consent.services.purposes import purpose_resolve
from portal.errors import BusinessRuleError
from portal.models import ApiKey, Tenant
from portal.numbers import normalize_number
from portal.sms import send_sms
from portal.validators import MAX_SMS_CHARACTERS, message_template_validate


def sms_notice_render(*, tenant: Tenant, purpose: Purpose, notice: PrivacyNotice) -> str:
    """The tenant's SMS template with {tenant}, {purpose} (its description) and {url}."""
    values = {"tenant": tenant.name, "purpose": purpose.description, "url": notice.url}
    try:
        message_template_validate(tenant.sms_notice_template)
    except ValidationError as exc:  # a template stored before the rule: refused, not sent
        raise BusinessRuleError(
            exc.messages[0], code="invalid_template", field="sms_notice_template"
        ) from None
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(tenant.sms_notice_template)]
        unknown = sorted({name for name in fields if name is not None and name not in values})
        if unknown:
            raise KeyError(unknown[0])
        text = tenant.sms_notice_template.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise BusinessRuleError(
            f"The tenant's SMS notice template cannot be filled in ({exc}): use the "
            "placeholders {tenant}, {purpose} and {url}.",
            code="invalid_template",
            field="sms_notice_template",
        ) from None
    if len(text) > MAX_SMS_CHARACTERS:
        raise BusinessRuleError(
            f"The SMS notice would be {len(text)} characters long; at most "
            f"{MAX_SMS_CHARACTERS} are sent: shorten the template or the purpose's description.",
            code="invalid_template",
            field="sms_notice_template",
        )
    if notice.url not in text:
        raise BusinessRuleError(
            "The SMS notice template must contain the policy link: add {url}.",
            code="invalid_template",
            field="sms_notice_template",
        )
    return text


def sms_notice_send(
    *,
    tenant: Tenant,
    number: str,
    purpose: str | Purpose,
    notice_version: str | None = None,
    sent_by=None,
    api_key: ApiKey | None = None,
) -> SmsNotice:
    """Send the consent notice for one purpose by SMS and keep it as evidence.

    No consent is recorded: a notice is not consent. When the subject answers (or continues as
    the notice says), record ``consent_give(method="sms_notice", evidence={"message_id": ...})``
    — the message id then ties the consent to this notice.
    """
    e164 = normalize_number(number, country=tenant.country, field="number")
    found = purpose_resolve(tenant, purpose, for_giving=True)
    notice = notice_resolve(tenant, notice_version) or notice_in_effect(tenant)
    if notice is None:
        raise BusinessRuleError(
            "Publish a privacy notice first: the SMS links to it.",
            code="notice_required",
            field="notice_version",
        )
    text = sms_notice_render(tenant=tenant, purpose=found, notice=notice)
    message_id = send_sms(to=e164, text=text)
    return SmsNotice.objects.create(
        tenant=tenant,
        number=e164,
        purpose=found,
        notice=notice,
        message_id=message_id,
        text=text,
        sent_by=sent_by if getattr(sent_by, "is_authenticated", False) else None,
        sent_by_api_key=api_key,
    )
