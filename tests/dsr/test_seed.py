"""Demo requests: every status, one overdue, one extended; seeding twice changes nothing."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from dsr.models import DataSubjectRequest, RequestStatus
from dsr.selectors import overdue_requests

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_requests_in_every_status_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--password", "pw")
    requests = DataSubjectRequest.objects.all()
    assert set(requests.values_list("status", flat=True)) == set(RequestStatus.values)
    assert overdue_requests(at=timezone.now()).count() == 1
    assert requests.filter(extended_due_at__isnull=False).count() == 1
    assert requests.filter(tenant__slug="globex").exists()
    before = sorted(requests.values_list("pk", "status"))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--password", "pw")
    assert sorted(DataSubjectRequest.objects.values_list("pk", "status")) == before
