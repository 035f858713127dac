from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from breaches import services
from breaches.models import (
    BreachAffectedCall,
    BreachCallScope,
    BreachIncident,
    BreachNotification,
    BreachTenantImpact,
)
from breaches.selectors import incident_clock, tenant_unacknowledged_count
from breaches.tasks import breach_notice_email_send, breach_notices_sweep
from portal.audit import acting_as_system
from portal.errors import BusinessRuleError, NotPermitted
from tests.breaches.conftest import make_call, open_incident
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db


def impacts_of(incident):
    return {
        i.tenant.slug: (i.calls, i.recordings, i.transcripts, i.subjects)
        for i in BreachTenantImpact.objects.filter(incident=incident).select_related("tenant")
    }


# --- opening and editing ---


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"description": "  "}, "description"),
        ({"title": ""}, "title"),
        ({"data_categories": ["recordings", "voices"]}, "data_categories"),
        ({"became_aware_at": timezone.now() + timedelta(days=1)}, "became_aware_at"),
        (
            {
                "occurred_from": timezone.now() - timedelta(hours=1),
                "occurred_to": timezone.now() - timedelta(hours=5),
            },
            "occurred_to",
        ),
        (
            {
                "detected_at": timezone.now() - timedelta(hours=1),
                "became_aware_at": timezone.now() - timedelta(hours=2),
            },
            "became_aware_at",
        ),
    ],
)
def test_opening_refuses_bad_input_naming_the_field(overrides, field):
    with pytest.raises(BusinessRuleError) as refused:
        open_incident(**overrides)
    assert refused.value.field == field
    assert not BreachIncident.objects.exists()


def test_opening_defaults_detection_and_dpo_contact(dpo_user):
    dpo_user.first_name, dpo_user.last_name, dpo_user.email = "Dana", "DPO", "dpo@p.example"
    dpo_user.save()
    now = timezone.now()
    incident = services.incident_open(
        title="Lost laptop",
        description="A laptop was stolen.",
        became_aware_at=now,
        data_categories=["account_data", "recordings", "account_data"],
        opened_by=dpo_user,
    )
    assert incident.detected_at == now
    assert incident.dpo_contact == "Dana DPO <dpo@p.example>"
    assert incident.data_categories == ["recordings", "account_data"]
    assert incident.status == "open" and incident.reference == f"BR-{incident.pk:05d}"
    assert incident.history.count() == 1


def test_edits_are_kept_in_history(incident):
    services.incident_update(incident=incident, measures_taken="Keys rotated; logs reviewed.")
    incident.refresh_from_db()
    assert incident.measures_taken == "Keys rotated; logs reviewed."
    assert incident.history.count() == 2
    with pytest.raises(BusinessRuleError):
        services.incident_update(incident=incident, risk_level="high")


# --- linking calls and counting ---


def test_link_by_ids_counts_per_tenant(two_tenant_incident):
    assert impacts_of(two_tenant_incident) == {
        "tenant-a": (3, 2, 2, 2),
        "tenant-b": (1, 1, 1, 1),
    }
    ids = list(BreachAffectedCall.objects.values_list("call_id", flat=True))
    assert services.incident_link_calls(incident=two_tenant_incident, call_ids=ids) == 0
    assert impacts_of(two_tenant_incident)["tenant-a"] == (3, 2, 2, 2)


def test_links_are_written_with_history_naming_the_actor(incident, tenant_a):
    call = make_call(tenant_a)
    with acting_as_system("command:test"):
        services.incident_link_calls(incident=incident, call_ids=[call.pk])
    [record] = BreachAffectedCall.history.all()
    assert record.call_id == call.pk and record.history_actor == "command:test"
    assert record.history_user.username == "system"


def test_the_subject_of_an_outbound_call_is_the_callee(incident, tenant_a):
    calls = [
        make_call(tenant_a, direction="outbound", caller="+4930123456", callee="+4915100000009"),
        make_call(tenant_a, direction="inbound", caller="+4915100000009"),
        make_call(tenant_a, direction="inbound", caller="+4915100000008"),
    ]
    services.incident_link_calls(incident=incident, call_ids=[c.pk for c in calls])
    assert impacts_of(incident)["tenant-a"][3] == 2  # the tenant's own line is not a subject


def test_unknown_call_ids_are_named(incident, tenant_a):
    call = make_call(tenant_a)
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_link_calls(incident=incident, call_ids=[call.pk, 999999])
    assert refused.value.field == "call_ids" and "999999" in refused.value.message
    assert not BreachAffectedCall.objects.exists()


def test_link_by_tenant_and_window(incident, tenant_a, tenant_b):
    start = timezone.now() - timedelta(days=2)
    inside = [make_call(tenant_a, started_at=start + timedelta(hours=h)) for h in (0, 5, 23)]
    make_call(tenant_a, started_at=start + timedelta(hours=24))  # window end is exclusive
    make_call(tenant_a, started_at=start - timedelta(seconds=1))
    make_call(tenant_b, started_at=start + timedelta(hours=1))  # another tenant's call
    linked = services.incident_link_calls(
        incident=incident,
        tenant=tenant_a,
        started_from=start,
        started_to=start + timedelta(hours=24),
    )
    assert linked == 3
    assert set(incident.affected_calls.values_list("pk", flat=True)) == {c.pk for c in inside}
    [scope] = BreachCallScope.objects.all()
    assert scope.tenant == tenant_a and scope.calls_linked == 3
    assert set(impacts_of(incident)) == {"tenant-a"}


def test_link_needs_ids_or_a_whole_scope(incident, tenant_a):
    with pytest.raises(BusinessRuleError):
        services.incident_link_calls(incident=incident)
    with pytest.raises(BusinessRuleError):
        services.incident_link_calls(incident=incident, tenant=tenant_a)
    now = timezone.now()
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_link_calls(
            incident=incident, tenant=tenant_a, started_from=now, started_to=now
        )
    assert refused.value.field == "started_to"


def test_an_erased_call_leaves_the_counts_of_the_register(two_tenant_incident, tenant_b):
    from calls.models import Call

    Call.objects.filter(tenant=tenant_b).delete()  # e.g. erasure under a request
    services.impacts_recompute(incident=two_tenant_incident)
    assert impacts_of(two_tenant_incident)["tenant-b"] == (1, 1, 1, 1)


# --- assessment and notices ---


def test_lower_ratings_wait_for_the_dpo_but_every_tenant_is_told(
    two_tenant_incident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_assess(
            incident=two_tenant_incident, risk_level="unlikely", reasoning="Encrypted at rest."
        )
    assert not BreachNotification.objects.exists()
    assert two_tenant_incident.history.first().status == "assessing"
    # The DPO sends: our low rating does not withhold the notice from the controllers.
    with django_capture_on_commit_callbacks(execute=True):
        notices = services.incident_notify_tenants(incident=two_tenant_incident)
    assert {n.tenant.slug for n in notices} == {"tenant-a", "tenant-b"}
    assert "Risk level: Unlikely to result in a risk" in notices[0].content
    assert len(mail.outbox) == 2
    assert services.incident_notify_tenants(incident=two_tenant_incident) == []


def test_a_notice_before_assessment_says_the_assessment_follows(two_tenant_incident):
    [notice, _] = services.incident_notify_tenants(incident=two_tenant_incident)
    assert "Not yet assessed: our assessment follows in a later notice." in notice.content


def test_notices_need_categories_and_a_dpo_contact(two_tenant_incident):
    services.incident_update(incident=two_tenant_incident, dpo_contact="")
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_notify_tenants(incident=two_tenant_incident)
    assert refused.value.field == "dpo_contact"
    services.incident_update(incident=two_tenant_incident, dpo_contact="dpo@x", data_categories=[])
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_notify_tenants(incident=two_tenant_incident)
    assert refused.value.field == "data_categories"


def test_an_incident_without_tenant_data_cannot_notify_tenants(incident):
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_notify_tenants(incident=incident)
    assert refused.value.code == "no_affected_tenants"


def test_rating_high_after_72_hours_needs_the_reasons_for_the_delay(
    tenant_a, django_capture_on_commit_callbacks
):
    aware = timezone.now() - timedelta(hours=80)
    incident = open_incident(
        became_aware_at=aware,
        detected_at=aware,
        occurred_from=aware - timedelta(hours=10),
        occurred_to=aware - timedelta(hours=5),
    )
    services.incident_link_calls(incident=incident, call_ids=[make_call(tenant_a).pk])
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_assess(incident=incident, risk_level="high", reasoning="Voices leaked.")
    assert refused.value.code == "delay_reason_required" and refused.value.status_code == 400
    incident.refresh_from_db()
    assert incident.risk_level == ""  # nothing half-done
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_assess(
            incident=incident,
            risk_level="high",
            reasoning="Voices leaked.",
            delay_reason="The leak was only understood after the forensic report.",
        )
    [notice] = BreachNotification.objects.all()
    assert notice.delay_reason == "The leak was only understood after the forensic report."


def test_a_tenant_linked_later_to_a_high_risk_incident_is_told_at_once(
    two_tenant_incident, member_factory, django_capture_on_commit_callbacks
):
    from tests.factories import TenantFactory

    with django_capture_on_commit_callbacks(execute=True):
        services.incident_assess(
            incident=two_tenant_incident, risk_level="high", reasoning="Voices leaked."
        )
    tenant_c = TenantFactory(slug="tenant-c", name="Tenant C")
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_link_calls(
            incident=two_tenant_incident, call_ids=[make_call(tenant_c).pk]
        )
    told = BreachNotification.objects.filter(recipient="tenant", phase="initial")
    assert told.count() == 3 and told.filter(tenant=tenant_c).exists()


def test_phases_go_to_the_tenants_told(two_tenant_incident, tenant_a):
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_add_phase(
            incident=two_tenant_incident, phase="follow_up", update="More known."
        )
    assert refused.value.code == "tenants_not_notified"
    services.incident_notify_tenants(incident=two_tenant_incident)
    services.incident_update(incident=two_tenant_incident, measures_proposed="Quarterly audits.")
    follow_ups = services.incident_add_phase(
        incident=two_tenant_incident, phase="follow_up", update="No download took place."
    )
    assert len(follow_ups) == 2
    a_follow_up = next(n for n in follow_ups if n.tenant == tenant_a)
    assert "FOLLOW-UP NOTICE" in a_follow_up.content
    assert "WHAT IS NEW IN THIS NOTICE\nNo download took place." in a_follow_up.content
    assert "Quarterly audits." in a_follow_up.content
    assert a_follow_up.subject.startswith("[Breach notice — follow-up]")
    finals = services.incident_add_phase(
        incident=two_tenant_incident, phase="final", update="Investigation closed."
    )
    assert {n.phase for n in finals} == {"final"}
    with pytest.raises(BusinessRuleError):
        services.incident_add_phase(incident=two_tenant_incident, phase="final", update="Again.")
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_add_phase(incident=two_tenant_incident, phase="follow_up", update=" ")
    assert refused.value.field == "update"


# --- the platform's own decisions: authority and subjects ---


def test_an_incident_touching_no_tenant_is_kept_in_the_register_with_its_reasoning(incident):
    assert incident_clock(incident).running  # the authority decision is owed
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_decide_authority_not_notified(incident=incident, reasoning="Minor.")
    assert refused.value.code == "not_assessed"
    services.incident_assess(
        incident=incident, risk_level="risk", reasoning="Staff e-mail addresses exposed."
    )
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_decide_authority_not_notified(incident=incident, reasoning="Minor.")
    assert refused.value.code == "notification_required"  # Art. 33(1)
    services.incident_assess(
        incident=incident, risk_level="unlikely", reasoning="Disk encrypted; key not exposed."
    )
    services.incident_decide_authority_not_notified(
        incident=incident, reasoning="Unlikely to result in a risk: the disk was encrypted."
    )
    incident.refresh_from_db()
    state = incident_clock(incident)
    assert not state.running and state.label == "authority decided"
    closed = services.incident_close(incident=incident, note="Laptop wiped remotely.")
    assert closed.status == "closed" and closed.authority_decided_at is not None


def test_authority_notification_is_recorded_with_content_and_time(incident):
    services.incident_assess(incident=incident, risk_level="high", reasoning="Passwords leaked.")
    sent_at = timezone.now() - timedelta(minutes=30)
    notice = services.incident_record_authority_notification(
        incident=incident,
        authority_name="BfDI",
        channel="authority_portal",
        sent_at=sent_at,
        reference="BfDI-2025-0042",
    )
    assert notice.recipient == "supervisory_authority" and notice.sent_at == sent_at
    assert "To:   BfDI" in notice.content and "Risk level: High risk" in notice.content
    assert "Controllers whose data is concerned: 0" in notice.content
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_close(incident=incident, note="Done.")
    assert refused.value.code == "subjects_decision_missing"
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_decide_subjects_not_notified(
            incident=incident, ground="not_high_risk", reasoning="Not so bad."
        )
    assert refused.value.field == "ground"
    with pytest.raises(BusinessRuleError):
        services.incident_decide_subjects_not_notified(
            incident=incident, ground="disproportionate_effort", reasoning="Too many."
        )
    public = services.incident_record_subject_notification(
        incident=incident, recipient="public", channel="website"
    )
    assert "What happened: " in public.content
    services.incident_decide_subjects_not_notified(
        incident=incident, ground="disproportionate_effort", reasoning="Contact data unknown."
    )
    assert services.incident_close(incident=incident, note="Done.").status == "closed"
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_assess(incident=incident, risk_level="unlikely", reasoning="x")
    assert refused.value.code == "incident_closed"


def test_a_late_authority_notification_needs_the_reasons(incident):
    services.incident_update(
        incident=incident,
        became_aware_at=timezone.now() - timedelta(hours=73),
        detected_at=timezone.now() - timedelta(hours=74),
        occurred_from=timezone.now() - timedelta(hours=80),
        occurred_to=timezone.now() - timedelta(hours=75),
    )
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_record_authority_notification(
            incident=incident, authority_name="BfDI", channel="authority_portal"
        )
    assert refused.value.code == "delay_reason_required"
    # Made within the 72 hours and recorded later: no reason needed.
    notice = services.incident_record_authority_notification(
        incident=incident,
        authority_name="BfDI",
        channel="authority_portal",
        sent_at=timezone.now() - timedelta(hours=2),
    )
    assert not notice.is_late


def test_closing_needs_every_affected_tenant_told(two_tenant_incident):
    services.incident_assess(incident=two_tenant_incident, risk_level="risk", reasoning="x")
    with pytest.raises(BusinessRuleError) as refused:
        services.incident_close(incident=two_tenant_incident, note="Done.")
    assert refused.value.code == "tenants_not_notified"
    assert "Tenant A" in refused.value.message and "Tenant B" in refused.value.message


# --- acknowledgements ---


def test_acknowledgement_by_user_or_key_of_the_tenant_only(
    two_tenant_incident, tenant_a, tenant_b, admin_a, admin_b, viewer_a
):
    services.incident_notify_tenants(incident=two_tenant_incident)
    a_notice = BreachNotification.objects.get(tenant=tenant_a)
    assert tenant_unacknowledged_count(tenant_a) == 1
    with pytest.raises(NotPermitted):
        services.notification_acknowledge(notification=a_notice, user=admin_b)
    with pytest.raises(NotPermitted):
        services.notification_acknowledge(
            notification=a_notice, api_key=ApiKeyFactory(tenant=tenant_b)
        )
    first = services.notification_acknowledge(notification=a_notice, user=viewer_a)
    again = services.notification_acknowledge(notification=a_notice, user=admin_a)
    assert again.acknowledged_by == viewer_a and again.acknowledged_at == first.acknowledged_at
    assert tenant_unacknowledged_count(tenant_a) == 0
    assert tenant_unacknowledged_count(tenant_b) == 1


# --- background work that must not get stuck ---


def test_a_failed_email_is_resent_by_the_sweep(two_tenant_incident, monkeypatch):
    services.incident_notify_tenants(incident=two_tenant_incident)
    notice = BreachNotification.objects.filter(tenant__slug="tenant-a").get()

    def down(*args, **kwargs):
        raise OSError("SMTP server unreachable")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", down)
    assert breach_notice_email_send(notice.pk) == "failed"
    notice.refresh_from_db()
    assert notice.emailed_at is None
    monkeypatch.undo()
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        result = breach_notices_sweep()
    assert result["emails_sent"] == 2
    notice.refresh_from_db()
    assert notice.emailed_at is not None
    assert breach_notice_email_send(notice.pk) == "already_sent"


def test_the_sweep_sends_high_risk_notices_a_lost_task_did_not(two_tenant_incident, monkeypatch):
    monkeypatch.setattr(
        "breaches.tasks.incident_notify_tenants_task.delay_on_commit", lambda *a, **k: None
    )
    services.incident_assess(incident=two_tenant_incident, risk_level="high", reasoning="x")
    assert not BreachNotification.objects.exists()
    assert breach_notices_sweep()["tenant_notices"] == 2
    assert breach_notices_sweep()["tenant_notices"] == 0
