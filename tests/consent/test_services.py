import hashlib
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from calls.models import Call
from consent import services
from consent.models import ConsentEvent, ConsentState, PrivacyNotice, Purpose
from portal.errors import BusinessRuleError
from portal.models import WebhookDelivery
from tests.factories import (
    ConsentEventFactory,
    PrivacyNoticeFactory,
    PurposeFactory,
    TenantFactory,
    WebhookFactory,
)

pytestmark = pytest.mark.django_db


def ledger_rows() -> tuple[int, int, int]:
    return (
        ConsentEvent.objects.count(),
        ConsentState.objects.count(),
        ConsentEvent.history.count() + ConsentState.history.count(),
    )


def make_call(tenant, number="+49301234567", external_id="c-1"):
    return Call.objects.create(
        tenant=tenant,
        external_id=external_id,
        direction="inbound",
        caller=number,
        callee="+49305550000",
        started_at=timezone.now() - timedelta(hours=1),
    )


# --- purposes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["all", "ANY", "*", "Everything", "general", "misc", "other", "all_purposes"]
)
def test_catch_all_purpose_codes_are_refused(tenant_a, code):
    with pytest.raises(BusinessRuleError) as exc:
        services.purpose_create(tenant=tenant_a, code=code, description="Whatever we like")
    assert exc.value.field == "code" and exc.value.code == "catch_all_purpose"
    assert "specific" in exc.value.message
    assert not Purpose.objects.exists()


def test_purpose_needs_a_plain_description(tenant_a):
    with pytest.raises(BusinessRuleError) as exc:
        services.purpose_create(tenant=tenant_a, code="marketing", description="   ")
    assert exc.value.field == "description"
    assert not Purpose.objects.exists()


def test_purpose_code_is_normalised_unique_and_never_changes(tenant_a, tenant_b):
    purpose = services.purpose_create(
        tenant=tenant_a, code="Marketing", description="Offers", default_lawful_basis="consent"
    )
    assert purpose.code == "marketing"
    services.purpose_create(tenant=tenant_b, code="marketing", description="Another tenant")
    with pytest.raises(BusinessRuleError) as exc:
        services.purpose_create(tenant=tenant_a, code="marketing", description="Again")
    assert exc.value.field == "code" and exc.value.code == "duplicate"
    with pytest.raises(BusinessRuleError) as exc:
        services.purpose_update(purpose=purpose, code="sales")
    assert exc.value.field == "code" and exc.value.code == "immutable"
    updated = services.purpose_update(purpose=purpose, description="Offers by phone")
    assert updated.description == "Offers by phone" and updated.code == "marketing"


def test_purpose_in_use_is_deactivated_not_deleted(give_kwargs, purposes_a):
    services.consent_give(**give_kwargs)
    with pytest.raises(BusinessRuleError) as exc:
        services.purpose_delete(purpose=purposes_a["marketing"])
    assert exc.value.code == "purpose_in_use" and exc.value.status_code == 409
    assert "deactivate" in exc.value.message
    services.purpose_update(purpose=purposes_a["marketing"], is_active=False)
    services.purpose_delete(purpose=purposes_a["training"])  # never used: goes
    assert set(Purpose.objects.values_list("code", flat=True)) == {
        "service_delivery",
        "quality_assurance",
        "complaint_handling",
        "marketing",
    }


# --- notices ------------------------------------------------------------------------------


def test_notice_keeps_the_sha256_of_its_text(tenant_a):
    notice = services.notice_create(
        tenant=tenant_a,
        version="3.0",
        url="https://example.com/privacy/3",
        text="We record calls.",
        effective_from=timezone.now(),
    )
    assert notice.text_sha256 == hashlib.sha256(b"We record calls.").hexdigest()
    with pytest.raises(BusinessRuleError) as exc:
        services.notice_create(
            tenant=tenant_a,
            version="3.0",
            url="https://example.com/privacy/3",
            effective_from=timezone.now(),
        )
    assert exc.value.field == "version"
    with pytest.raises(BusinessRuleError) as exc:
        services.notice_create(
            tenant=tenant_a,
            version="4.0",
            url="https://example.com/privacy/4",
            text="Text",
            text_sha256="0" * 64,
            effective_from=timezone.now(),
        )
    assert exc.value.field == "text_sha256"


def test_notice_given_only_as_a_digest(tenant_a):
    notice = services.notice_create(
        tenant=tenant_a,
        version="1.1",
        url="https://example.com/privacy/1.1",
        text_sha256="AB" * 32,
        effective_from=timezone.now(),
    )
    assert notice.text == "" and notice.text_sha256 == "ab" * 32


def test_notice_shown_to_subjects_is_never_changed_or_deleted(give_kwargs, notice_a):
    services.consent_give(**give_kwargs)
    with pytest.raises(BusinessRuleError) as exc:
        services.notice_update(notice=notice_a, url="https://example.com/other")
    assert exc.value.code == "notice_in_use"
    with pytest.raises(BusinessRuleError):
        services.notice_delete(notice=notice_a)
    assert PrivacyNotice.objects.get(pk=notice_a.pk).url == notice_a.url


# --- the ledger: giving and withdrawing ---------------------------------------------------


def test_give_records_the_event_and_the_current_state(give_kwargs, admin_a):
    event = services.consent_give(**give_kwargs, recorded_by=admin_a)
    assert event.number == "+49301234567"
    assert (event.action, event.lawful_basis, event.method) == ("given", "consent", "ivr_keypress")
    assert event.notice.version == "2.0" and event.recorded_by == admin_a
    state = ConsentState.objects.get()
    assert (state.number, state.purpose_code, state.allowed) == ("+49301234567", "marketing", True)
    assert state.event == event and state.since == event.occurred_at


def test_withdraw_takes_the_same_fields_and_is_a_new_event(give_kwargs):
    given = services.consent_give(**give_kwargs)
    withdrawn = services.consent_withdraw(
        **{**give_kwargs, "number": "+49 30 1234567", "occurred_at": timezone.now()}
    )
    assert withdrawn.pk != given.pk and withdrawn.action == "withdrawn"
    assert ConsentEvent.objects.count() == 2
    given.refresh_from_db()
    assert given.action == "given"  # the giving itself is untouched
    state = ConsentState.objects.get()
    assert state.allowed is False and state.event == withdrawn


def test_withdrawal_needs_no_notice_version(give_kwargs):
    services.consent_give(**give_kwargs)
    event = services.consent_withdraw(
        **{**give_kwargs, "notice_version": None, "method": "sms_notice", "occurred_at": None}
    )
    assert event.notice is None


def test_other_bases_are_recorded_with_their_own_method(give_kwargs):
    contract = services.consent_give(
        **{
            **give_kwargs,
            "purpose": "service_delivery",
            "lawful_basis": "contract",
            "method": "contract_clause",
            "evidence": {"document": "contract 2025-17, clause 9"},
        }
    )
    legal = services.consent_give(
        **{
            **give_kwargs,
            "purpose": "complaint_handling",
            "lawful_basis": "legal_obligation",
            "method": "legal_obligation_notice",
        }
    )
    assert contract.evidence_document == "contract 2025-17, clause 9"
    assert legal.lawful_basis == "legal_obligation"


def test_evidence_names_the_tenants_own_call_with_this_number(give_kwargs, tenant_a):
    call = make_call(tenant_a)
    event = services.consent_give(
        **{**give_kwargs, "evidence": {"call_id": call.pk, "message_id": "sms-1"}}
    )
    assert event.evidence_call_id == call.pk and event.evidence_message_id == "sms-1"


def _other_tenants_call(tenant_a):
    return {"call_id": make_call(TenantFactory(slug="other")).pk}


REFUSALS = [
    # (what changes, the field named, the error code)
    ({"method": None}, "method", "implied_consent"),
    ({"method": ""}, "method", "implied_consent"),
    ({"method": "implied"}, "method", "implied_consent"),
    ({"method": "carrier_pigeon"}, "method", "invalid_choice"),
    ({"purpose": "newsletter"}, "purpose", "unknown_purpose"),
    ({"purpose": ["marketing", "training"]}, "purpose", "bundled_purposes"),
    ({"purpose": "marketing,training"}, "purpose", "bundled_purposes"),
    ({"purpose": "marketing training"}, "purpose", "bundled_purposes"),
    ({"notice_version": None}, "notice_version", "notice_required"),
    ({"notice_version": "9.9"}, "notice_version", "unknown_notice"),
    ({"lawful_basis": None}, "lawful_basis", "required"),
    ({"lawful_basis": "implied"}, "lawful_basis", "invalid_choice"),
    ({"lawful_basis": "legitimate_interests"}, "lawful_basis", "basis_method_mismatch"),
    ({"lawful_basis": "contract", "method": "verbal"}, "method", "basis_method_mismatch"),
    ({"lawful_basis": "contract", "method": "sms_notice"}, "lawful_basis", "basis_method_mismatch"),
    ({"method": "contract_clause"}, "method", "basis_method_mismatch"),
    (
        {"lawful_basis": "legitimate_interests", "method": "legal_obligation_notice"},
        "lawful_basis",
        "basis_method_mismatch",
    ),
    ({"number": "not a number"}, "number", "invalid_number"),
    ({"number": ""}, "number", "invalid_number"),
    ({"occurred_at": timezone.now() + timedelta(hours=1)}, "occurred_at", "future"),
    ({"evidence": {"call_id": 987654}}, "evidence.call_id", "not_found"),
    ({"evidence": "other tenant's call"}, "evidence.call_id", "not_found"),
    ({"evidence": {"call_id": "abc"}}, "evidence.call_id", "invalid"),
    ({"evidence": {"url": "x"}}, "evidence.url", "invalid"),
    ({"evidence": {"message_id": "x" * 200}}, "evidence.message_id", "invalid"),
    ({"source": "fax"}, "source", "invalid"),
]


@pytest.mark.parametrize(("changes", "field", "code"), REFUSALS, ids=lambda v: str(v)[:40])
def test_every_rule_is_refused_naming_the_field_and_nothing_is_written(
    give_kwargs, tenant_a, changes, field, code
):
    if changes.get("evidence") == "other tenant's call":
        changes = {"evidence": _other_tenants_call(tenant_a)}
    calls_before = Call.objects.count()
    with pytest.raises(BusinessRuleError) as exc:
        services.consent_give(**{**give_kwargs, **changes})
    assert exc.value.code == code, exc.value.message
    assert field in exc.value.fields, exc.value.fields
    assert exc.value.status_code == 400
    assert ledger_rows() == (0, 0, 0)
    assert Call.objects.count() == calls_before


def test_mismatched_basis_names_both_fields_and_says_why(give_kwargs):
    with pytest.raises(BusinessRuleError) as exc:
        services.consent_give(**{**give_kwargs, "lawful_basis": "legitimate_interests"})
    assert set(exc.value.fields) == {"lawful_basis", "method"}
    assert "consent method" in exc.value.message and "dress" in exc.value.message


def test_evidence_call_must_be_with_the_same_number(give_kwargs, tenant_a):
    call = make_call(tenant_a, number="+49309999999")
    with pytest.raises(BusinessRuleError) as exc:
        services.consent_give(**{**give_kwargs, "evidence": {"call_id": call.pk}})
    assert exc.value.field == "evidence.call_id" and exc.value.code == "evidence_mismatch"
    assert ledger_rows() == (0, 0, 0)


def test_notice_must_have_been_in_effect_when_consent_was_given(give_kwargs, tenant_a):
    PrivacyNoticeFactory(tenant=tenant_a, version="3.0", effective_from=timezone.now())
    with pytest.raises(BusinessRuleError) as exc:
        services.consent_give(**{**give_kwargs, "notice_version": "3.0"})
    assert exc.value.field == "notice_version" and exc.value.code == "notice_not_in_effect"


def test_a_deactivated_purpose_takes_no_new_consent_but_can_be_withdrawn(give_kwargs, purposes_a):
    services.consent_give(**give_kwargs)
    services.purpose_update(purpose=purposes_a["marketing"], is_active=False)
    with pytest.raises(BusinessRuleError) as exc:
        services.consent_give(**give_kwargs)
    assert exc.value.field == "purpose" and exc.value.code == "inactive_purpose"
    services.consent_withdraw(**{**give_kwargs, "occurred_at": None})
    assert ConsentState.objects.get().allowed is False


def test_another_tenants_purpose_is_not_defined_for_this_tenant(give_kwargs, tenant_b):
    foreign = PurposeFactory(tenant=tenant_b, code="surveys")
    for purpose in ("surveys", foreign):
        with pytest.raises(BusinessRuleError) as exc:
            services.consent_give(**{**give_kwargs, "purpose": purpose})
        assert exc.value.field == "purpose" and exc.value.code == "unknown_purpose"
    assert ledger_rows() == (0, 0, 0)


def test_withdrawing_a_consent_never_given_is_refused(give_kwargs):
    with pytest.raises(BusinessRuleError) as exc:
        services.consent_withdraw(**give_kwargs)
    assert exc.value.code == "never_given" and exc.value.field == "purpose"
    # A contract is not consent: it cannot be "withdrawn" either.
    services.consent_give(
        **{
            **give_kwargs,
            "purpose": "service_delivery",
            "lawful_basis": "contract",
            "method": "contract_clause",
        }
    )
    with pytest.raises(BusinessRuleError) as exc:
        services.consent_withdraw(**{**give_kwargs, "purpose": "service_delivery"})
    assert exc.value.code == "never_given"
    with pytest.raises(BusinessRuleError) as exc:
        services.consent_withdraw(
            **{
                **give_kwargs,
                "purpose": "service_delivery",
                "lawful_basis": "contract",
                "method": "contract_clause",
            }
        )
    assert exc.value.field == "lawful_basis" and exc.value.code == "not_consent"
    assert ConsentEvent.objects.count() == 1


def test_withdrawal_dated_before_the_consent_is_refused(give_kwargs):
    services.consent_give(**give_kwargs)
    with pytest.raises(BusinessRuleError) as exc:
        services.consent_withdraw(
            **{**give_kwargs, "occurred_at": give_kwargs["occurred_at"] - timedelta(days=1)}
        )
    assert exc.value.code == "never_given"


def test_a_back_dated_event_does_not_overwrite_a_newer_state(give_kwargs):
    now = timezone.now()
    services.consent_give(**{**give_kwargs, "occurred_at": now - timedelta(days=10)})
    withdrawal = services.consent_withdraw(
        **{**give_kwargs, "occurred_at": now - timedelta(days=2)}
    )
    # The integrator sends an older giving late (say, from an offline IVR log).
    late = services.consent_give(**{**give_kwargs, "occurred_at": now - timedelta(days=5)})
    state = ConsentState.objects.get()
    assert state.event == withdrawal and state.allowed is False
    assert ConsentEvent.objects.filter(pk=late.pk).exists()  # still in the ledger
    newer = services.consent_give(**{**give_kwargs, "occurred_at": now - timedelta(days=1)})
    state.refresh_from_db()
    assert state.event == newer and state.allowed is True


def test_events_at_the_same_instant_apply_in_recording_order(give_kwargs):
    at = timezone.now() - timedelta(minutes=1)
    services.consent_give(**{**give_kwargs, "occurred_at": at})
    withdrawal = services.consent_withdraw(**{**give_kwargs, "occurred_at": at})
    assert ConsentState.objects.get().event == withdrawal


def test_events_are_webhooked_by_id_without_the_number(give_kwargs, tenant_a):
    WebhookFactory(tenant=tenant_a, events=["consent.withdrawn"])
    services.consent_give(**give_kwargs)
    event = services.consent_withdraw(**{**give_kwargs, "occurred_at": None})
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event == "consent.withdrawn"
    assert delivery.payload == {
        "consent_event": event.pk,
        "purpose": "marketing",
        "action": "withdrawn",
    }
    assert "1234567" not in str(delivery.payload)


def test_factory_builds_through_the_service(tenant_a):
    event = ConsentEventFactory(tenant=tenant_a)
    assert ConsentState.objects.get(event=event).allowed


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_events_for_one_key_leave_one_consistent_state(tenant_a):
    purpose = PurposeFactory(tenant=tenant_a, code="marketing")
    notice = PrivacyNoticeFactory(
        tenant=tenant_a, effective_from=timezone.now() - timedelta(days=1)
    )
    base = timezone.now() - timedelta(hours=1)
    barrier = threading.Barrier(4)
    errors = []

    def give(offset):
        try:
            barrier.wait()
            services.consent_give(
                tenant=tenant_a,
                number="+49301234567",
                purpose=purpose.code,
                lawful_basis="consent",
                method="web_form",
                notice_version=notice.version,
                occurred_at=base + timedelta(minutes=offset),
                source="api",
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=give, args=(offset,)) for offset in (3, 1, 4, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert ConsentEvent.objects.count() == 4
    state = ConsentState.objects.get()
    assert state.since == base + timedelta(minutes=4)
