"""SMS consent notices: the tenant's template, filled in and sent through the pluggable SMS
backend (``portal.sms``), and kept as evidence (its message id).

Sending a notice records no consent by itself: silence or inactivity is not consent
(Recital 32). When the subject answers (or acts as the notice asks), the consent is recorded with
``consent_give(method="sms_notice", evidence={"message_id": ...})``.
"""

from __future__ import annotations

import re
import string

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from consent.models import (
    ConsentEvent,
    ConsentState,
    InboundSms,
    LawfulBasis,
    PrivacyNotice,
    Purpose,
    SmsNotice,
)
from consent.selectors import notice_in_effect
from consent.services.ledger import consent_withdraw
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


# Replies that mean "stop" (case, spaces and punctuation aside): the usual keywords of SMS
# providers, and the German "STOPP".
STOP_WORDS = frozenset(
    {"STOP", "STOPP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)


def sms_is_stop(text: str) -> bool:
    """Whether a reply says STOP: "stop", " Stop! ", "STOP ALL", "opt-out"…"""
    return re.sub(r"[^A-Z]", "", (text or "").upper()) in STOP_WORDS


@transaction.atomic
def sms_inbound_receive(
    *, tenant: Tenant, sender: str, text: str, message_id: str, api_key: ApiKey | None = None
) -> tuple[InboundSms, bool]:
    """An SMS the tenant's provider passed on; returns it and whether it is new.

    STOP withdraws every consent in force that was given by SMS notice from that number, with
    the inbound message as evidence, in the ledger before this returns: withdrawing is as easy
    as giving (Art. 7(3)). Any other reply is kept and ignored. The provider's message id makes
    it idempotent: a retried webhook returns the first outcome and records nothing new.
    """
    message_id = (message_id or "").strip()
    if not message_id or len(message_id) > 128:
        raise BusinessRuleError(
            "message_id is the provider's id of the message (1 to 128 characters).",
            code="required" if not message_id else "invalid",
            field="message_id",
        )
    if not isinstance(text, str):
        raise BusinessRuleError("text is the message's text.", code="invalid", field="text")
    e164 = normalize_number(sender, country=tenant.country, field="from")
    existing = InboundSms.objects.for_tenant(tenant).filter(message_id=message_id).first()
    if existing is not None:
        return existing, False
    stop = sms_is_stop(text)
    withdrawn: list[str] = []
    if stop:
        given_by_sms = (
            ConsentState.objects.select_for_update()
            .filter(
                tenant=tenant,
                number=e164,
                allowed=True,
                lawful_basis=LawfulBasis.CONSENT,
                event__method=ConsentEvent.Method.SMS_NOTICE,
            )
            .order_by("purpose_code")
        )
        for state in given_by_sms:
            consent_withdraw(
                tenant=tenant,
                number=e164,
                purpose=state.purpose_code,
                method=ConsentEvent.Method.SMS_NOTICE,
                evidence={"message_id": message_id},
                source=ConsentEvent.Source.API,
                api_key=api_key,
            )
            withdrawn.append(state.purpose_code)
    try:
        with transaction.atomic():
            inbound = InboundSms.objects.create(
                tenant=tenant,
                message_id=message_id,
                number=e164,
                text=text[:2000],
                outcome=InboundSms.Outcome.WITHDRAWN if stop else InboundSms.Outcome.IGNORED,
                withdrawn=withdrawn,
                api_key=api_key,
            )
    except IntegrityError:  # the same message arrived concurrently: the first one counts
        raise BusinessRuleError(
            f"Message {message_id} is being received by another request.",
            code="duplicate",
            field="message_id",
            status_code=409,
        ) from None
    return inbound, True
