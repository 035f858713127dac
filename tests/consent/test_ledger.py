"""The ledger is append-only: no update, no delete, through any interface — except erasure."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import ProtectedError

from calls.models import Call
from consent.models import AppendOnlyLedgerError, ConsentEvent, ConsentState, ledger_erasure
from portal.errors import BusinessRuleError
from tests.factories import ConsentEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(tenant_a):
    return ConsentEventFactory(tenant=tenant_a, number="+49301234567")


def test_an_event_cannot_be_saved_again(event):
    event.method = "verbal"
    with pytest.raises(AppendOnlyLedgerError) as exc:
        event.save()
    assert exc.value.status_code == 409 and exc.value.code == "append_only"
    assert ConsentEvent.objects.get(pk=event.pk).method == "ivr_keypress"


def test_an_event_cannot_be_deleted(event):
    with pytest.raises(AppendOnlyLedgerError):
        event.delete()
    assert ConsentEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize(
    "attempt",
    [
        lambda e: ConsentEvent.objects.filter(pk=e.pk).update(method="verbal"),
        lambda e: ConsentEvent.objects.all().delete(),
        lambda e: ConsentEvent.objects.bulk_update([e], ["method"]),
        lambda e: ConsentEvent.objects.update_or_create(pk=e.pk, defaults={"method": "verbal"}),
    ],
    ids=["update", "delete", "bulk_update", "update_or_create"],
)
def test_bulk_update_and_delete_are_refused(event, attempt):
    with pytest.raises(AppendOnlyLedgerError), transaction.atomic():
        attempt(event)
    assert ConsentEvent.objects.get(pk=event.pk).method == "ivr_keypress"


def test_update_is_refused_even_during_an_erasure(event):
    with ledger_erasure(request_id=1), pytest.raises(AppendOnlyLedgerError):
        ConsentEvent.objects.filter(pk=event.pk).update(method="verbal")


def test_erasure_under_a_request_removes_the_subjects_events_and_state(event, tenant_a):
    other = ConsentEventFactory(tenant=tenant_a, number="+49309999999")
    erased = ConsentEvent.objects.erase_for_request(
        tenant_id=tenant_a.pk, numbers=["+49301234567"], request_id=42
    )
    assert erased == 1
    assert list(ConsentEvent.objects.all()) == [other]
    assert list(ConsentState.objects.values_list("number", flat=True)) == ["+49309999999"]
    with pytest.raises(AppendOnlyLedgerError):  # the escape hatch closes behind it
        other.delete()


def test_erasure_needs_a_request(event):
    with pytest.raises(BusinessRuleError), ledger_erasure(request_id=None):
        event.delete()
    assert ConsentEvent.objects.filter(pk=event.pk).exists()


def test_erasing_or_expiring_the_evidence_call_leaves_the_ledger_untouched(tenant_a):
    from django.utils import timezone

    call = Call.objects.create(
        tenant=tenant_a,
        external_id="c-1",
        direction="inbound",
        caller="+49301234567",
        callee="+49305550000",
        started_at=timezone.now(),
    )
    event = ConsentEventFactory(
        tenant=tenant_a, number="+49301234567", evidence={"call_id": call.pk}
    )
    call_id = call.pk
    call.delete()
    event = ConsentEvent.objects.get(pk=event.pk)
    assert event.evidence_call_id == call_id  # still says which call it happened on


def test_who_recorded_it_stays_provable(tenant_a):
    user = get_user_model().objects.create(username="clerk")
    ConsentEventFactory(tenant=tenant_a, recorded_by=user)
    with pytest.raises(ProtectedError):
        user.delete()
