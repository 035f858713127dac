"""Retention: the rules per tenant and category, and the sweep that applies them.

A rule's maximum is storage limitation (Art. 5(1)(e)): older calls are deleted by the daily
sweep; a category without a rule (or whose rule has no maximum) gets the tenant's
``default_max_age_days``. Its minimum rests on its ``legal_ground``: a legal obligation to keep
(Art. 17(3)(b)) or legal claims, e.g. a limitation period (Art. 17(3)(e)).
``call_deletion_blockers`` refuses every deletion before it, the sweep's included — and every
deletion of a call under a legal hold (``calls.services.retention.holds``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from calls import selectors
from calls.models import Call, RetentionRule
from calls.services.retention.deletion import call_deletion_blockers, calls_delete
from calls.services.retention.holds import HoldsIndex, holds_index
from portal.errors import BusinessRuleError
from portal.jobs import JobFailures
from portal.models import Tenant
from portal.services import full_clean_or_raise

RULE_FIELDS = ("category", "max_age_days", "min_age_days", "legal_ground", "legal_reference")
SWEEP_BATCH = 200


def _rule_save(rule: RetentionRule) -> RetentionRule:
    full_clean_or_raise(rule, exclude=["tenant"], validate_constraints=False)
    duplicate = (
        RetentionRule.objects.for_tenant(rule.tenant_id)
        .filter(category=rule.category)
        .exclude(pk=rule.pk)
        .exists()
    )
    if duplicate:
        raise BusinessRuleError(
            f"There is a rule for category {rule.category!r} already.",
            code="duplicate",
            field="category",
            status_code=409,
        )
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise BusinessRuleError(
            f"There is a rule for category {rule.category!r} already.",
            code="duplicate",
            field="category",
            status_code=409,
        ) from None
    return rule


@transaction.atomic
def retention_rule_create(*, tenant: Tenant, **fields: Any) -> RetentionRule:
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise BusinessRuleError(f"Unknown field {sorted(unknown)[0]!r}.", field=sorted(unknown)[0])
    return _rule_save(RetentionRule(tenant=tenant, **fields))


@transaction.atomic
def retention_rule_update(*, rule: RetentionRule, **changes: Any) -> RetentionRule:
    rule = RetentionRule.objects.select_for_update().get(pk=rule.pk)
    for name, value in changes.items():
        if name not in RULE_FIELDS:
            raise BusinessRuleError(f"Unknown field {name!r}.", field=name)
        setattr(rule, name, value)
    return _rule_save(rule)


@transaction.atomic
def retention_rule_delete(*, rule: RetentionRule) -> None:
    """Without a rule, the category's calls are kept until a rule or a request deletes them."""
    rule.delete()


@dataclass
class SweepReport:
    at: datetime
    dry_run: bool
    deleted: Counter = field(default_factory=Counter)  # (tenant slug, category) -> calls
    kept: Counter = field(default_factory=Counter)  # (tenant slug, category, blocker code)
    kept_until: dict = field(default_factory=dict)  # (slug, category, code) -> earliest date
    # (slug, category, calls) of categories without a rule with a maximum: the default applies
    without_rule: list[tuple[str, str, int]] = field(default_factory=list)
    failures: JobFailures = field(default_factory=lambda: JobFailures("retention sweep"))

    @property
    def deleted_total(self) -> int:
        return sum(self.deleted.values())

    @property
    def kept_total(self) -> int:
        return sum(self.kept.values())

    @property
    def without_rule_total(self) -> int:
        return sum(count for *_key, count in self.without_rule)

    def as_dict(self) -> dict:
        return {
            "at": self.at.isoformat(),
            "dry_run": self.dry_run,
            "deleted": self.deleted_total,
            "kept_blocked": self.kept_total,
            "kept_without_rule": self.without_rule_total,
            **self.failures.as_dict(),
        }

    def lines(self) -> list[str]:
        verb = "would delete" if self.dry_run else "deleted"
        out = [
            f"Retention sweep at {self.at:%Y-%m-%d %H:%M} UTC"
            + (" (dry run: nothing was deleted)" if self.dry_run else "")
        ]
        for (slug, category), count in sorted(self.deleted.items()):
            out.append(f"  {slug} / {category}: {verb} {count} call(s) past the maximum age")
        for (slug, category, code), count in sorted(self.kept.items()):
            until = self.kept_until.get((slug, category, code))
            out.append(
                f"  {slug} / {category}: kept {count} call(s) past the maximum age ({code}"
                + (f", earliest until {until:%Y-%m-%d}" if until else "")
                + ")"
            )
        for slug, category, count in self.without_rule:
            out.append(
                f"  {slug} / {category or '(no category)'}: {count} call(s) without a retention "
                "rule with a maximum: the tenant's default maximum age applies"
            )
        for failure in self.failures.failed:
            out.append(f"  {failure['item']}: FAILED, swept again next run ({failure['error']})")
        out.append(
            f"Total: {verb} {self.deleted_total}, kept by a minimum or hold "
            f"{self.kept_total}; {self.without_rule_total} call(s) under the default maximum."
        )
        return out


def _categories_without_rule() -> list[tuple[str, str, int]]:
    """Per tenant, the categories of its calls without a rule that has a maximum: the tenant's
    ``default_max_age_days`` applies to them."""
    with_maximum = RetentionRule.objects.filter(
        tenant_id=OuterRef("tenant_id"), category=OuterRef("category"), max_age_days__isnull=False
    )
    rows = (
        Call.objects.filter(~Exists(with_maximum))
        .values("tenant__slug", "category")
        .annotate(count=Count("id"))
        .order_by("tenant__slug", "category")
    )
    return [(row["tenant__slug"], row["category"], row["count"]) for row in rows]


def _sweep_batch(
    batch: list[Call],
    *,
    reason: str,
    key: tuple[str, str],
    at: datetime,
    dry_run: bool,
    rules: selectors.RulesIndex,
    holds: HoldsIndex,
    report: SweepReport,
) -> None:
    """Judge a batch with the indexes, and delete what may go in one ``calls_delete``."""
    blocked: dict[int, list] = {}
    for call in batch:
        blockers = call_deletion_blockers(call, at=at, rules=rules, holds=holds)
        if blockers:
            blocked[call.pk] = blockers
    if not dry_run:
        result = calls_delete(
            [call for call in batch if call.pk not in blocked],
            reason=reason,
            source="retention",
            at=at,
            rules=rules,
        )
        blocked.update(result.kept)  # blocked since it was read (a hold placed this instant)
        report.deleted[key] += len(result.deleted)
    else:
        report.deleted[key] += len(batch) - len(blocked)
    for blockers in blocked.values():
        # Counted once, under the first reason it is kept for.
        blocker = blockers[0]
        report.kept[(*key, blocker.code)] += 1
        until = report.kept_until.get((*key, blocker.code))
        if blocker.until and (until is None or blocker.until < until):
            report.kept_until[(*key, blocker.code)] = blocker.until


def _sweep_calls(queryset, *, batch_size: int, **kwargs) -> None:
    """Every call of ``queryset``, in batches by id, one transaction per batch: a sweep that
    dies half-way has kept the batches it finished, and the next run does the rest."""
    last_pk = 0
    while True:
        batch = list(queryset.filter(pk__gt=last_pk).order_by("pk")[:batch_size])
        if not batch:
            return
        last_pk = batch[-1].pk
        _sweep_batch(batch, **kwargs)


def _sweep_older_than(queryset, *, days: int, at: datetime, **kwargs) -> None:
    """The calls of ``queryset`` started more than ``days`` before ``at``; a period no date can
    hold (a rule stored before periods were bounded) fails here, inside the rule's own run."""
    _sweep_calls(queryset.filter(started_at__lt=at - timedelta(days=days)), at=at, **kwargs)


def retention_sweep(
    *, at: datetime | None = None, dry_run: bool = False, batch_size: int = SWEEP_BATCH
) -> SweepReport:
    """Delete every call older than its category's maximum age, through ``calls_delete``.

    Runs rule by rule, then, per tenant, the calls of categories without a rule that has a
    maximum against the tenant's ``default_max_age_days`` (storage limitation by default,
    Art. 5(1)(e)). Batches of ``batch_size`` calls, each deleted set-based in one transaction.
    Calls that something blocks (a minimum retention, a legal hold, a restriction) are counted
    and kept; a second run at the same time deletes nothing more.
    """
    at = at or timezone.now()
    report = SweepReport(at=at, dry_run=dry_run)
    rules = selectors.retention_rules_index()
    holds = holds_index(at=at)  # calls_delete asks afresh, under the calls' lock
    tenants = {tenant.pk: tenant for tenant in Tenant.objects.all()}
    common = {"at": at, "dry_run": dry_run, "rules": rules, "holds": holds, "report": report}
    for (tenant_id, category), rule in sorted(rules.items()):
        if rule.max_age_days is None:
            continue
        # Rule by rule: one tenant's broken rule or data is reported, the others are swept.
        report.failures.run(
            f"{tenants[tenant_id].slug} / {category}",
            _sweep_older_than,
            Call.objects.filter(tenant_id=tenant_id, category=category),
            days=rule.max_age_days,
            batch_size=batch_size,
            reason=f"older than the maximum of {rule.max_age_days} days for {category!r}",
            key=(tenants[tenant_id].slug, category),
            **common,
        )
    for tenant in sorted(tenants.values(), key=lambda t: t.slug):
        with_maximum = [
            category
            for (tenant_id, category), rule in rules.items()
            if tenant_id == tenant.pk and rule.max_age_days is not None
        ]
        old = Call.objects.filter(
            tenant_id=tenant.pk, started_at__lt=at - timedelta(days=tenant.default_max_age_days)
        ).exclude(category__in=with_maximum)
        for category in sorted(set(old.values_list("category", flat=True).distinct())):
            report.failures.run(
                f"{tenant.slug} / {category or '(no category)'}",
                _sweep_calls,
                old.filter(category=category),
                batch_size=batch_size,
                reason=f"older than the tenant's default maximum of "
                f"{tenant.default_max_age_days} days (no rule for {category!r})",
                key=(tenant.slug, category),
                **common,
            )
    report.without_rule = _categories_without_rule()
    return report
