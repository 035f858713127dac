"""Deadline reminders: 7 and 2 days before to the assignee, overdue to the DPOs, once each."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from dsr import services
from dsr.tasks import reminders_send
from tests.factories import DataSubjectRequestFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(dpo_user, support_user):
    dpo_user.email = "dpo@platform.example"
    dpo_user.save()
    support_user.email = "support@platform.example"
    support_user.save()
    return dpo_user, support_user


def run_at(moment, capture) -> list:
    mail.outbox.clear()
    with time_machine.travel(moment, tick=False), capture(execute=True):
        reminders_send()
    return [(m.to, m.subject) for m in mail.outbox]


def test_reminders_go_out_once_each_before_and_after_the_deadline(
    tenant_a, staff, django_capture_on_commit_callbacks
):
    dpo, support = staff
    request = DataSubjectRequestFactory(tenant=tenant_a)
    services.request_assign(request=request, assignee=support, by=dpo)
    request.refresh_from_db()
    due = request.effective_due_at
    capture = django_capture_on_commit_callbacks

    assert run_at(due - timedelta(days=10), capture) == []
    [(to, subject)] = run_at(due - timedelta(days=6), capture)
    assert to == ["support@platform.example"] and "Due within 7 days" in subject
    assert run_at(due - timedelta(days=5), capture) == []  # once
    [(to, subject)] = run_at(due - timedelta(days=1), capture)
    assert to == ["support@platform.example"] and "Due within 2 days" in subject
    assert run_at(due - timedelta(hours=3), capture) == []
    [(to, subject)] = run_at(due + timedelta(minutes=5), capture)
    assert to == ["dpo@platform.example"] and "Overdue" in subject and f"#{request.pk}" in subject
    assert run_at(due + timedelta(days=3), capture) == []
    request.refresh_from_db()
    assert len(request.reminders_sent) == 3
    assert request.events.filter(action="reminder_sent").count() == 3


def test_unassigned_requests_remind_the_dpos_and_closed_ones_nobody(
    tenant_a, staff, django_capture_on_commit_callbacks
):
    dpo, _ = staff
    open_one = DataSubjectRequestFactory(tenant=tenant_a)
    closed = DataSubjectRequestFactory(tenant=tenant_a, kind="objection")
    services.request_verify(request=closed, by=dpo, method="callback")
    services.request_approve(request=closed, by=dpo)
    sent = run_at(open_one.effective_due_at - timedelta(days=1), django_capture_on_commit_callbacks)
    assert sent == [(["dpo@platform.example"], f"[Request #{open_one.pk}] Due within 2 days")]


def test_an_extension_starts_a_new_series(tenant_a, staff, django_capture_on_commit_callbacks):
    dpo, support = staff
    request = DataSubjectRequestFactory(tenant=tenant_a)
    services.request_assign(request=request, assignee=support, by=dpo)
    request.refresh_from_db()
    first_due = request.effective_due_at
    assert len(run_at(first_due - timedelta(days=1), django_capture_on_commit_callbacks)) == 1
    with time_machine.travel(first_due - timedelta(hours=20), tick=False):
        services.request_extend(request=request, by=dpo, months=3, reason="Complex request.")
    request.refresh_from_db()
    assert run_at(first_due + timedelta(hours=1), django_capture_on_commit_callbacks) == []
    later = request.effective_due_at - timedelta(days=5)
    [(to, subject)] = run_at(later, django_capture_on_commit_callbacks)
    assert "Due within 7 days" in subject and timezone.is_aware(later)
