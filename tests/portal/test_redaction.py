"""History redaction and the residual-data scan used by erasure."""

from datetime import UTC, datetime

import pytest

from calls.models import Call, Transcript
from consent.models import ProcessingRestriction
from portal.redaction import (
    REDACTED,
    number_fingerprint,
    redact_history,
    residual_scan,
)

pytestmark = pytest.mark.django_db

NUMBER = "+4930123456"


def make_call(tenant, caller=NUMBER, external_id="c1"):
    return Call.objects.create(
        tenant=tenant,
        external_id=external_id,
        direction="inbound",
        caller=caller,
        callee="+4989000000",
        started_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
    )


def test_scan_finds_the_number_in_rows_history_and_free_text(tenant_a):
    call = make_call(tenant_a)
    call.category = "support"
    call.save()  # a second historical row
    Transcript.objects.create(
        tenant=tenant_a,
        call=call,
        language="de",
        text="Bitte rufen Sie mich an: 030 123456, danke.",
    )
    hits = {(h.table, h.column) for h in residual_scan([NUMBER], tenant_id=tenant_a.pk)}
    assert ("calls_call", "caller") in hits
    assert ("calls_historicalcall", "caller") in hits
    assert ("calls_transcript", "text") in hits
    assert ("calls_historicaltranscript", "text") in hits


def test_scan_does_not_match_inside_a_longer_number(tenant_a):
    make_call(tenant_a, caller="+49301234567")
    assert residual_scan([NUMBER], tenant_id=tenant_a.pk) == []


def test_scan_is_scoped_to_the_tenant(tenant_a, tenant_b):
    make_call(tenant_b)
    assert residual_scan([NUMBER], tenant_id=tenant_a.pk) == []
    assert residual_scan([NUMBER], tenant_id=tenant_b.pk)


def test_scan_reads_json_columns(tenant_a):
    call = make_call(tenant_a, caller="+4989111111")
    call.gate_flags = [{"note": "caller said 0049 30 123456"}]
    call.save()
    hits = residual_scan([NUMBER], tenant_id=tenant_a.pk)
    assert {h.column for h in hits} == {"gate_flags"}


def test_redacted_history_keeps_the_rows_but_not_the_number(tenant_a):
    call = make_call(tenant_a)
    call.category = "sales"
    call.save()
    restriction = ProcessingRestriction.objects.create(
        tenant=tenant_a, number=NUMBER, kind="restriction"
    )
    call_pk, restriction_pk = call.pk, restriction.pk
    call.delete()
    restriction.delete()
    assert residual_scan([NUMBER], tenant_id=tenant_a.pk)  # history still has it
    redact_history(
        Call, [call_pk], fields=["caller", "callee", "external_id"], note="erased under request 7"
    )
    redact_history(
        ProcessingRestriction,
        [restriction_pk],
        fields=["number", "reason"],
        note="erased under request 7",
    )
    assert residual_scan([NUMBER], tenant_id=tenant_a.pk) == []
    rows = Call.history.model.objects.filter(id=call_pk).order_by("history_date")
    assert [r.history_type for r in rows] == ["+", "~", "-"]
    assert {r.caller for r in rows} == {REDACTED}
    assert {r.history_change_reason for r in rows} == {"erased under request 7"}


def test_fingerprint_is_keyed_and_stable(settings):
    settings.TOMBSTONE_KEY = "k1"
    first = number_fingerprint(NUMBER)
    assert first == number_fingerprint(NUMBER)
    assert NUMBER.lstrip("+") not in first
    settings.TOMBSTONE_KEY = "k2"
    assert number_fingerprint(NUMBER) != first
