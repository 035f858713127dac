"""The consent ledger: giving and withdrawing, each a new event, and the current state written
in the same transaction.

Every rule is checked before anything is written: a refused consent leaves no trace.

Which method records which lawful basis (Art. 6(1), Art. 7):

* consent (a): the *consent methods*, each a clear affirmative act (Art. 4(11), Recital 32) —
  ``ivr_keypress`` (key press), ``verbal`` (recorded verbal yes), ``web_form``,
  ``signed_document``, ``sms_notice`` (the subject's reply to an SMS notice). An
  ``ivr_announcement`` ("stay on the line if you agree") is not consent: silence or inactivity
  is no act (EDPB Guidelines 05/2020). It is the Art. 13 notice of a call processed on another
  basis, recorded on the call (``informed_by``). A contract clause is not free consent
  (Art. 7(4)), and a notice of a legal obligation asks for none.
* contract (b): ``contract_clause`` only;
* legal obligation (c): ``legal_obligation_notice`` only;
* legitimate interests (f), vital interests (d), public task (e): nothing per subject — they are
  the purpose's default lawful basis, decided by the controller's assessment (for legitimate
  interests and public task the subject may object, Art. 21). Recording them with a consent
  method would dress them up as consent, which is refused.

A purpose processing special categories of data (Art. 9) needs *explicit* consent — an express
statement: a key press confirming the stated purpose, a recorded verbal statement, or a signed
document (Art. 9(2)(a)) — or a basis that Art. 9(2) allows for it (``ART9_GROUNDS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.models import Call
from consent.models import ConsentEvent, ConsentState, LawfulBasis, Purpose, SmsNotice
from consent.services.notices import notice_resolve
from consent.services.purposes import ART9_GROUNDS, lawful_basis_validate, purpose_resolve
from portal.errors import BusinessRuleError
from portal.models import ApiKey, Tenant
from portal.numbers import normalize_number
from portal.services import full_clean_or_raise
from portal.webhooks import webhook_emit

Method = ConsentEvent.Method

# A clear affirmative act (Art. 4(11), Recital 32): what each method is, in the subject's words.
CONSENT_METHODS_NAMED = {
    Method.IVR_KEYPRESS: "key press",
    Method.VERBAL: "recorded verbal yes",
    Method.WEB_FORM: "web form",
    Method.SIGNED_DOCUMENT: "signed document",
    Method.SMS_NOTICE: "reply to an SMS notice",
}
CONSENT_METHODS = frozenset(CONSENT_METHODS_NAMED)
# Explicit consent for special categories (Art. 9(2)(a)): an express statement of the purpose.
EXPLICIT_CONSENT_METHODS_NAMED = {
    Method.IVR_KEYPRESS: "key press confirming the stated purpose",
    Method.VERBAL: "recorded verbal statement",
    Method.SIGNED_DOCUMENT: "signed statement",
}
EXPLICIT_CONSENT_METHODS = frozenset(EXPLICIT_CONSENT_METHODS_NAMED)
METHODS_BY_BASIS: dict[str, frozenset[str]] = {
    LawfulBasis.CONSENT: CONSENT_METHODS,
    LawfulBasis.CONTRACT: frozenset({Method.CONTRACT_CLAUSE}),
    LawfulBasis.LEGAL_OBLIGATION: frozenset({Method.LEGAL_OBLIGATION_NOTICE}),
    LawfulBasis.LEGITIMATE_INTERESTS: frozenset(),
    LawfulBasis.VITAL_INTERESTS: frozenset(),
    LawfulBasis.PUBLIC_TASK: frozenset(),
}
# Words integrators use for "no explicit act": consent must be an unambiguous act (Art. 4(11)).
IMPLIED_METHODS = frozenset({"implied", "implicit", "opt_out", "silence", "inactivity", "none"})
EVIDENCE_KEYS = ("call_id", "message_id", "document")
# Integrators' clocks drift: an event a little ahead of ours is not "in the future".
CLOCK_SKEW = timedelta(seconds=60)


def _method(method: str | None, basis: str) -> str:
    method = (method or "").strip()
    if not method or method.lower() in IMPLIED_METHODS:
        raise BusinessRuleError(
            "Consent needs an explicit method: implied consent (silence, inactivity, carrying "
            "on) is not consent (Art. 4(11), Recital 32). Name how it was obtained: "
            + ", ".join(Method.values)
            + ".",
            code="implied_consent",
            field="method",
        )
    if method not in Method.values:
        raise BusinessRuleError(
            f"Unknown method {method!r}: use one of " + ", ".join(Method.values) + ".",
            code="invalid_choice",
            field="method",
        )
    allowed = METHODS_BY_BASIS[basis]
    if method in allowed:
        return method
    if method == Method.IVR_ANNOUNCEMENT and basis == LawfulBasis.CONSENT:
        message = (
            'An IVR announcement ("stay on the line if you agree") is not consent: silence or '
            "inactivity is no clear affirmative act (Art. 4(11), Recital 32). Consent is a key "
            "press (ivr_keypress), a recorded verbal yes (verbal), a web form (web_form), a "
            "signed document (signed_document) or a reply to an SMS notice (sms_notice). The "
            "announcement is the Art. 13 notice of a call processed on another basis: record it "
            "on the call (informed_by)."
        )
        raise BusinessRuleError(message, code="not_affirmative_act", field="method")
    if method in CONSENT_METHODS:
        message = (
            f"A {basis} basis cannot be recorded with {method}, a consent method: that would "
            "dress it up as consent. "
        )
    else:
        message = f"{method} does not establish a {basis} basis. "
    if allowed:
        message += f"Record {basis} with: " + ", ".join(sorted(allowed)) + "."
    else:
        message += (
            f"{basis} is not recorded per subject: make it the purpose's default lawful basis."
        )
    raise BusinessRuleError(
        message,
        code="basis_method_mismatch",
        fields={"lawful_basis": [message], "method": [message]},
    )


def special_category_validate(*, purpose: Purpose, basis: str, method: str | None) -> None:
    """Art. 9: a special-category purpose rests on explicit consent or another Art. 9(2) ground."""
    if not purpose.special_category:
        return
    if basis not in ART9_GROUNDS:
        message = (
            f"Purpose {purpose.code!r} processes special categories of data (Art. 9): "
            f"{basis} is no ground for that (Art. 9(1)). Art. 9(2) allows: "
            + "; ".join(f"{b} ({ground})" for b, ground in ART9_GROUNDS.items())
            + "."
        )
        raise BusinessRuleError(message, code="special_category_basis", field="lawful_basis")
    if basis == LawfulBasis.CONSENT and method not in EXPLICIT_CONSENT_METHODS:
        message = (
            f"Purpose {purpose.code!r} processes special categories of data (Art. 9): it needs "
            "explicit consent, an express statement (Art. 9(2)(a)): "
            + ", ".join(f"{name} ({m})" for m, name in EXPLICIT_CONSENT_METHODS_NAMED.items())
            + f". {method} is not explicit. Other grounds Art. 9(2) allows: "
            + "; ".join(
                f"{b} ({ground})" for b, ground in ART9_GROUNDS.items() if b != LawfulBasis.CONSENT
            )
            + "."
        )
        raise BusinessRuleError(message, code="explicit_consent_required", field="method")


def _evidence(tenant: Tenant, evidence: Mapping | None, *, number: str) -> dict:
    """Validate ``{call_id, message_id, document}``; a call must be the tenant's own."""
    if evidence in (None, ""):
        return {}
    if not isinstance(evidence, Mapping):
        raise BusinessRuleError(
            "evidence is an object with call_id, message_id or document.",
            code="invalid",
            field="evidence",
        )
    unknown = sorted(set(evidence) - set(EVIDENCE_KEYS))
    if unknown:
        raise BusinessRuleError(
            f"Unknown evidence {unknown[0]!r}: use call_id, message_id or document.",
            code="invalid",
            field=f"evidence.{unknown[0]}",
        )
    out: dict = {}
    call_id = evidence.get("call_id")
    if call_id not in (None, ""):
        try:
            call_id = int(call_id)
        except (TypeError, ValueError):
            raise BusinessRuleError(
                "call_id is the call's id (a number).", code="invalid", field="evidence.call_id"
            )
        call = Call.objects.for_tenant(tenant).filter(pk=call_id).values("caller", "callee").first()
        if call is None:  # same answer for a missing call and another tenant's call
            raise BusinessRuleError(
                f"No call {call_id} in this tenant.", code="not_found", field="evidence.call_id"
            )
        if number not in (call["caller"], call["callee"]):
            raise BusinessRuleError(
                f"Call {call_id} was not with this number.",
                code="evidence_mismatch",
                field="evidence.call_id",
            )
        out["evidence_call_id"] = call_id
    for key, field, limit in (
        ("message_id", "evidence_message_id", 128),
        ("document", "evidence_document", 255),
    ):
        value = evidence.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or len(value.strip()) > limit:
            raise BusinessRuleError(
                f"{key} is a text of at most {limit} characters.",
                code="invalid",
                field=f"evidence.{key}",
            )
        out[field] = value.strip()
    message_id = out.get("evidence_message_id")
    if message_id:
        sent = SmsNotice.objects.for_tenant(tenant).filter(message_id=message_id).first()
        if sent is not None and sent.number != number:
            raise BusinessRuleError(
                f"SMS {message_id} was sent to another number.",
                code="evidence_mismatch",
                field="evidence.message_id",
            )
    return out


def _occurred_at(occurred_at: datetime | None) -> datetime:
    current = timezone.now()
    if occurred_at is None:
        return current
    if timezone.is_naive(occurred_at):
        raise BusinessRuleError(
            "occurred_at needs a time zone (e.g. 2025-03-01T10:00:00+01:00).",
            code="invalid",
            field="occurred_at",
        )
    if occurred_at > current + CLOCK_SKEW:
        raise BusinessRuleError(
            "occurred_at is in the future: record consent when it has been given or withdrawn.",
            code="future",
            field="occurred_at",
        )
    return occurred_at


def _state_apply(event: ConsentEvent) -> ConsentState:
    """Bring the current state of (tenant, number, purpose) up to ``event``, in its transaction.

    The state always holds the latest event by (occurred_at, id), so a back-dated event older
    than the state changes nothing. The row is locked (or created, racing safely on the unique
    constraint) so that concurrent events for the same key apply one after the other.
    """
    key = {"tenant_id": event.tenant_id, "number": event.number, "purpose_code": event.purpose.code}
    values = {
        "purpose": event.purpose,
        "allowed": event.action == ConsentEvent.Action.GIVEN,
        "lawful_basis": event.lawful_basis,
        "since": event.occurred_at,
        "event": event,
        "updated_at": timezone.now(),
    }
    state = ConsentState.objects.select_for_update().filter(**key).first()
    if state is None:
        try:
            with transaction.atomic():
                return ConsentState.objects.create(**key, **values)
        except IntegrityError:  # another transaction created it first: apply on top
            state = ConsentState.objects.select_for_update().get(**key)
    if (event.occurred_at, event.pk) < (state.since, state.event_id):
        return state
    for field, value in values.items():
        setattr(state, field, value)
    state.save()
    return state


@transaction.atomic
def _consent_record(
    *,
    action: str,
    tenant: Tenant,
    number: str,
    purpose,
    lawful_basis: str | None,
    method: str | None,
    notice_version: str | None,
    evidence: Mapping | None,
    occurred_at: datetime | None,
    source: str,
    recorded_by,
    api_key: ApiKey | None,
) -> ConsentEvent:
    giving = action == ConsentEvent.Action.GIVEN
    e164 = normalize_number(number, country=tenant.country, field="number")
    found = purpose_resolve(tenant, purpose, for_giving=giving)
    basis = lawful_basis_validate(lawful_basis)
    if not giving and basis != LawfulBasis.CONSENT:
        raise BusinessRuleError(
            "Only consent is withdrawn (Art. 7(3)). To stop processing on legitimate interests "
            "the subject objects (Art. 21); a contract or legal obligation is not withdrawn.",
            code="not_consent",
            field="lawful_basis",
        )
    method = _method(method, basis)
    if giving:
        special_category_validate(purpose=found, basis=basis, method=method)
    notice = notice_resolve(tenant, notice_version)
    if giving and notice is None:
        raise BusinessRuleError(
            "Name the privacy-notice version the subject was shown (Art. 7, 13): consent "
            "without it cannot be proven informed.",
            code="notice_required",
            field="notice_version",
        )
    evidence_fields = _evidence(tenant, evidence, number=e164)
    when = _occurred_at(occurred_at)
    if notice is not None and notice.effective_from > when:
        raise BusinessRuleError(
            f"Notice version {notice.version!r} took effect only on "
            f"{notice.effective_from:%Y-%m-%d %H:%M} UTC, after this event.",
            code="notice_not_in_effect",
            field="notice_version",
        )
    if source not in ConsentEvent.Source.values:
        raise BusinessRuleError(f"Unknown source {source!r}.", code="invalid", field="source")
    if not giving:
        given_before = ConsentEvent.objects.filter(
            tenant=tenant,
            number=e164,
            purpose=found,
            action=ConsentEvent.Action.GIVEN,
            lawful_basis=LawfulBasis.CONSENT,
            occurred_at__lte=when,
        ).exists()
        if not given_before:
            raise BusinessRuleError(
                f"This number never gave consent for {found.code!r}: there is nothing to withdraw.",
                code="never_given",
                field="purpose",
            )
    event = ConsentEvent(
        tenant=tenant,
        number=e164,
        purpose=found,
        lawful_basis=basis,
        action=action,
        method=method,
        notice=notice,
        occurred_at=when,
        source=source,
        recorded_by=recorded_by if getattr(recorded_by, "is_authenticated", False) else None,
        recorded_by_api_key=api_key,
        **evidence_fields,
    )
    # Related rows were looked up above; validate the plain fields without a query per key.
    full_clean_or_raise(
        event,
        exclude=[
            "tenant",
            "purpose",
            "notice",
            "evidence_call",
            "recorded_by",
            "recorded_by_api_key",
        ],
    )
    event.save()
    _state_apply(event)
    # Payloads name the event, never the number (the receiver fetches it with its key).
    webhook_emit(
        tenant=tenant,
        event=f"consent.{action}",
        payload={"consent_event": event.pk, "purpose": found.code, "action": action},
    )
    return event


def consent_give(
    *,
    tenant: Tenant,
    number: str,
    purpose: str | Purpose,
    lawful_basis: str | None = None,
    method: str | None = None,
    notice_version: str | None = None,
    evidence: Mapping | None = None,
    occurred_at: datetime | None = None,
    source: str,
    recorded_by=None,
    api_key: ApiKey | None = None,
) -> ConsentEvent:
    """Record that ``number`` gave consent (or another basis was established) for one purpose."""
    return _consent_record(
        action=ConsentEvent.Action.GIVEN,
        tenant=tenant,
        number=number,
        purpose=purpose,
        lawful_basis=lawful_basis,
        method=method,
        notice_version=notice_version,
        evidence=evidence,
        occurred_at=occurred_at,
        source=source,
        recorded_by=recorded_by,
        api_key=api_key,
    )


def consent_withdraw(
    *,
    tenant: Tenant,
    number: str,
    purpose: str | Purpose,
    lawful_basis: str | None = LawfulBasis.CONSENT,
    method: str | None = None,
    notice_version: str | None = None,
    evidence: Mapping | None = None,
    occurred_at: datetime | None = None,
    source: str,
    recorded_by=None,
    api_key: ApiKey | None = None,
) -> ConsentEvent:
    """Record a withdrawal (Art. 7(3)): the same fields as giving, a new event, never an edit."""
    return _consent_record(
        action=ConsentEvent.Action.WITHDRAWN,
        tenant=tenant,
        number=number,
        purpose=purpose,
        lawful_basis=lawful_basis,
        method=method,
        notice_version=notice_version,
        evidence=evidence,
        occurred_at=occurred_at,
        source=source,
        recorded_by=recorded_by,
        api_key=api_key,
    )
