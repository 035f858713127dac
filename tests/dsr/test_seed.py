"""Demo requests: every status, one overdue, one extended, a legal hold and the erasures it
shapes; seeding twice changes nothing."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from calls.models import Call, LegalHold
from calls.services.retention.holds import call_is_held
from dsr.models import DataSubjectRequest, RequestStatus
from dsr.seed import ACME_ERASED, ACME_HELD
from dsr.selectors import overdue_requests

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_requests_in_every_status_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--password", "pw")
    requests = DataSubjectRequest.objects.all()
    # "approved" lasts only until the work it starts has begun (a package, an erasure).
    assert set(requests.values_list("status", flat=True)) == set(RequestStatus.values) - {
        RequestStatus.APPROVED
    }
    [hold] = LegalHold.objects.filter(tenant__slug="acme")
    assert hold.reason_category == "statute_of_limitations" and hold.is_active()
    [held] = Call.objects.filter(tenant__slug="acme", caller=ACME_HELD)
    assert call_is_held(held) and held.category == "complaint"
    assert not Call.objects.filter(caller=ACME_ERASED).exists()
    erasures = requests.filter(kind="erasure", status__in=["completed", "partially_completed"])
    partial = erasures.get(status="partially_completed")
    assert partial.erasure_items.get(status="deferred").object_id == held.pk
    assert "legal hold" in partial.outcome and partial.erasure_certificates.exists()
    assert erasures.get(status="completed").erasure_certificates.exists()
    assert overdue_requests(at=timezone.now()).count() == 1
    assert requests.filter(extended_due_at__isnull=False).count() == 1
    assert requests.filter(tenant__slug="globex").exists()
    before = sorted(requests.values_list("pk", "status"))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--password", "pw")
    assert sorted(DataSubjectRequest.objects.values_list("pk", "status")) == before
