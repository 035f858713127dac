"""Ingest: one call or a batch, numbers normalised, purposes resolved, the purpose gate."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.models import Call
from consent.models import ConsentEvent, PrivacyNotice, ProcessingRestriction, Purpose
from consent.selectors import purpose_gate_violations
from portal.audit import fill_history_actor
from portal.errors import BusinessRuleError
from portal.models import Tenant
from portal.numbers import normalize_number
from portal.services import full_clean_or_raise

MAX_BATCH = 500
# Telephony clocks drift; a call "starting" a little in the future is clock skew, not an error.
CLOCK_SKEW = timedelta(minutes=5)


# Gate flags that are not a purpose's code (a code is a slug: these can never be one).
FLAG_NO_PURPOSE = "(no purpose)"
FLAG_NO_NOTICE_PROOF = "(no notice proof)"
INFORMED_BY_KEYS = ("method", "notice_version", "evidence")


def _tenant_purposes(tenant: Tenant, codes) -> dict[str, Purpose]:
    return {p.code: p for p in Purpose.objects.for_tenant(tenant).filter(code__in=set(codes))}


def _tenant_notices(tenant: Tenant, items) -> dict[str, PrivacyNotice]:
    versions = {
        str(item["notice_version"]).strip()
        for item in items
        if isinstance(item, dict) and item.get("notice_version")
    }
    if not versions:
        return {}
    notices = PrivacyNotice.objects.for_tenant(tenant).filter(version__in=versions)
    return {notice.version: notice for notice in notices}


def _informed_by(value, *, notices: dict[str, PrivacyNotice], started_at, fail) -> dict | None:
    """How the caller was informed (Art. 13): ``{method, notice_version, evidence}``, the
    notice a version of the tenant's in force at the call's start."""
    if value in (None, {}):
        return None
    if not isinstance(value, dict):
        fail("informed_by", "An object with method, notice_version and evidence.")
        return None
    unknown = sorted(set(value) - set(INFORMED_BY_KEYS))
    if unknown:
        fail(f"informed_by.{unknown[0]}", "Unknown key: use method, notice_version, evidence.")
    method = value.get("method")
    if method not in ConsentEvent.Method.values:
        fail("informed_by.method", "Use one of: " + ", ".join(ConsentEvent.Method.values) + ".")
    version = str(value.get("notice_version") or "").strip()
    notice = notices.get(version)
    if not version:
        fail("informed_by.notice_version", "Name the privacy-notice version the caller was given.")
    elif notice is None:
        fail("informed_by.notice_version", f"The tenant has no notice version {version!r}.")
    elif notice.effective_from > started_at:
        fail(
            "informed_by.notice_version",
            f"Notice version {version!r} took effect only after the call started.",
        )
    evidence = value.get("evidence") or ""
    if not isinstance(evidence, str) or len(evidence) > 255:
        fail(
            "informed_by.evidence",
            "A text of at most 255 characters (announcement version, SMS id, contract clause).",
        )
        evidence = ""
    return {"method": method, "notice_version": version, "evidence": evidence.strip()}


def _call_build(
    *,
    tenant: Tenant,
    purposes_by_code: dict[str, Purpose],
    notices_by_version: dict[str, PrivacyNotice] | None = None,
    external_id: str,
    direction: str,
    caller: str,
    callee: str,
    started_at: datetime,
    ended_at: datetime | None = None,
    purposes: list[str] | tuple[str, ...] = (),
    category: str = "",
    informed_by: dict | None = None,
) -> tuple[Call, list[Purpose]]:
    """Validate one call without writing anything; every bad field is reported at once."""
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    numbers = {}
    for field, raw in (("caller", caller), ("callee", callee)):
        try:
            numbers[field] = normalize_number(raw, country=tenant.country, field=field)
        except BusinessRuleError as exc:
            fail(field, exc.message)
    if direction not in Call.Direction.values:
        fail("direction", f"Use one of: {', '.join(Call.Direction.values)}.")
    if started_at > timezone.now() + CLOCK_SKEW:
        fail("started_at", "The call starts in the future.")
    if ended_at is not None and ended_at < started_at:
        fail("ended_at", "The call ends before it starts.")
    codes = list(dict.fromkeys(purposes))
    unknown = [code for code in codes if code not in purposes_by_code]
    if unknown:
        fail("purposes", f"Unknown purpose(s) for this tenant: {', '.join(unknown)}.")
    retired = [
        code for code in codes if code in purposes_by_code and not purposes_by_code[code].is_active
    ]
    if retired:
        fail("purposes", f"Purpose(s) no longer in use: {', '.join(retired)}.")
    chosen = [purposes_by_code[code] for code in codes if code in purposes_by_code]
    informed = _informed_by(
        informed_by, notices=notices_by_version or {}, started_at=started_at, fail=fail
    )
    call = Call(
        tenant=tenant,
        external_id=(external_id or "").strip(),
        direction=direction,
        caller=numbers.get("caller", ""),
        callee=numbers.get("callee", ""),
        started_at=started_at,
        ended_at=ended_at,
        duration_seconds=(
            int((ended_at - started_at).total_seconds())
            if ended_at is not None and ended_at >= started_at
            else None
        ),
        category=category or "",
        informed_by=informed,
    )
    if not errors:
        try:
            # The tenant is known and external_id uniqueness is checked by the caller (once per
            # batch, not once per call).
            full_clean_or_raise(
                call,
                exclude=["tenant", "purposes"],
                validate_unique=False,
                validate_constraints=False,
            )
        except BusinessRuleError as exc:
            errors.update(exc.fields)
    if errors:
        first_field, messages = next(iter(errors.items()))
        raise BusinessRuleError(f"{first_field}: {messages[0]}", code="invalid", fields=errors)
    call.is_restricted = _number_restricted(call)
    _apply_purpose_gate(call, chosen)
    return call, chosen


def _number_restricted(call: Call) -> bool:
    """A new call of a number under restriction (Art. 18(1), 18(2)) is stored restricted: kept,
    not processed — whatever the tenant's purpose-gate mode."""
    numbers = [n for n in (call.caller, call.callee) if n]
    return ProcessingRestriction.objects.filter(
        tenant_id=call.tenant_id,
        kind=ProcessingRestriction.Kind.RESTRICTION,
        number__in=numbers,
        lifted_at__isnull=True,
    ).exists()


def _apply_purpose_gate(call: Call, purposes: list[Purpose]) -> None:
    """Is there a lawful basis for each purpose at the call's start (Art. 6(1))?

    A call with no purpose has none to rest on (Art. 5(1)(b)): it is refused or flagged like a
    purpose without basis. Where the tenant requires proof of the notice (Art. 13), a call that
    does not record how its caller was informed (``informed_by``) is too. The tenant decides
    what happens: refuse the call, or store it with the gaps flagged for someone to look into.
    """
    problems: list[str] = []
    flags: list[str] = []
    if not purposes:
        problems.append("the call names no purpose it is processed for (Art. 5(1)(b))")
        flags.append(FLAG_NO_PURPOSE)
    else:
        violations = purpose_gate_violations(
            tenant_id=call.tenant_id,
            number=call.subject_number,
            purposes=purposes,
            at=call.started_at,
        )
        codes = sorted(p.code for p in violations)
        if codes:
            problems.append(
                f"no lawful basis for the subject at the call's start for: {', '.join(codes)}"
            )
            flags.extend(codes)
    if call.tenant.require_notice_proof and not call.informed_by:
        problems.append(
            "the tenant requires proof of how the caller was informed (informed_by, Art. 13)"
        )
        flags.append(FLAG_NO_NOTICE_PROOF)
    if not problems:
        return
    # A restricted call is stored (restricted), never refused: the subject asked to keep it.
    if call.tenant.purpose_gate == Tenant.PurposeGate.REFUSE and not call.is_restricted:
        field = "informed_by" if flags == [FLAG_NO_NOTICE_PROOF] else "purposes"
        message = "; ".join(problems)
        raise BusinessRuleError(
            f"{message[0].upper()}{message[1:]} (this tenant refuses such calls).",
            code="purpose_gate",
            field=field,
        )
    call.gate_flags = flags


def _calls_save(built: list[tuple[Call, list[Purpose]]]) -> list[Call]:
    """Insert calls with their purposes and their history in a fixed number of queries.

    The history is what saving one by one would write — one "+" row per call naming the acting
    user and actor, with the call's purposes — but written in bulk (simple-history's
    ``bulk_history_create``), so that a batch of 500 stays a quick request.
    """
    calls = Call.objects.bulk_create([call for call, _purposes in built])
    through = Call.purposes.through
    links = through.objects.bulk_create(
        [
            through(call_id=call.pk, purpose_id=purpose.pk)
            for call, purposes in built
            for purpose in purposes
        ]
    )
    history_model = Call.history.model
    user = history_model.get_default_history_user(calls[0])
    # bulk_history_create sends no pre_create_historical_record signal: stamp the actor the
    # way the signal handler would, once for all rows.
    probe = history_model(history_user=user)
    fill_history_actor(sender=history_model, history_instance=probe)
    rows = Call.history.bulk_history_create(
        calls, default_user=user, custom_historical_attrs={"history_actor": probe.history_actor}
    )
    history_of = {row.id: row.history_id for row in rows}
    # simple-history's table of each historical row's purposes.
    historical_purposes = apps.get_model("calls", "HistoricalCall_purposes")
    historical_purposes.objects.bulk_create(
        [
            historical_purposes(
                id=link.pk,
                call_id=link.call_id,
                purpose_id=link.purpose_id,
                history_id=history_of[link.call_id],
            )
            for link in links
        ]
    )
    return calls


@transaction.atomic
def call_create(*, tenant: Tenant, **fields: Any) -> Call:
    """Store one call (fields as in the API: external_id, direction, caller, callee,
    started_at, ended_at, purposes, category)."""
    purposes_by_code = _tenant_purposes(tenant, fields.get("purposes") or ())
    call, purposes = _call_build(
        tenant=tenant,
        purposes_by_code=purposes_by_code,
        notices_by_version=_tenant_notices(tenant, [fields.get("informed_by")]),
        **fields,
    )
    if Call.objects.for_tenant(tenant).filter(external_id=call.external_id).exists():
        raise _duplicate_error(call.external_id)
    try:
        with transaction.atomic():
            return _calls_save([(call, purposes)])[0]
    except IntegrityError:  # the same external id arrived concurrently
        raise _duplicate_error(call.external_id) from None


def _duplicate_error(external_id: str) -> BusinessRuleError:
    return BusinessRuleError(
        f"A call with external_id {external_id!r} exists already.",
        code="duplicate",
        field="external_id",
        status_code=409,
    )


@transaction.atomic
def call_batch_create(*, tenant: Tenant, calls: list[dict[str, Any]]) -> list[Call]:
    """Store up to ``MAX_BATCH`` calls, all or nothing. Errors name the item and the field
    (``calls.3.caller``), for every bad item at once."""
    if not calls:
        raise BusinessRuleError("Send at least one call.", field="calls")
    if len(calls) > MAX_BATCH:
        raise BusinessRuleError(
            f"At most {MAX_BATCH} calls per batch; this one has {len(calls)}.", field="calls"
        )
    purposes_by_code = _tenant_purposes(
        tenant, {code for item in calls for code in item.get("purposes") or ()}
    )
    notices_by_version = _tenant_notices(tenant, [item.get("informed_by") for item in calls])
    existing = set(
        Call.objects.for_tenant(tenant)
        .filter(external_id__in=[(item.get("external_id") or "").strip() for item in calls])
        .values_list("external_id", flat=True)
    )
    errors: dict[str, list[str]] = {}
    built: list[tuple[Call, list[Purpose]]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(calls):
        try:
            call, purposes = _call_build(
                tenant=tenant,
                purposes_by_code=purposes_by_code,
                notices_by_version=notices_by_version,
                **item,
            )
        except BusinessRuleError as exc:
            for field, messages in (exc.fields or {"": [exc.message]}).items():
                errors[f"calls.{index}.{field}" if field else f"calls.{index}"] = messages
            continue
        if call.external_id in existing:
            errors[f"calls.{index}.external_id"] = [
                f"A call with external_id {call.external_id!r} exists already."
            ]
        elif call.external_id in seen:
            errors[f"calls.{index}.external_id"] = [
                f"Same external_id as item {seen[call.external_id]} of this batch."
            ]
        seen.setdefault(call.external_id, index)
        built.append((call, purposes))
    if errors:
        bad_items = {key.split(".")[1] for key in errors}
        raise BusinessRuleError(
            f"{len(bad_items)} of {len(calls)} calls are invalid; nothing was stored. "
            f"First: {next(iter(errors))}: {next(iter(errors.values()))[0]}",
            code="invalid",
            fields=errors,
        )
    try:
        with transaction.atomic():
            return _calls_save(built)
    except IntegrityError:
        raise BusinessRuleError(
            "Some of these calls arrived concurrently in another request; nothing was stored.",
            code="duplicate",
            field="calls",
            status_code=409,
        ) from None
