"""Reads for calls: search by number in any format, filters, the access log, retention rules.

The API, the admin, the dashboard and the data-subject-request work read through these, so a
number is matched the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Q, QuerySet

from calls.models import Call, RecordingAccess, RetentionRule
from consent.models import Purpose
from consent.selectors import BasisAnswer, lawful_basis_at
from portal.models import Tenant
from portal.numbers import normalize_number

RulesIndex = dict[tuple[int, str], RetentionRule]


def call_media(call: Call, name: str):
    """A call's ``recording`` or ``transcript``, or None when it has none."""
    try:
        return getattr(call, name)
    except ObjectDoesNotExist:
        return None


def calls_with_details(queryset: QuerySet[Call]) -> QuerySet[Call]:
    """Everything a list shows, in a fixed number of queries (no N+1)."""
    return queryset.select_related("tenant", "recording", "transcript").prefetch_related("purposes")


def _matching_numbers(queryset: QuerySet[Call], numbers: list[str]) -> QuerySet[Call]:
    # Two indexed equality lookups (tenant, caller) and (tenant, callee), OR-ed.
    return queryset.filter(Q(caller__in=numbers) | Q(callee__in=numbers))


def call_filter(
    queryset: QuerySet[Call],
    *,
    tenant: Tenant,
    number: str | None = None,
    started_after: datetime | None = None,
    started_before: datetime | None = None,
    purpose: str | None = None,
    category: str | None = None,
    direction: str | None = None,
    flagged: bool | None = None,
    restricted: bool | None = None,
) -> QuerySet[Call]:
    """Narrow ``queryset`` (a tenant's calls) by the filters of ``call_list``."""
    if number:
        e164 = normalize_number(number, country=tenant.country, field="number")
        queryset = _matching_numbers(queryset, [e164])
    if started_after is not None:
        queryset = queryset.filter(started_at__gte=started_after)
    if started_before is not None:
        queryset = queryset.filter(started_at__lt=started_before)
    if purpose:
        queryset = queryset.filter(purposes__code=purpose)
    if category is not None:
        queryset = queryset.filter(category=category)
    if direction:
        queryset = queryset.filter(direction=direction)
    if flagged is not None:
        # Flagged by the purpose gate at ingest: some purpose had no lawful basis.
        queryset = queryset.exclude(gate_flags=[]) if flagged else queryset.filter(gate_flags=[])
    if restricted is not None:
        queryset = queryset.filter(is_restricted=restricted)
    return queryset


def call_list(*, tenant: Tenant, **filters) -> QuerySet[Call]:
    """A tenant's calls, newest first, filtered.

    ``number`` may be written in any format ("+49 30 1234567", "030 1234567",
    "0049301234567"): it is normalised in the tenant's country and matched exactly against
    caller or callee. An unreadable number is a ``BusinessRuleError`` naming ``number``.
    ``started_after`` is inclusive, ``started_before`` exclusive; ``purpose`` is a code;
    ``flagged`` selects calls the purpose gate flagged, ``restricted`` restricted ones.
    """
    queryset = call_filter(Call.objects.for_tenant(tenant), tenant=tenant, **filters)
    return calls_with_details(queryset).order_by("-started_at", "-id")


def calls_for_numbers(*, tenant: Tenant, numbers: Iterable[str]) -> QuerySet[Call]:
    """The tenant's calls where caller or callee is one of ``numbers`` (E.164)."""
    numbers = sorted(set(numbers))
    if not numbers:
        return Call.objects.none()
    return calls_with_details(_matching_numbers(Call.objects.for_tenant(tenant), numbers))


def call_lawful_bases(call: Call) -> list[tuple[Purpose, BasisAnswer]]:
    """For each purpose of the call: the subject's lawful basis at the call's start (the
    caller of an inbound call, the callee of an outbound one), as the purpose gate saw it."""
    return [
        (
            purpose,
            lawful_basis_at(
                tenant_id=call.tenant_id,
                number=call.subject_number,
                purpose=purpose,
                at=call.started_at,
            ),
        )
        for purpose in call.purposes.all()
    ]


def recording_accesses_for_calls(
    *, tenant: Tenant, call_ids: Iterable[int]
) -> QuerySet[RecordingAccess]:
    """Every consultation of these calls' recordings and transcripts, newest first."""
    return (
        RecordingAccess.objects.for_tenant(tenant)
        .filter(call_id__in=list(call_ids))
        .select_related("user", "api_key")
        .order_by("-accessed_at", "-id")
    )


def retention_rules_index(*, tenant_ids: Iterable[int] | None = None) -> RulesIndex:
    """Rules keyed by (tenant id, category), to check many calls without a query each."""
    queryset = RetentionRule.objects.all()
    if tenant_ids is not None:
        queryset = queryset.filter(tenant_id__in=list(tenant_ids))
    return {(rule.tenant_id, rule.category): rule for rule in queryset}


def categories_without_rule(tenant) -> list[tuple[str, int]]:
    """(category, calls) of the tenant's calls whose category has no rule with a maximum: the
    tenant's ``default_max_age_days`` applies to them (Art. 5(1)(e))."""
    with_maximum = RetentionRule.objects.for_tenant(tenant).filter(max_age_days__isnull=False)
    rows = (
        Call.objects.for_tenant(tenant)
        .exclude(category__in=with_maximum.values("category"))
        .values("category")
        .annotate(count=Count("id"))
        .order_by("category")
    )
    return [(row["category"], row["count"]) for row in rows]


def retention_rule_for(call: Call, *, rules: RulesIndex | None = None) -> RetentionRule | None:
    if rules is not None:
        return rules.get((call.tenant_id, call.category))
    return RetentionRule.objects.filter(tenant_id=call.tenant_id, category=call.category).first()


def calls_informed(*, tenant, number: str, limit: int = 10) -> list[Call]:
    """The latest calls with ``number`` (E.164) that record how the caller was informed
    (``informed_by``, Art. 13), newest first."""
    return list(
        Call.objects.for_tenant(tenant)
        .filter(Q(caller=number) | Q(callee=number), informed_by__isnull=False)
        .order_by("-started_at", "-id")[:limit]
    )
