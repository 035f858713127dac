"""Writes for the incident itself: open, edit, assess, link the affected calls, contain, close."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, Count, F, When
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from breaches.models import (
    BreachAffectedCall,
    BreachCallScope,
    BreachIncident,
    BreachNotification,
    BreachTenantImpact,
    DataCategory,
    RiskLevel,
)
from breaches.services.common import lock_incident, require_delay_reason, require_text
from calls.models import Call
from portal.audit import current_actor
from portal.errors import BusinessRuleError
from portal.models import Tenant
from portal.services import full_clean_or_raise

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

EDITABLE_FIELDS = (
    "title",
    "description",
    "occurred_from",
    "occurred_to",
    "detected_at",
    "became_aware_at",
    "data_categories",
    "likely_consequences",
    "measures_taken",
    "measures_proposed",
    "dpo_contact",
)
LINK_BATCH = 1000


def ordered_categories(values: Iterable[str] | None) -> list[str]:
    """Each category once, in the order of ``DataCategory`` (unknown ones last, for validation)."""
    chosen = set(values or [])
    return [c for c in DataCategory.values if c in chosen] + sorted(
        chosen - set(DataCategory.values)
    )


def default_dpo_contact(user: AbstractBaseUser | None) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    name = user.get_full_name() or user.get_username()
    return f"{name} <{user.email}>" if user.email else name


@transaction.atomic
def incident_open(
    *,
    title: str,
    description: str,
    became_aware_at: datetime,
    detected_at: datetime | None = None,
    occurred_from: datetime | None = None,
    occurred_to: datetime | None = None,
    data_categories: Iterable[str] = (),
    likely_consequences: str = "",
    measures_taken: str = "",
    measures_proposed: str = "",
    dpo_contact: str = "",
    opened_by: AbstractBaseUser | None = None,
) -> BreachIncident:
    """Register a breach (Art. 33(5)): every breach is registered, notified or not."""
    incident = BreachIncident(
        title=require_text(title, field="title", message="Give the incident a title."),
        description=require_text(
            description, field="description", message="Describe the nature of the breach."
        ),
        became_aware_at=became_aware_at,
        detected_at=detected_at or became_aware_at,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        data_categories=ordered_categories(data_categories),
        likely_consequences=likely_consequences,
        measures_taken=measures_taken,
        measures_proposed=measures_proposed,
        dpo_contact=dpo_contact or default_dpo_contact(opened_by),
        opened_by=opened_by if getattr(opened_by, "is_authenticated", False) else None,
    )
    full_clean_or_raise(incident)
    incident.save()
    return incident


@transaction.atomic
def incident_update(*, incident: BreachIncident, **changes) -> BreachIncident:
    """Edit what is known about the incident; each change is kept in its history."""
    incident = lock_incident(incident)
    for field, value in changes.items():
        if field not in EDITABLE_FIELDS:
            raise BusinessRuleError(f"{field} cannot be changed here.", field=field)
        if field == "data_categories":
            value = ordered_categories(value)
        setattr(incident, field, value)
    require_text(incident.title, field="title", message="Give the incident a title.")
    require_text(
        incident.description, field="description", message="Describe the nature of the breach."
    )
    full_clean_or_raise(incident)
    incident.save()
    return incident


def _tenants_pending(incident: BreachIncident) -> bool:
    from breaches.selectors import tenants_not_yet_notified

    return tenants_not_yet_notified(incident).exists()


def _enqueue_high_risk_notices(incident: BreachIncident, delay_reason: str = "") -> None:
    from breaches.tasks import incident_notify_tenants_task

    incident_notify_tenants_task.delay_on_commit(incident.pk, delay_reason)


@transaction.atomic
def incident_assess(
    *,
    incident: BreachIncident,
    risk_level: str,
    reasoning: str,
    delay_reason: str = "",
    by: AbstractBaseUser | None = None,
) -> BreachIncident:
    """Rate the risk to data subjects, with the reasoning (kept for the register).

    A ``high`` rating sends the tenant notices at once (in the background) to every affected
    tenant not yet told. Lower ratings wait for the DPO's review — but every affected tenant is
    told either way: as processor we do not filter by our own rating (EDPB Guidelines 9/2022).
    """
    incident = lock_incident(incident)
    if risk_level not in RiskLevel.values:
        raise BusinessRuleError(
            f"Unknown risk level {risk_level!r}: use {', '.join(RiskLevel.values)}.",
            field="risk_level",
        )
    incident.risk_reasoning = require_text(
        reasoning, field="reasoning", message="Give the reasoning of the risk assessment."
    )
    incident.risk_level = risk_level
    incident.assessed_at = timezone.now()
    incident.assessed_by = by if getattr(by, "is_authenticated", False) else None
    if incident.status == BreachIncident.Status.OPEN:
        incident.status = BreachIncident.Status.ASSESSING
    if risk_level == RiskLevel.HIGH and _tenants_pending(incident):
        # Refuse now rather than let the background notice fail for want of a reason.
        delay_reason = require_delay_reason(
            incident,
            sent_at=timezone.now(),
            delay_reason=delay_reason,
            phase=BreachNotification.Phase.INITIAL,
        )
        _enqueue_high_risk_notices(incident, delay_reason)
    incident.save()
    return incident


def _calls_to_link(
    *,
    call_ids: Iterable[int] | None,
    tenant: Tenant | None,
    started_from: datetime | None,
    started_to: datetime | None,
):
    by_ids = call_ids is not None
    by_scope = any(v is not None for v in (tenant, started_from, started_to))
    if by_ids == by_scope:
        raise BusinessRuleError(
            "Link calls either by their ids or by a tenant and a time window.", field="call_ids"
        )
    if by_ids:
        ids = sorted({int(i) for i in call_ids})
        if not ids:
            raise BusinessRuleError("Give at least one call id.", field="call_ids")
        found = set(Call.objects.filter(pk__in=ids).values_list("pk", flat=True))
        missing = [i for i in ids if i not in found]
        if missing:
            raise BusinessRuleError(
                f"No such call(s): {', '.join(map(str, missing[:20]))}.",
                code="not_found",
                field="call_ids",
            )
        return Call.objects.filter(pk__in=ids), None
    if tenant is None or started_from is None or started_to is None:
        raise BusinessRuleError(
            "A call scope needs a tenant, a start and an end.", field="started_from"
        )
    if started_to <= started_from:
        raise BusinessRuleError("The window must end after it starts.", field="started_to")
    calls = Call.objects.for_tenant(tenant).filter(
        started_at__gte=started_from, started_at__lt=started_to
    )
    return calls, (tenant, started_from, started_to)


@transaction.atomic
def incident_link_calls(
    *,
    incident: BreachIncident,
    call_ids: Iterable[int] | None = None,
    tenant: Tenant | None = None,
    started_from: datetime | None = None,
    started_to: datetime | None = None,
) -> int:
    """Link the calls whose data the breach touched — by ids, or every call of a tenant in a
    time window [started_from, started_to) — and recompute the affected tenants and counts.

    Returns how many calls were newly linked. Links are written in batches (with their history
    rows), so a scope of many calls stays one quick transaction.
    """
    incident = lock_incident(incident)
    calls, scope = _calls_to_link(
        call_ids=call_ids, tenant=tenant, started_from=started_from, started_to=started_to
    )
    already = set(
        BreachAffectedCall.objects.filter(incident=incident).values_list("call_id", flat=True)
    )
    actor = current_actor()
    history_user = get_user_model()(pk=actor.user_id) if actor and actor.user_id else None
    history_attrs = {"history_actor": actor.label[:150]} if actor else None
    linked, batch = 0, []
    for call_id, tenant_id in (
        calls.order_by().values_list("pk", "tenant_id").iterator(chunk_size=LINK_BATCH)
    ):
        if call_id in already:
            continue
        batch.append(BreachAffectedCall(incident=incident, call_id=call_id, tenant_id=tenant_id))
        if len(batch) >= LINK_BATCH:
            linked += _write_links(batch, history_user, history_attrs)
            batch = []
    if batch:
        linked += _write_links(batch, history_user, history_attrs)
    if scope is not None:
        scope_tenant, start, end = scope
        BreachCallScope.objects.create(
            incident=incident,
            tenant=scope_tenant,
            started_from=start,
            started_to=end,
            calls_linked=linked,
        )
    impacts_recompute(incident=incident)
    if incident.risk_level == RiskLevel.HIGH and _tenants_pending(incident):
        # Newly affected tenants of a high-risk incident are told at once, too. After the 72
        # hours the background notice cannot supply the reasons for the delay: it then waits
        # for the DPO (the work queue shows it as overdue).
        _enqueue_high_risk_notices(incident)
    return linked


def _write_links(batch: list[BreachAffectedCall], history_user, history_attrs) -> int:
    bulk_create_with_history(
        batch,
        BreachAffectedCall,
        batch_size=LINK_BATCH,
        default_user=history_user,
        custom_historical_attrs=history_attrs,
    )
    return len(batch)


def impacts_recompute(*, incident: BreachIncident) -> list[BreachTenantImpact]:
    """Per tenant: calls, recordings and transcripts linked, and distinct subject numbers.

    The subject of an inbound call is its caller, of an outbound call its callee: the other
    end is the tenant's own line. A tenant whose links have all gone (its calls erased since)
    keeps the impact last computed: the register records what the breach touched.
    """
    links = BreachAffectedCall.objects.filter(incident=incident)
    subject = Case(When(direction=Call.Direction.OUTBOUND, then=F("callee")), default=F("caller"))
    per_tenant = {
        row["tenant_id"]: row
        for row in Call.objects.filter(pk__in=links.values("call_id"))
        .order_by()
        .values("tenant_id")
        .annotate(
            calls=Count("pk"),
            recordings=Count("recording"),
            transcripts=Count("transcript"),
            subjects=Count(subject, distinct=True),
        )
    }
    existing = {i.tenant_id: i for i in BreachTenantImpact.objects.filter(incident=incident)}
    impacts = []
    for tenant_id, row in sorted(per_tenant.items()):
        impact = existing.get(tenant_id) or BreachTenantImpact(
            incident=incident, tenant_id=tenant_id
        )
        counts = {k: row[k] for k in ("calls", "recordings", "transcripts", "subjects")}
        if impact.pk and all(getattr(impact, k) == v for k, v in counts.items()):
            impacts.append(impact)
            continue
        for key, value in counts.items():
            setattr(impact, key, value)
        impact.computed_at = timezone.now()
        impact.save()  # per object: each change to the counts is in the history
        impacts.append(impact)
    return impacts


@transaction.atomic
def incident_contain(*, incident: BreachIncident, measures_taken: str = "") -> BreachIncident:
    """The breach is stopped (e.g. access revoked); what was done goes into the measures."""
    incident = lock_incident(incident)
    if incident.status == BreachIncident.Status.CONTAINED:
        raise BusinessRuleError(f"{incident.reference} is contained already.", code="no_change")
    if measures_taken.strip():
        incident.measures_taken = measures_taken.strip()
    require_text(
        incident.measures_taken,
        field="measures_taken",
        message="Say which measures contained the breach (Art. 33(3)(d)).",
    )
    incident.status = BreachIncident.Status.CONTAINED
    incident.contained_at = timezone.now()
    incident.save()
    return incident


@transaction.atomic
def incident_close(*, incident: BreachIncident, note: str) -> BreachIncident:
    """Close the incident once everything the law asks is done and documented."""
    from breaches.selectors import tenants_not_yet_notified

    incident = lock_incident(incident)
    note = require_text(note, field="note", message="Say why the incident can be closed.")
    if not incident.risk_level:
        raise BusinessRuleError(
            "Assess the risk before closing the incident.", code="not_assessed", field="risk_level"
        )
    pending = list(tenants_not_yet_notified(incident).values_list("name", flat=True))
    if pending:
        raise BusinessRuleError(
            "Every affected tenant must be told before closing (Art. 33(2)); not yet told: "
            f"{', '.join(pending)}.",
            code="tenants_not_notified",
        )
    if not incident.impacts.exists():
        # The platform is the controller here: its own decisions must be on record.
        notices = incident.notifications
        authority = notices.filter(recipient=BreachNotification.Recipient.SUPERVISORY_AUTHORITY)
        if not authority.exists() and not incident.authority_not_notified_reasoning:
            raise BusinessRuleError(
                "Record the notification to the supervisory authority, or the reasoning for "
                "not notifying it (Art. 33(5)), before closing.",
                code="authority_decision_missing",
            )
        told_subjects = notices.filter(
            recipient__in=[
                BreachNotification.Recipient.DATA_SUBJECTS,
                BreachNotification.Recipient.PUBLIC,
            ]
        ).exists()
        if (
            incident.risk_level == RiskLevel.HIGH
            and not told_subjects
            and not incident.subjects_not_notified_ground
        ):
            raise BusinessRuleError(
                "A high-risk breach: record the communication to the data subjects, or the "
                "Art. 34(3) ground for not telling them, before closing.",
                code="subjects_decision_missing",
            )
    incident.status = BreachIncident.Status.CLOSED
    incident.closed_at = timezone.now()
    incident.closing_note = note
    incident.save()
    return incident
