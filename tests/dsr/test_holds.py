"""Legal holds: what a hold keeps (three scopes, in force or not), and that every deletion path
refuses a held call — the API, the admin's delete page and bulk action, the dashboard's delete
page, the retention sweep and an erasure request."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from calls.models import Call, RetentionRule
from calls.services import call_deletion_blockers, retention_sweep
from calls.services.retention.holds import (
    call_is_held,
    hold_apply,
    hold_release,
    holds_for_call,
    holds_index,
)
from dsr import services
from dsr.models import ErasureItem
from portal.errors import BusinessRuleError
from tests.factories import (
    CallFactory,
    DataSubjectRequestFactory,
    LegalHoldFactory,
    RecordingFactory,
)

pytestmark = pytest.mark.django_db
SUBJECT = "+4915112345678"


@pytest.fixture
def calls(tenant_a, tenant_b):
    now = timezone.now()
    return {
        "subject_in": CallFactory(
            tenant=tenant_a, caller=SUBJECT, started_at=now - timedelta(days=3)
        ),
        "subject_out": CallFactory(
            tenant=tenant_a,
            direction="outbound",
            caller="+4930901820",
            callee=SUBJECT,
            started_at=now - timedelta(days=40),
        ),
        "other": CallFactory(tenant=tenant_a, started_at=now - timedelta(days=400)),
        "foreign": CallFactory(tenant=tenant_b, caller=SUBJECT, started_at=now - timedelta(days=3)),
    }


def held(calls) -> set[str]:
    return {name for name, call in calls.items() if call_is_held(call)}


def test_a_hold_on_calls_keeps_exactly_those_calls(tenant_a, calls):
    LegalHoldFactory(tenant=tenant_a, calls=[calls["subject_out"].pk])
    assert held(calls) == {"subject_out"}


def test_a_hold_on_numbers_keeps_every_call_of_them_including_later_ones(tenant_a, calls):
    LegalHoldFactory(tenant=tenant_a, numbers=["0151 12345678"])  # national form, read in DE
    assert held(calls) == {"subject_in", "subject_out"}  # not tenant B's call of the number
    later = CallFactory(tenant=tenant_a, caller=SUBJECT)
    assert call_is_held(later)


def test_a_hold_on_a_period_keeps_the_tenants_calls_that_started_in_it(tenant_a, calls):
    now = timezone.now()
    LegalHoldFactory(
        tenant=tenant_a, period_from=now - timedelta(days=50), period_to=now - timedelta(days=10)
    )
    assert held(calls) == {"subject_out"}
    LegalHoldFactory(tenant=tenant_a, period_from=now - timedelta(days=5))  # open-ended
    assert held(calls) == {"subject_out", "subject_in"}


def test_released_and_expired_holds_no_longer_hold(tenant_a, calls, admin_a):
    call = calls["subject_in"]
    released = LegalHoldFactory(tenant=tenant_a, calls=[call.pk])
    hold_release(hold=released, reason="Case settled.", by=admin_a)
    assert not call_is_held(call)
    expiring = LegalHoldFactory(
        tenant=tenant_a, calls=[call.pk], expires_at=timezone.now() + timedelta(days=2)
    )
    assert holds_for_call(call) == [expiring]
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        assert not call_is_held(call)
        assert expiring.state() == "expired"
    # A deletion judged for another moment (a sweep's start) still sees a hold in force now.
    assert holds_for_call(call, at=timezone.now() + timedelta(days=3)) == [expiring]


def test_the_index_answers_like_the_query(tenant_a, tenant_b, calls):
    now = timezone.now()
    LegalHoldFactory(tenant=tenant_a, calls=[calls["other"].pk])
    LegalHoldFactory(tenant=tenant_b, numbers=[SUBJECT])
    LegalHoldFactory(
        tenant=tenant_a, period_from=now - timedelta(days=41), period_to=now - timedelta(days=39)
    )
    index = holds_index()
    for call in calls.values():
        assert index.for_call(call) == holds_for_call(call), call


def test_the_hold_is_a_blocker_with_its_reason_and_ground(tenant_a, calls):
    hold = LegalHoldFactory(
        tenant=tenant_a,
        reason_category="regulator",
        reason="Order of the supervisory authority, file 4711.",
        calls=[calls["other"].pk],
        expires_at=timezone.now() + timedelta(days=30),
    )
    [blocker] = call_deletion_blockers(calls["other"])
    assert blocker.code == "legal_hold" and blocker.ground == "art_17_3_b"
    assert "file 4711" in blocker.reason and "Art. 17(3)(b)" in blocker.reason
    assert blocker.until == hold.expires_at


NOW = timezone.now()
BASE = {"reason_category": "litigation", "reason": "Case 1"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (BASE, "calls"),  # no scope at all
        ({**BASE, "calls": [1], "numbers": [SUBJECT]}, "numbers"),  # two scopes
        ({**BASE, "numbers": ["not a number"]}, "numbers.0"),
        ({**BASE, "reason_category": "other", "numbers": [SUBJECT]}, "legal_ground"),
        ({**BASE, "reason_category": "vacation", "numbers": [SUBJECT]}, "reason_category"),
        ({**BASE, "reason": "  ", "numbers": [SUBJECT]}, "reason"),
        ({**BASE, "numbers": [SUBJECT], "expires_at": NOW - timedelta(days=1)}, "expires_at"),
        ({**BASE, "period_from": NOW, "period_to": NOW - timedelta(days=1)}, "to"),
    ],
)
def test_a_bad_hold_is_refused_naming_the_field(tenant_a, kwargs, field):
    with pytest.raises(BusinessRuleError) as caught:
        hold_apply(tenant=tenant_a, **kwargs)
    assert field in caught.value.fields


def test_another_tenants_call_cannot_be_held(tenant_a, calls):
    with pytest.raises(BusinessRuleError) as caught:
        hold_apply(
            tenant=tenant_a, reason_category="litigation", reason="x", calls=[calls["foreign"].pk]
        )
    assert caught.value.fields == {"calls": [caught.value.message]}
    assert str(calls["foreign"].pk) in caught.value.message


def test_release_needs_a_reason_and_happens_once(tenant_a, calls):
    hold = LegalHoldFactory(tenant=tenant_a, calls=[calls["other"].pk])
    with pytest.raises(BusinessRuleError) as caught:
        hold_release(hold=hold, reason=" ")
    assert caught.value.field == "reason"
    hold_release(hold=hold, reason="The claim is time-barred.")
    hold.refresh_from_db()
    assert hold.release_reason == "The claim is time-barred." and hold.state() == "released"
    assert list(hold.history.values_list("history_change_reason", flat=True))[:2] == [
        "hold released",
        "hold applied",
    ]
    with pytest.raises(BusinessRuleError) as caught:
        hold_release(hold=hold, reason="again")
    assert caught.value.code == "already_released"


# --- every deletion path refuses a held call ----------------------------------------------------


@pytest.fixture
def held_call(tenant_a):
    call = RecordingFactory(tenant=tenant_a).call
    LegalHoldFactory(tenant=tenant_a, calls=[call.pk], reason="Litigation 12 O 345/25.")
    return call


def test_the_api_refuses_to_delete_a_held_call(api_a, held_call):
    response = api_a.delete(f"/api/v1/calls/{held_call.pk}/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "deletion_blocked"
    assert "12 O 345/25" in response.json()["error"]["message"]
    assert Call.objects.filter(pk=held_call.pk).exists()


def test_the_admin_delete_page_refuses_a_held_call(client, dpo_user, held_call):
    client.force_login(dpo_user)
    url = f"/admin/calls/call/{held_call.pk}/delete/"
    page = client.get(url)
    assert "must be kept" in page.content.decode() and "12 O 345/25" in page.content.decode()
    response = client.post(url, {"reason": "Ticket 77"}, follow=True)
    assert "cannot be deleted" in response.content.decode()
    assert Call.objects.filter(pk=held_call.pk).exists()


def test_the_admin_bulk_action_skips_a_held_call(client, dpo_user, held_call, tenant_a):
    free = CallFactory(tenant=tenant_a)
    client.force_login(dpo_user)
    response = client.post(
        "/admin/calls/call/",
        {
            "action": "delete_calls",
            "_selected_action": [held_call.pk, free.pk],
            "confirm": "yes",
            "reason": "Ticket 78",
        },
        follow=True,
    )
    assert "Deleted 1 call(s)" in response.content.decode()
    assert Call.objects.filter(pk=held_call.pk).exists()
    assert not Call.objects.filter(pk=free.pk).exists()


def test_the_dashboard_delete_page_refuses_a_held_call(client, admin_a, held_call):
    client.force_login(admin_a)
    page = client.get(f"/dashboard/calls/{held_call.pk}/").content.decode()
    assert "Kept under legal hold" in page and "12 O 345/25" in page
    url = f"/dashboard/calls/{held_call.pk}/delete/"
    response = client.post(url, {"reason": "Customer asked"}, follow=True)
    assert "cannot be deleted" in response.content.decode()
    assert "12 O 345/25" in response.content.decode()
    assert Call.objects.filter(pk=held_call.pk).exists()


def test_the_retention_sweep_keeps_a_held_call(tenant_a):
    RetentionRule.objects.create(tenant=tenant_a, category="support", max_age_days=30)
    old = timezone.now() - timedelta(days=90)
    kept = CallFactory(tenant=tenant_a, started_at=old)
    gone = CallFactory(tenant=tenant_a, started_at=old)
    LegalHoldFactory(tenant=tenant_a, calls=[kept.pk])
    report = retention_sweep()
    assert report.deleted_total == 1 and report.kept[("tenant-a", "support", "legal_hold")] == 1
    assert Call.objects.filter(pk=kept.pk).exists() and not Call.objects.filter(pk=gone.pk).exists()


def test_a_hold_placed_while_the_sweep_runs_still_counts(tenant_a, monkeypatch):
    """The sweep judges calls at its start; the deletion itself asks again, under the lock."""
    from calls.services.retention import rules as retention_module

    RetentionRule.objects.create(tenant=tenant_a, category="support", max_age_days=30)
    call = CallFactory(tenant=tenant_a, started_at=timezone.now() - timedelta(days=90))
    real_delete = retention_module.calls_delete

    def hold_first(calls, **kwargs):
        LegalHoldFactory(tenant=tenant_a, calls=[call.pk for call in calls])
        return real_delete(calls, **kwargs)

    monkeypatch.setattr(retention_module, "calls_delete", hold_first)
    report = retention_sweep()
    assert report.deleted_total == 0
    assert Call.objects.filter(pk=call.pk).exists()


def test_an_erasure_request_defers_a_held_call(
    tenant_a, held_call, dpo_user, second_dpo, django_capture_on_commit_callbacks
):
    request = DataSubjectRequestFactory(tenant=tenant_a, kind="erasure", numbers=[held_call.caller])
    services.request_verify(request=request, by=dpo_user, method="callback")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_approve(request=request, by=second_dpo)
    request.refresh_from_db()
    assert request.status == "partially_completed"
    item = request.erasure_items.get(kind="call")
    assert (item.object_id, item.status, item.blocker) == (held_call.pk, "deferred", "legal_hold")
    assert item.legal_ground == "art_17_3_e" and "12 O 345/25" in item.reason
    assert Call.objects.filter(pk=held_call.pk).exists()
    assert ErasureItem.objects.filter(
        request=request, status="erased"
    ).exists()  # the number's data
