"""The request lifecycle: every transition, its rules and its refusals."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from calls.models import Call, RetentionRule
from consent.models import ProcessingRestriction
from consent.selectors import lawful_basis_at
from dsr import services
from dsr.models import CallRectification, DataSubjectRequest, RequestEvent, SubjectNotice
from portal.errors import BusinessRuleError, NotPermitted
from portal.models import WebhookDelivery
from tests.dsr.conftest import OTHER, SUBJECT, SUBJECT_2
from tests.factories import DataSubjectRequestFactory, PurposeFactory, WebhookFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def open_request(tenant, **kwargs):
    return DataSubjectRequestFactory(tenant=tenant, **kwargs)


def verified(request, by):
    return services.request_verify(request=request, by=by, method="callback", note="Called back.")


def test_open_normalises_numbers_in_any_format_and_computes_the_deadline(tenant_a, key_a):
    moment = datetime(2024, 3, 5, 10, 0, tzinfo=BERLIN)
    with time_machine.travel(moment + timedelta(hours=1), tick=False):
        request = services.request_open(
            tenant=tenant_a,
            kind="access",
            numbers=["0151 12345678", "+49 151 12345678", "0049-176-12345678"],
            channel="api",
            received_at=moment,
            api_key=key_a,
        )
    assert request.numbers == [SUBJECT, SUBJECT_2]
    assert timezone.localtime(request.due_at, BERLIN).date().isoformat() == "2024-04-05"
    assert request.effective_due_at == request.due_at
    assert request.confirmed_at is not None  # opened by the tenant: confirmed by that act
    assert [e.action for e in request.events.all()] == ["opened", "confirmed"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"numbers": []}, "numbers"),
        ({"numbers": ["+4915112345678", "not a number"]}, "numbers.1"),
        ({"received_at": timezone.now() + timedelta(days=1)}, "received_at"),
        ({"received_at": datetime(2024, 1, 1)}, "received_at"),  # naive
        ({"kind": "deletion"}, "kind"),
        ({"email": "not-an-email"}, "email"),
    ],
)
def test_bad_input_is_refused_naming_the_field(tenant_a, kwargs, field):
    arguments = {"kind": "access", "numbers": [SUBJECT], "channel": "api", **kwargs}
    with pytest.raises(BusinessRuleError) as caught:
        services.request_open(tenant=tenant_a, **arguments)
    assert field in caught.value.fields
    assert not DataSubjectRequest.objects.exists()


def test_a_request_sent_to_the_platform_is_forwarded_and_waits_for_the_tenant(
    tenant_a, support_user, admin_a
):
    WebhookFactory(tenant=tenant_a)
    received = timezone.now() - timedelta(days=3)
    request = services.request_open(
        tenant=tenant_a,
        kind="access",
        numbers=[SUBJECT],
        channel="direct_to_processor",
        received_at=received,
        by=support_user,
    )
    assert request.forwarded_at is not None and request.confirmed_at is None
    assert {"opened", "forwarded"} == set(request.events.values_list("action", flat=True))
    events = set(WebhookDelivery.objects.values_list("event", flat=True))
    assert {"request.received", "request.forwarded"} <= events
    with pytest.raises(BusinessRuleError, match="not confirmed") as caught:
        verified(request, support_user)
    assert caught.value.code == "not_confirmed"
    due_before = request.due_at
    confirmed = services.request_confirm(request=request, by=admin_a)
    assert confirmed.confirmed_at is not None and confirmed.confirmed_by == admin_a
    assert confirmed.due_at == due_before  # still runs from the first receipt
    with pytest.raises(BusinessRuleError, match="confirmed already"):
        services.request_confirm(request=request, by=admin_a)
    assert verified(request, support_user).status == "in_review"


def test_the_tenant_contact_is_emailed_when_a_request_is_forwarded(
    tenant_a, support_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = open_request(tenant_a, channel="direct_to_processor", by=support_user)
    [message] = [m for m in mail.outbox if "forwarded" in m.subject]
    assert message.to == [tenant_a.privacy_contact_email]
    assert f"/api/v1/requests/{request.pk}/confirm/" in message.body
    assert SUBJECT not in message.body  # the subject's number stays in the portal


@pytest.mark.parametrize(
    ("steps", "action", "code"),
    [
        ([], "complete", "illegal_transition"),
        ([], "process", "illegal_transition"),
        (["verify"], "verify", "illegal_transition"),
        (["verify"], "start_verification", "illegal_transition"),
        (["verify", "reject"], "verify", "request_closed"),
        (["verify", "reject"], "approve", "request_closed"),
        (["verify", "approve"], "reject", "illegal_transition"),
        (["verify", "approve"], "pause", "illegal_transition"),
    ],
)
def test_illegal_transitions_are_refused_with_a_clear_error(
    tenant_a, dpo_user, steps, action, code
):
    request = open_request(tenant_a, kind="rectification")
    run = {
        "verify": lambda: verified(request, dpo_user),
        "reject": lambda: services.request_reject(
            request=request, by=dpo_user, ground="excessive", reasons="Fifth identical request."
        ),
        "approve": lambda: services.request_approve(request=request, by=dpo_user),
        "complete": lambda: services.request_complete(request=request, by=dpo_user),
        "process": lambda: services.request_process(request=request, by=dpo_user),
        "start_verification": lambda: services.request_start_verification(
            request=request, by=dpo_user
        ),
        "pause": lambda: services.request_pause_clock(
            request=request, by=dpo_user, reason="Asked for the last call's date."
        ),
    }
    for step in steps:
        run[step]()
    status = DataSubjectRequest.objects.get(pk=request.pk).status
    with pytest.raises(BusinessRuleError) as caught:
        run[action]()
    assert caught.value.code == code
    assert f"#{request.pk}" in caught.value.message
    assert DataSubjectRequest.objects.get(pk=request.pk).status == status


def test_an_unverified_request_cannot_be_approved(tenant_a, dpo_user):
    request = open_request(tenant_a)
    services.request_start_verification(request=request, by=dpo_user)
    with pytest.raises(BusinessRuleError, match="not verified") as caught:
        services.request_approve(request=request, by=dpo_user)
    assert caught.value.code == "not_verified"
    assert DataSubjectRequest.objects.get(pk=request.pk).status == "verifying"


def test_support_takes_in_verifies_and_assigns_but_never_decides(tenant_a, support_user):
    request = open_request(tenant_a, kind="access", by=support_user)
    services.request_assign(request=request, assignee=support_user, by=support_user)
    verified(request, support_user)
    for decide in (
        lambda: services.request_approve(request=request, by=support_user),
        lambda: services.request_reject(
            request=request, by=support_user, ground="excessive", reasons="x"
        ),
        lambda: services.request_extend(request=request, by=support_user, reason="busy"),
    ):
        with pytest.raises(NotPermitted) as caught:
            decide()
        assert caught.value.status_code == 403
        assert "decide_request" in caught.value.message
    assert DataSubjectRequest.objects.get(pk=request.pk).status == "in_review"


def test_a_tenant_user_cannot_approve_either(tenant_a, admin_a, dpo_user):
    request = verified(open_request(tenant_a), dpo_user)
    with pytest.raises(NotPermitted):
        services.request_approve(request=request, by=admin_a)


def test_every_transition_is_recorded_with_its_actor(tenant_a, dpo_user, support_user):
    request = open_request(tenant_a, kind="objection", by=support_user)
    services.request_start_verification(request=request, by=support_user)
    verified(request, support_user)
    services.request_approve(request=request, by=dpo_user, reasons="Legitimate objection.")
    request.refresh_from_db()
    assert request.status == "completed"
    transitions = list(
        RequestEvent.objects.filter(request=request)
        .exclude(from_status="")
        .values_list("from_status", "to_status", "actor")
    )
    assert transitions == [
        ("received", "verifying", "user:support"),
        ("verifying", "in_review", "user:support"),
        ("in_review", "approved", "user:dpo"),
        ("approved", "processing", "user:dpo"),
        ("processing", "completed", "user:dpo"),
    ]
    history = request.history.order_by("history_date")
    statuses = [(h.status, h.history_user_id) for h in history]
    assert ("verifying", support_user.pk) in statuses
    assert ("approved", dpo_user.pk) in statuses
    assert request.verified_by == support_user and request.decided_by == dpo_user
    assert request.verified_at and request.approved_at and request.completed_at


def test_pausing_the_clock_moves_the_deadline_by_the_days_it_stood_still(tenant_a, dpo_user):
    start = datetime(2024, 3, 5, 10, 0, tzinfo=BERLIN)
    with time_machine.travel(start, tick=False) as traveller:
        request = open_request(tenant_a, received_at=start)
        assert timezone.localtime(request.due_at, BERLIN).date().isoformat() == "2024-04-05"
        services.request_start_verification(
            request=request, by=dpo_user, pause_reason="Asked for the date of the last call."
        )
        request.refresh_from_db()
        assert request.clock_paused_at is not None
        with pytest.raises(BusinessRuleError, match="paused already"):
            services.request_pause_clock(request=request, by=dpo_user, reason="again")
        traveller.shift(timedelta(days=3))
        verified(request, dpo_user)  # the answer arrived: the clock runs again
    request.refresh_from_db()
    assert request.clock_paused_at is None
    # 5 April + 3 days = Monday 8 April 2024.
    assert timezone.localtime(request.due_at, BERLIN).date().isoformat() == "2024-04-08"
    [pause] = request.pauses.all()
    assert pause.ended_at - pause.started_at == timedelta(days=3)


def test_a_paused_request_is_never_overdue_and_resume_needs_a_pause(tenant_a, dpo_user):
    request = open_request(tenant_a, received_at=timezone.now() - timedelta(days=20))
    services.request_pause_clock(request=request, by=dpo_user, reason="Waiting for the subject")
    request.refresh_from_db()
    assert not request.is_overdue(timezone.now() + timedelta(days=60))
    services.request_resume_clock(request=request, by=dpo_user)
    with pytest.raises(BusinessRuleError, match="not paused"):
        services.request_resume_clock(request=request, by=dpo_user)


def test_extension_within_the_first_month_tells_the_subject(tenant_a, dpo_user):
    WebhookFactory(tenant=tenant_a, events=["request.deadline_changed"])
    start = datetime(2024, 3, 5, 10, 0, tzinfo=BERLIN)
    with time_machine.travel(start + timedelta(days=20), tick=False):
        request = open_request(tenant_a, received_at=start)
        services.request_extend(
            request=request, by=dpo_user, months=3, reason="Forty calls to review."
        )
    request.refresh_from_db()
    assert timezone.localtime(request.extended_due_at, BERLIN).date().isoformat() == "2024-06-05"
    assert request.effective_due_at == request.extended_due_at
    assert request.due_at < request.extended_due_at
    [notice] = SubjectNotice.objects.filter(request=request)
    assert notice.kind == "extension" and "5 June 2024" in notice.text
    assert "Forty calls to review." in notice.text and "Article 12(3)" in notice.text
    assert notice.emailed_at is not None
    assert WebhookDelivery.objects.filter(event="request.deadline_changed").count() == 1


def test_extension_after_the_first_deadline_or_beyond_three_months_is_refused(tenant_a, dpo_user):
    start = datetime(2024, 3, 5, 10, 0, tzinfo=BERLIN)
    with time_machine.travel(start + timedelta(days=5), tick=False):
        request = open_request(tenant_a, received_at=start)
        with pytest.raises(BusinessRuleError, match="at most 3 months") as caught:
            services.request_extend(request=request, by=dpo_user, months=4, reason="Complex.")
        assert caught.value.field == "months"
        with pytest.raises(BusinessRuleError, match="reasons"):
            services.request_extend(request=request, by=dpo_user, months=3, reason=" ")
        services.request_extend(request=request, by=dpo_user, months=2, reason="Complex.")
        services.request_extend(request=request, by=dpo_user, months=3, reason="Still complex.")
        with pytest.raises(BusinessRuleError, match="already extended to 3"):
            services.request_extend(request=request, by=dpo_user, months=3, reason="More.")
    late = open_request(tenant_a, received_at=start)
    # 5 April 2024 ended at midnight in Berlin; one minute later the first period is over.
    with (
        time_machine.travel(datetime(2024, 4, 6, 0, 1, tzinfo=BERLIN), tick=False),
        pytest.raises(BusinessRuleError, match="already expired") as caught,
    ):
        services.request_extend(request=late, by=dpo_user, months=3, reason="Too late.")
    assert caught.value.code == "extension_refused"
    late.refresh_from_db()
    assert late.extended_due_at is None


def test_rejection_tells_the_subject_of_the_right_to_complain(
    tenant_a, dpo_user, django_capture_on_commit_callbacks
):
    request = open_request(tenant_a, received_at=timezone.now() - timedelta(days=2))
    with pytest.raises(BusinessRuleError, match="reasons"):
        services.request_reject(request=request, by=dpo_user, ground="excessive", reasons="")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_reject(
            request=request,
            by=dpo_user,
            ground="manifestly_unfounded",
            reasons="The number has never called us.",
        )
    request.refresh_from_db()
    assert request.status == "rejected" and request.rejection_ground == "manifestly_unfounded"
    assert request.policy_snapshot["supervisory_authority"] == "Test Supervisory Authority"
    [notice] = request.notices.all()
    assert "right to lodge a complaint with a supervisory authority" in notice.text
    assert "Test Supervisory Authority" in notice.text
    assert "The number has never called us." in notice.text
    assert "judicial remedy" in notice.text
    [email] = [m for m in mail.outbox if m.to == ["erika@example.com"]]
    assert "Test Supervisory Authority" in email.body


def test_erasure_needs_approve_erasure_and_a_second_person_and_stays_approved(
    tenant_a, dpo_user, second_dpo, support_user
):
    request = open_request(tenant_a, kind="erasure", by=support_user)
    verified(request, dpo_user)
    with pytest.raises(NotPermitted, match="Four-eyes"):
        services.request_approve(request=request, by=dpo_user)  # verified it himself
    services.request_approve(request=request, by=second_dpo)
    request.refresh_from_db()
    # Erasure is executed by the erasure process (dsr.erasure); until then nothing happens.
    assert request.status == "approved"
    with pytest.raises(BusinessRuleError) as caught:
        services.request_process(request=request, by=second_dpo)
    assert caught.value.code == "erasure_not_available"


def test_policy_snapshot_is_frozen_at_decision_time(tenant_a, dpo_user, second_dpo):
    RetentionRule.objects.create(tenant=tenant_a, category="sales", max_age_days=90)
    request = verified(open_request(tenant_a, kind="erasure"), dpo_user)
    request = services.request_approve(request=request, by=second_dpo)
    RetentionRule.objects.filter(tenant=tenant_a).update(max_age_days=30)
    tenant_a.auto_approve_erasure = True
    tenant_a.save()
    request.refresh_from_db()
    assert request.policy_snapshot["retention_rules"][0]["max_age_days"] == 90
    assert request.policy_snapshot["automation"]["auto_approve_erasure"] is False


def test_auto_approve_access_verifies_and_approves_by_policy(
    tenant_a, key_a, django_capture_on_commit_callbacks
):
    tenant_a.auto_approve_access = True
    tenant_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        request = services.request_open(
            tenant=tenant_a, kind="portability", numbers=[SUBJECT], channel="api", api_key=key_a
        )
    request.refresh_from_db()
    assert request.approved_by_policy and request.decided_by is None
    assert request.verification_method == "tenant_vouched"
    assert request.status == "completed"  # the package was built with no staff action
    assert request.packages.get().status == "ready"
    reasons = list(request.history.values_list("history_change_reason", flat=True))
    assert "approved by policy (auto_approve_access)" in reasons
    assert "Approved by policy" in request.decision_reasons


@pytest.mark.parametrize(
    ("setting", "kind", "channel", "by_key", "policy"),
    [
        ("auto_approve_access", "access", "api", True, True),
        ("auto_approve_access", "access", "api", False, False),  # session, not the tenant's key
        ("auto_approve_access", "access", "dashboard", False, False),
        ("auto_approve_access", "erasure", "api", True, False),  # wrong kind for this setting
        ("auto_approve_erasure", "erasure", "api", True, True),
        (None, "access", "api", True, False),
    ],
)
def test_policy_applies_only_to_the_tenants_own_api_key_and_setting(
    tenant_a, key_a, admin_a, setting, kind, channel, by_key, policy
):
    if setting:
        setattr(tenant_a, setting, True)
        tenant_a.save()
    request = services.request_open(
        tenant=tenant_a,
        kind=kind,
        numbers=[SUBJECT],
        channel=channel,
        by=admin_a,
        api_key=key_a if by_key else None,
    )
    request.refresh_from_db()
    assert request.approved_by_policy is policy
    assert request.status == ("approved" if policy else "received")


def test_nobody_can_claim_a_policy_the_tenant_does_not_have(tenant_a, key_a, dpo_user):
    request = services.request_open(
        tenant=tenant_a, kind="access", numbers=[SUBJECT], channel="api", api_key=key_a
    )
    with pytest.raises(NotPermitted, match="policy"):
        services.request_verify(request=request, by=None, method="tenant_vouched", by_policy=True)


def test_restriction_marks_the_calls_and_tells_recipients(subject, tenant_a, dpo_user):
    WebhookFactory(tenant=tenant_a)
    request = verified(
        open_request(tenant_a, kind="restriction", numbers=[SUBJECT, SUBJECT_2]), dpo_user
    )
    services.request_approve(request=request, by=dpo_user)
    request.refresh_from_db()
    assert request.status == "completed"
    restricted = set(Call.objects.filter(is_restricted=True).values_list("pk", flat=True))
    assert restricted == {c.pk for c in subject.calls}
    assert set(
        ProcessingRestriction.objects.filter(lifted_at__isnull=True).values_list("number", "kind")
    ) == {(SUBJECT, "restriction"), (SUBJECT_2, "restriction")}
    purpose = PurposeFactory(tenant=tenant_a, code="quality")
    answer = lawful_basis_at(
        tenant_id=tenant_a.pk, number=SUBJECT, purpose=purpose, at=timezone.now()
    )
    assert not answer.allowed
    [delivery] = WebhookDelivery.objects.filter(event="request.restricted")
    assert sorted(delivery.payload["calls"]) == sorted(c.pk for c in subject.calls)
    assert SUBJECT not in str(delivery.payload) and "151" not in str(delivery.payload)


def test_a_restriction_is_lifted_only_after_the_subject_is_told(subject, tenant_a, dpo_user):
    WebhookFactory(tenant=tenant_a)
    request = verified(open_request(tenant_a, kind="restriction"), dpo_user)
    services.request_approve(request=request, by=dpo_user)
    with pytest.raises(BusinessRuleError, match="Tell the subject") as caught:
        services.request_restriction_lift(request=request, by=dpo_user, reason="Dispute settled.")
    assert caught.value.code == "subject_not_told"
    notice = services.request_restriction_lift_notify(request=request, by=dpo_user)
    assert notice.kind == "restriction_lift" and "Article 18(3)" in notice.text
    lifted = services.request_restriction_lift(
        request=request, by=dpo_user, reason="Accuracy confirmed."
    )
    assert sorted(lifted) == sorted(c.pk for c in subject.calls if c.caller == SUBJECT)
    assert not Call.objects.filter(pk__in=lifted, is_restricted=True).exists()
    assert not ProcessingRestriction.objects.filter(request_id=request.pk, lifted_at=None).exists()
    assert WebhookDelivery.objects.filter(event="request.restriction_lifted").exists()


def test_objection_stops_legitimate_interest_processing(tenant_a, dpo_user):
    marketing = PurposeFactory(
        tenant=tenant_a, code="analytics", default_lawful_basis="legitimate_interests"
    )
    request = verified(open_request(tenant_a, kind="objection"), dpo_user)
    services.request_approve(request=request, by=dpo_user)
    request.refresh_from_db()
    assert request.status == "completed"
    assert ProcessingRestriction.objects.get(number=SUBJECT).kind == "objection"
    answer = lawful_basis_at(
        tenant_id=tenant_a.pk, number=SUBJECT, purpose=marketing, at=timezone.now()
    )
    assert not answer.allowed
    other = lawful_basis_at(
        tenant_id=tenant_a.pk, number=OTHER, purpose=marketing, at=timezone.now()
    )
    assert other.allowed


def test_rectification_adds_a_statement_to_the_subjects_calls_and_tells_recipients(
    subject, tenant_a, dpo_user
):
    WebhookFactory(tenant=tenant_a)
    request = verified(open_request(tenant_a, kind="rectification"), dpo_user)
    services.request_approve(request=request, by=dpo_user)
    request.refresh_from_db()
    assert request.status == "processing"  # waiting for the statement
    with pytest.raises(BusinessRuleError, match="not the subject's"):
        services.request_rectify(
            request=request, by=dpo_user, statement="x", calls=subject.foreign_calls
        )
    services.request_rectify(request=request, by=dpo_user, statement="My name is Meier, not Maier.")
    request.refresh_from_db()
    assert request.status == "completed"
    rectified = set(CallRectification.objects.values_list("call_id", flat=True))
    subject_calls = {c.pk for c in subject.calls if SUBJECT in (c.caller, c.callee)}
    assert rectified == subject_calls
    [delivery] = WebhookDelivery.objects.filter(event="request.rectified")
    assert set(delivery.payload["calls"]) == subject_calls


def test_assignment_emails_the_assignee_and_only_to_staff_serving_the_tenant(
    tenant_a, tenant_b, dpo_user, support_user, admin_a, django_capture_on_commit_callbacks
):
    support_user.email = "support@platform.example"
    support_user.save()
    request = open_request(tenant_a)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_assign(request=request, assignee=support_user, by=dpo_user)
    [message] = mail.outbox
    assert message.to == ["support@platform.example"] and f"#{request.pk}" in message.subject
    foreign = open_request(tenant_b)
    with pytest.raises(BusinessRuleError, match="not platform staff serving"):
        services.request_assign(request=foreign, assignee=support_user, by=dpo_user)
    with pytest.raises(BusinessRuleError, match="not platform staff serving"):
        services.request_assign(request=request, assignee=admin_a, by=dpo_user)
    # The assignee hears of later changes made by others.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        verified(request, dpo_user)
    assert [m.to for m in mail.outbox] == [["support@platform.example"]]
