"""Retention rules (API) and the sweep: past the maximum goes, under the minimum stays."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from calls import services
from calls.models import Call, RetentionRule
from calls.tasks import retention_sweep as retention_sweep_task
from tests.factories import CallFactory, RetentionRuleFactory

pytestmark = pytest.mark.django_db


# --- rules through the API -----------------------------------------------------------------


def test_rules_are_created_listed_changed_and_deleted(api_a):
    created = api_a.post(
        "/api/v1/retention-rules/",
        {
            "category": "complaint",
            "max_age_days": 2190,
            "min_age_days": 1825,
            "legal_ground": "art_17_3_e",
            "legal_reference": "§ 195 BGB",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    assert [r["category"] for r in api_a.get("/api/v1/retention-rules/").json()["results"]] == [
        "complaint"
    ]
    changed = api_a.patch(
        f"/api/v1/retention-rules/{rule_id}/", {"max_age_days": 2555}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["max_age_days"] == 2555
    assert api_a.delete(f"/api/v1/retention-rules/{rule_id}/").status_code == 204
    assert not RetentionRule.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        (
            {
                "category": "sales",
                "max_age_days": 30,
                "min_age_days": 60,
                "legal_ground": "art_17_3_b",
                "legal_reference": "x",
            },
            "min_age_days",
        ),
        (
            {"category": "sales", "min_age_days": 60, "legal_ground": "art_17_3_b"},
            "legal_reference",
        ),
        ({"category": "sales", "min_age_days": 60, "legal_reference": "HGB § 257"}, "legal_ground"),
        ({"category": "sales", "min_age_days": 60, "legal_ground": "art_99"}, "legal_ground"),
        ({"category": "Sales Calls", "max_age_days": 30}, "category"),
        ({"category": "sales", "max_age_days": -1}, "max_age_days"),
        ({"category": "sales", "max_age_days": 0}, "max_age_days"),
    ],
)
def test_bad_rules_name_the_field(api_a, body, field):
    response = api_a.post("/api/v1/retention-rules/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not RetentionRule.objects.exists()


def test_one_rule_per_category(api_a, tenant_a, tenant_b):
    RetentionRuleFactory(tenant=tenant_b, category="sales")  # other tenants do not count
    assert (
        api_a.post(
            "/api/v1/retention-rules/", {"category": "sales", "max_age_days": 90}, format="json"
        ).status_code
        == 201
    )
    again = api_a.post(
        "/api/v1/retention-rules/", {"category": "sales", "max_age_days": 30}, format="json"
    )
    assert again.status_code == 409 and "category" in again.json()["error"]["fields"]


def test_only_tenant_admins_change_rules(client, viewer_a, member_factory, tenant_a):
    client.force_login(member_factory(tenant_a, "agent"))
    response = client.post(
        "/api/v1/retention-rules/",
        {"category": "sales", "max_age_days": 90},
        content_type="application/json",
    )
    assert response.status_code == 403
    client.force_login(viewer_a)
    assert client.get("/api/v1/retention-rules/").status_code == 200


# --- the sweep -----------------------------------------------------------------------------


def _aged(tenant, category, days, **kwargs):
    return CallFactory(
        tenant=tenant, category=category, started_at=timezone.now() - timedelta(days=days), **kwargs
    )


@pytest.fixture
def rules(tenant_a, tenant_b):
    RetentionRuleFactory(tenant=tenant_a, category="sales", max_age_days=90)
    RetentionRuleFactory(tenant=tenant_a, category="support", max_age_days=365)
    RetentionRuleFactory(
        tenant=tenant_a,
        category="complaint",
        min_age_days=1825,
        max_age_days=2190,
        legal_reference="§ 195 BGB",
    )
    RetentionRuleFactory(tenant=tenant_b, category="sales", max_age_days=30)


def test_the_sweep_deletes_exactly_the_calls_past_their_maximum(tenant_a, tenant_b, rules):
    doomed = {
        _aged(tenant_a, "sales", 91).pk,
        _aged(tenant_a, "support", 400).pk,
        _aged(tenant_a, "complaint", 2200).pk,
        _aged(tenant_b, "sales", 31).pk,
        # No rule: the tenant's default maximum (365 days) applies.
        _aged(tenant_b, "support", 4000).pk,
        _aged(tenant_a, "", 4000).pk,
    }
    kept = {
        _aged(tenant_a, "sales", 89).pk,
        _aged(tenant_a, "support", 300).pk,
        _aged(tenant_a, "complaint", 1900).pk,  # past the minimum, under the maximum
        _aged(tenant_a, "complaint", 100).pk,
        _aged(tenant_b, "support", 300).pk,  # no rule, under the default maximum
        _aged(tenant_a, "", 364).pk,  # no category, no rule, under the default maximum
        _aged(tenant_b, "sales", 29).pk,
    }
    report = services.retention_sweep(batch_size=2)
    assert set(Call.objects.values_list("pk", flat=True)) == kept
    assert report.deleted_total == len(doomed)
    assert report.deleted[("tenant-a", "sales")] == 1 and report.deleted[("tenant-b", "sales")] == 1
    assert report.deleted[("tenant-b", "support")] == 1 and report.deleted[("tenant-a", "")] == 1
    assert ("tenant-b", "support", 1) in report.without_rule
    assert ("tenant-a", "", 1) in report.without_rule
    second = services.retention_sweep()
    assert second.deleted_total == 0
    assert set(Call.objects.values_list("pk", flat=True)) == kept


def test_the_sweep_never_deletes_a_call_under_its_minimum(tenant_a):
    # A rule whose minimum was raised above its maximum (stored before validation existed,
    # or written directly): the guard keeps the call all the same.
    rule = RetentionRuleFactory(tenant=tenant_a, category="sales", max_age_days=90)
    RetentionRule.objects.filter(pk=rule.pk).update(min_age_days=365, legal_reference="audit")
    young = _aged(tenant_a, "sales", 100)
    report = services.retention_sweep()
    assert Call.objects.filter(pk=young.pk).exists()
    assert report.deleted_total == 0
    assert report.kept[("tenant-a", "sales", "min_retention")] == 1
    assert "min_retention" in "\n".join(report.lines())


def test_a_dry_run_deletes_nothing_and_counts_what_it_would(tenant_a, rules):
    _aged(tenant_a, "sales", 91)
    report = services.retention_sweep(dry_run=True)
    assert report.deleted_total == 1 and Call.objects.count() == 1
    assert "would delete 1" in "\n".join(report.lines())


def test_the_command_prints_counts_and_calls_kept_without_rule(tenant_a, rules):
    _aged(tenant_a, "sales", 91)
    _aged(tenant_a, "sales", 92)
    _aged(tenant_a, "unknown-category", 10)
    out = StringIO()
    call_command("retention_sweep", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "dry run" in text and "tenant-a / sales: would delete 2" in text
    assert "tenant-a / unknown-category: 1 call(s) without a retention rule" in text
    assert "default maximum age applies" in text
    assert Call.objects.count() == 3
    out = StringIO()
    call_command("retention_sweep", stdout=out)
    assert "tenant-a / sales: deleted 2" in out.getvalue()
    assert Call.objects.count() == 1
    history = Call.history.filter(history_type="-").first()
    assert history.history_actor == "command:retention_sweep"
    assert history.history_change_reason.startswith("retention: older than the maximum")


def test_the_sweep_runs_daily_as_a_celery_task(tenant_a, rules):
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "calls.tasks.retention_sweep" in schedule
    _aged(tenant_a, "support", 366)
    result = retention_sweep_task.delay().get()
    assert result["deleted"] == 1 and not Call.objects.exists()
    assert Call.history.filter(history_type="-").first().history_actor == (
        "task:calls.tasks.retention_sweep"
    )


def test_the_default_maximum_age_is_the_tenants_setting(tenant_a, tenant_b):
    """Storage limitation by default (Art. 5(1)(e)): a category without a rule is deleted after
    the tenant's ``default_max_age_days``; a rule without a maximum gets it too."""
    tenant_a.default_max_age_days = 30
    tenant_a.save()
    RetentionRuleFactory(tenant=tenant_a, category="complaint", max_age_days=None)
    old = {_aged(tenant_a, "support", 31).pk, _aged(tenant_a, "complaint", 31).pk}
    young = {_aged(tenant_a, "support", 29).pk, _aged(tenant_b, "support", 31).pk}
    report = services.retention_sweep()
    assert set(Call.objects.values_list("pk", flat=True)) == young
    assert report.deleted[("tenant-a", "support")] == 1
    call = Call.history.filter(id__in=old, history_type="-").first()
    assert "default maximum of 30 days" in call.history_change_reason


def test_tenant_admins_read_and_change_the_default_maximum(api_a, tenant_a):
    assert api_a.get("/api/v1/tenant/").json()["default_max_age_days"] == 365
    changed = api_a.patch("/api/v1/tenant/", {"default_max_age_days": 730}, format="json")
    assert changed.status_code == 200 and changed.json()["default_max_age_days"] == 730
    tenant_a.refresh_from_db()
    assert tenant_a.default_max_age_days == 730
    for bad in (0, -1, 36501, "a year", None):
        response = api_a.patch("/api/v1/tenant/", {"default_max_age_days": bad}, format="json")
        assert response.status_code == 400, bad
        assert "default_max_age_days" in str(response.json()), response.json()
    tenant_a.refresh_from_db()
    assert tenant_a.default_max_age_days == 730
