"""Property: whatever the order of holds, releases, erasure requests, approvals and retention
sweeps, a held call is never deleted, and once the work has run no approved erasure leaves an
item undeleted that nothing keeps."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.models import Call, RetentionRule
from calls.services import call_delete, call_deletion_blockers, retention_sweep
from calls.services.retention.holds import active_holds, call_is_held, hold_apply, hold_release
from dsr import services
from dsr.models import DataSubjectRequest, ErasureItem
from dsr.services.erasure import execution
from dsr.services.erasure.items import frozen_rules
from portal.errors import BusinessRuleError
from tests.factories import CallFactory, DataSubjectRequestFactory

pytestmark = pytest.mark.django_db

NUMBERS = ["+4915100000001", "+4915100000002"]
# Per subject: a recent support call, an old support call (past the 30-day maximum), and an
# old complaint (inside its 5-year minimum).
CALL_SHAPES = [("support", 2), ("support", 60), ("complaint", 60)]

subject = st.integers(0, len(NUMBERS) - 1)
some_call = st.integers(0, len(NUMBERS) * len(CALL_SHAPES) - 1)
actions = st.one_of(
    st.tuples(st.just("hold_call"), some_call),
    st.tuples(st.just("hold_numbers"), subject),
    st.tuples(st.just("hold_period"), some_call),
    st.tuples(st.just("release"), st.integers(0, 10)),
    st.tuples(st.just("erase"), subject),
    st.tuples(st.just("request"), subject),
    st.tuples(st.just("approve"), st.integers(0, 10)),
    st.tuples(st.just("sweep"), st.just(0)),
    st.tuples(st.just("delete"), some_call),
    st.tuples(st.just("beat"), st.just(0)),
)


class World:
    def __init__(self, tenant, verifier, approver):
        self.tenant, self.verifier, self.approver = tenant, verifier, approver
        now = timezone.now()
        self.calls = [
            CallFactory(
                tenant=tenant,
                caller=number,
                category=category,
                started_at=now - timedelta(days=age),
            )
            for number in NUMBERS
            for category, age in CALL_SHAPES
        ]
        self.requests: list[DataSubjectRequest] = []

    def do(self, action: str, arg: int) -> None:
        call = self.calls[arg % len(self.calls)]
        reason = {"reason_category": "litigation", "reason": "Case"}
        if action == "hold_call" and Call.objects.filter(pk=call.pk).exists():
            hold_apply(tenant=self.tenant, calls=[call.pk], **reason)
        elif action == "hold_numbers":
            hold_apply(tenant=self.tenant, numbers=[NUMBERS[arg]], **reason)
        elif action == "hold_period":
            start = call.started_at - timedelta(hours=1)
            hold_apply(
                tenant=self.tenant,
                period_from=start,
                period_to=start + timedelta(hours=2),
                **reason,
            )
        elif action == "release":
            holds = list(active_holds(queryset=self.tenant_holds()).order_by("pk"))
            if holds:
                hold_release(hold=holds[arg % len(holds)], reason="Ended.")
        elif action == "request":
            request = DataSubjectRequestFactory(
                tenant=self.tenant, kind="erasure", numbers=[NUMBERS[arg]]
            )
            services.request_verify(request=request, by=self.verifier, method="callback")
            self.requests.append(request)
        elif action == "erase":  # a request, verified and approved at once
            self.do("request", arg)
            self.approve(self.requests[-1])
        elif action == "approve":
            waiting = [r for r in self.requests if self.status(r) == "in_review"]
            if waiting:
                self.approve(waiting[arg % len(waiting)])
        elif action == "sweep":
            retention_sweep()
        elif action == "delete":
            with contextlib.suppress(BusinessRuleError):  # refused: a hold or a minimum
                call_delete(call=call, reason="API delete", source="api")
        elif action == "beat":
            execution.deferred_sweep()

    def approve(self, request) -> None:
        services.request_approve(request=request, by=self.approver)
        execution.erasure_execute(request_id=request.pk)  # the task, run here

    def tenant_holds(self):
        from calls.models import LegalHold

        return LegalHold.objects.filter(tenant=self.tenant)

    @staticmethod
    def status(request) -> str:
        return DataSubjectRequest.objects.get(pk=request.pk).status


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(actions, min_size=1, max_size=8), release_all=st.booleans())
def test_holds_always_win_and_approved_erasures_always_finish(
    steps, release_all, tenant_a, dpo_user, second_dpo
):
    with transaction.atomic():
        RetentionRule.objects.create(tenant=tenant_a, category="support", max_age_days=30)
        RetentionRule.objects.create(
            tenant=tenant_a,
            category="complaint",
            min_age_days=1825,
            legal_reference="Statute of limitations",
        )
        world = World(tenant_a, dpo_user, second_dpo)
        for action, arg in steps:
            held_before = {c.pk for c in world.calls if _exists(c) and call_is_held(c)}
            world.do(action, arg)
            gone = held_before - set(Call.objects.values_list("pk", flat=True))
            assert not gone, f"{action} deleted held call(s) {gone}"

        if release_all:  # every hold ends: what they deferred must go now
            for hold in active_holds(queryset=world.tenant_holds()):
                hold_release(hold=hold, reason="All cases closed.")
        # The work has run: the beat catches whatever a release left to do.
        execution.deferred_sweep()
        for request in world.requests:
            request.refresh_from_db()
            if request.approved_at is None:
                continue
            rules = frozen_rules(request)
            for call in Call.objects.filter(
                caller__in=request.numbers or [request_number(request)]
            ):
                assert call_deletion_blockers(call, rules=rules), (
                    f"call {call.pk} of approved request #{request.pk} is kept by nothing"
                )
            deferred = ErasureItem.objects.filter(request=request, status="deferred")
            expected = "partially_completed" if deferred.exists() else "completed"
            assert request.status == expected, (request.pk, request.status)
        transaction.set_rollback(True)


def _exists(call) -> bool:
    return Call.objects.filter(pk=call.pk).exists()


def request_number(request) -> str:
    """A closed request keeps no number: find it again through the request's tombstone."""
    from portal.redaction import number_fingerprint

    fingerprints = set(request.tombstones.values_list("fingerprint", flat=True))
    return next(n for n in NUMBERS if number_fingerprint(n) in fingerprints)
