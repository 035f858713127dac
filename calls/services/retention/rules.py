"""Retention: the rules per tenant and category, and the sweep that applies them.

A rule's maximum is storage limitation (Art. 5(1)(e)): older calls are deleted by the daily
sweep. Its minimum is a legal obligation to keep (Art. 17(3)(b)): ``call_deletion_blockers``
refuses every deletion before it, the sweep's included — and every deletion of a call under a
legal hold (``calls.services.retention.holds``).
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
from calls.services.retention.deletion import call_delete, call_deletion_blockers
from calls.services.retention.holds import HoldsIndex, holds_index
from portal.errors import BusinessRuleError
from portal.jobs import JobFailures
from portal.models import Tenant
from portal.services import full_clean_or_raise

RULE_FIELDS = ("category", "max_age_days", "min_age_days", "legal_reference")
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
                f"  {slug} / {category or '(no category)'}: kept {count} call(s): "
                "no retention rule with a maximum for this category"
            )
        for failure in self.failures.failed:
            out.append(f"  {failure['item']}: FAILED, swept again next run ({failure['error']})")
        out.append(
            f"Total: {verb} {self.deleted_total}, kept by a minimum or hold "
            f"{self.kept_total}, kept without a rule {self.without_rule_total}."
        )
        return out


def _calls_without_rule() -> list[tuple[str, str, int]]:
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


def _sweep_one(
    call: Call,
    *,
    rule: RetentionRule,
    key: tuple[str, str],
    at: datetime,
    dry_run: bool,
    rules: selectors.RulesIndex,
    holds: HoldsIndex,
    report: SweepReport,
) -> None:
    blockers = call_deletion_blockers(call, at=at, rules=rules, holds=holds)
    if blockers:
        # Counted once, under the first reason it is kept for.
        blocker = blockers[0]
        report.kept[(*key, blocker.code)] += 1
        until = report.kept_until.get((*key, blocker.code))
        if blocker.until and (until is None or blocker.until < until):
            report.kept_until[(*key, blocker.code)] = blocker.until
        return
    if not dry_run:
        try:
            call_delete(
                call=call,
                reason=f"older than the maximum of {rule.max_age_days} days for {rule.category!r}",
                source="retention",
                at=at,
            )
        except BusinessRuleError as exc:  # blocked since it was read
            report.kept[(*key, exc.code)] += 1
            return
    report.deleted[key] += 1


def retention_sweep(
    *, at: datetime | None = None, dry_run: bool = False, batch_size: int = SWEEP_BATCH
) -> SweepReport:
    """Delete every call older than its category's maximum age, through ``call_delete``.

    Runs rule by rule, in batches of ``batch_size`` calls, one transaction per batch: a sweep
    that dies half-way has kept the batches it finished, and the next run does the rest.
    Calls that something blocks (a minimum retention, later a legal hold) are counted and
    kept; a second run at the same time deletes nothing more.
    """
    at = at or timezone.now()
    report = SweepReport(at=at, dry_run=dry_run)
    rules = selectors.retention_rules_index()
    holds = holds_index(at=at)  # call_delete still asks afresh, under the call's lock
    slugs = dict(Tenant.objects.values_list("id", "slug"))
    for (tenant_id, category), rule in sorted(rules.items()):
        if rule.max_age_days is None:
            continue
        key = (slugs[tenant_id], category)
        # Rule by rule: one tenant's broken rule or data is reported, the others are swept.
        report.failures.run(
            f"{key[0]} / {category}",
            _sweep_rule,
            rule,
            key=key,
            at=at,
            dry_run=dry_run,
            batch_size=batch_size,
            rules=rules,
            holds=holds,
            report=report,
        )
    report.without_rule = _calls_without_rule()
    return report


def _sweep_rule(
    rule: RetentionRule,
    *,
    key: tuple[str, str],
    at: datetime,
    dry_run: bool,
    batch_size: int,
    rules: selectors.RulesIndex,
    holds: HoldsIndex,
    report: SweepReport,
) -> None:
    tenant_id, category = rule.tenant_id, rule.category
    cutoff = at - timedelta(days=rule.max_age_days)
    last_pk = 0
    while True:
        batch = list(
            Call.objects.filter(
                tenant_id=tenant_id, category=category, started_at__lt=cutoff, pk__gt=last_pk
            )
            .select_related("tenant")
            .order_by("pk")[:batch_size]
        )
        if not batch:
            break
        last_pk = batch[-1].pk
        # One transaction per batch (a commit per call would cost a disk flush each);
        # each deletion is a savepoint inside it, so a refused one does not undo the rest.
        counted = report.deleted.copy(), report.kept.copy()
        try:
            with transaction.atomic():
                for call in batch:
                    _sweep_one(
                        call,
                        rule=rule,
                        key=key,
                        at=at,
                        dry_run=dry_run,
                        rules=rules,
                        holds=holds,
                        report=report,
                    )
        except Exception:
            report.deleted, report.kept = counted  # the batch was rolled back: not deleted
            raise
