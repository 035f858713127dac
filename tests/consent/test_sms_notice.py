import pytest

from consent import services
from consent.models import ConsentEvent, SmsNotice
from portal.errors import BusinessRuleError
from portal.models import Tenant
from portal.sms import MemorySmsBackend

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def outbox():
    MemorySmsBackend.outbox.clear()
    return MemorySmsBackend.outbox


def test_notice_is_rendered_sent_and_kept_without_recording_consent(
    tenant_a, purposes_a, notice_a, admin_a, outbox
):
    sent = services.sms_notice_send(
        tenant=tenant_a, number="0151 23456789", purpose="marketing", sent_by=admin_a
    )
    [message] = outbox
    assert message["to"] == "+4915123456789"
    assert message["text"] == (
        f"Tenant A records calls for {purposes_a['marketing'].description}. "
        f"Privacy notice: {notice_a.url} Reply STOP to withdraw."
    )
    assert (sent.message_id, sent.text, sent.notice, sent.sent_by) == (
        message["id"],
        message["text"],
        notice_a,
        admin_a,
    )
    assert not ConsentEvent.objects.exists()


def test_the_subjects_answer_is_recorded_with_the_message_as_evidence(
    tenant_a, purposes_a, notice_a
):
    sent = services.sms_notice_send(tenant=tenant_a, number="0151 23456789", purpose="training")
    event = services.consent_give(
        tenant=tenant_a,
        number="+4915123456789",
        purpose="training",
        lawful_basis="consent",
        method="sms_notice",
        notice_version=sent.notice.version,
        evidence={"message_id": sent.message_id},
        source="api",
    )
    assert event.evidence_message_id == sent.message_id


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{tenant} records calls for {purpose}. Reply STOP.", "{url}"),
        ("{tenant} records {calls}: {url}", "calls"),
        ("{tenant} records calls {: {url}", "cannot be filled in"),
    ],
)
def test_a_broken_template_is_refused_before_sending(
    tenant_a, purposes_a, notice_a, outbox, template, problem
):
    # Stored before templates were checked on save (saving such a template is refused now).
    Tenant.objects.filter(pk=tenant_a.pk).update(sms_notice_template=template)
    tenant = Tenant.objects.get(pk=tenant_a.pk)
    with pytest.raises(BusinessRuleError) as exc:
        services.sms_notice_send(tenant=tenant, number="0151 23456789", purpose="marketing")
    assert exc.value.field == "sms_notice_template" and problem in exc.value.message
    assert outbox == [] and not SmsNotice.objects.exists()


def test_no_notice_published_means_nothing_to_link(tenant_a, purposes_a, outbox):
    with pytest.raises(BusinessRuleError) as exc:
        services.sms_notice_send(tenant=tenant_a, number="0151 23456789", purpose="marketing")
    assert exc.value.field == "notice_version"
    assert outbox == []
