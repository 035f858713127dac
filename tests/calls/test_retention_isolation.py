"""One tenant's bad data never stops a periodic job for the others (Art. 5(1)(e), Art. 32)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls import services
from calls.models import Call
from calls.tasks import retention_sweep as retention_sweep_task
from tests.factories import CallFactory, RetentionRuleFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_first_then_healthy():
    """Tenant "aaa" (swept first) has a rule of a million days, stored before rules were
    bounded; tenant "zzz" has an ordinary rule and a call past it."""
    broken = TenantFactory(slug="aaa")
    healthy = TenantFactory(slug="zzz")
    RetentionRuleFactory(tenant=broken, category="sales", max_age_days=1_000_000)
    CallFactory(tenant=broken, category="sales")
    RetentionRuleFactory(tenant=healthy, category="sales", max_age_days=30)
    old = CallFactory(
        tenant=healthy, category="sales", started_at=timezone.now() - timedelta(days=40)
    )
    return broken, healthy, old


def test_a_broken_rule_is_reported_and_the_other_tenants_are_swept(broken_first_then_healthy):
    broken, healthy, old = broken_first_then_healthy
    report = services.retention_sweep()
    assert not Call.objects.filter(pk=old.pk).exists()
    assert Call.objects.filter(tenant=broken).count() == 1
    assert report.deleted[("zzz", "sales")] == 1
    [failure] = report.failures.failed
    assert failure["item"] == "aaa / sales" and "OverflowError" in failure["error"]
    assert any("aaa / sales: FAILED" in line for line in report.lines())


def test_the_beat_task_reports_the_failing_tenant_in_its_result(broken_first_then_healthy):
    result = retention_sweep_task.delay().get()
    assert result["deleted"] == 1
    assert result["failed"] == 1 and result["failures"][0]["item"] == "aaa / sales"


def test_broken_data_in_one_tenant_does_not_stop_the_sweep(monkeypatch):
    broken = TenantFactory(slug="aaa")
    healthy = TenantFactory(slug="zzz")
    long_ago = timezone.now() - timedelta(days=40)
    for tenant in (broken, healthy):
        RetentionRuleFactory(tenant=tenant, category="sales", max_age_days=30)
        CallFactory(tenant=tenant, category="sales", started_at=long_ago)
    unexpected = CallFactory(tenant=broken, category="sales", started_at=long_ago)
    from calls.services.retention import rules as retention

    real_delete = retention.calls_delete

    def fails_on_unexpected_row(calls, **kwargs):
        calls = list(calls)
        if any(call.pk == unexpected.pk for call in calls):
            raise RuntimeError("a row the code did not expect")
        return real_delete(calls, **kwargs)

    monkeypatch.setattr(retention, "calls_delete", fails_on_unexpected_row)
    report = services.retention_sweep()
    assert not Call.objects.filter(tenant=healthy).exists()
    # The failing batch was rolled back as a whole, and the report does not count it.
    assert Call.objects.filter(tenant=broken).count() == 2
    assert report.deleted[("aaa", "sales")] == 0 and report.deleted[("zzz", "sales")] == 1
    assert [f["item"] for f in report.failures.failed] == ["aaa / sales"]


def test_one_failing_webhook_delivery_does_not_stop_the_retries(tenant_a, monkeypatch):
    from portal import tasks, webhooks

    monkeypatch.setattr(webhooks, "deliveries_due", lambda: [1, 2, 3])
    attempted = []

    def attempt(*, delivery_id):
        if delivery_id == 1:
            raise RuntimeError("broken delivery")
        attempted.append(delivery_id)

    monkeypatch.setattr(webhooks, "webhook_attempt", attempt)
    assert tasks.webhook_retry_due() == 2
    assert attempted == [2, 3]


def test_one_failing_reminder_does_not_stop_the_others(monkeypatch):
    from dsr.services import reminders
    from tests.factories import DataSubjectRequestFactory

    first, second = DataSubjectRequestFactory(), DataSubjectRequestFactory()
    monkeypatch.setattr(reminders.selectors, "open_requests", lambda: type(first).objects.all())
    sent = []

    def send(pk, at):
        if pk == first.pk:
            raise RuntimeError("broken request")
        sent.append(pk)
        return True

    monkeypatch.setattr(reminders, "_send", send)
    assert reminders.reminders_send(at=timezone.now() + timedelta(days=60)) == 1
    assert sent == [second.pk]
