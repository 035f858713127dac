"""Every input bounded: bodies, nesting, NUL bytes, timestamps, numbers, templates, periods.

Each refusal is a 4xx in the one error shape, and nothing is written.
"""

from __future__ import annotations

import pytest

from calls.models import Call
from tests.calls.conftest import call_payload

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] and error["message"]
    if field is not None:
        assert field in error["fields"], error
    return error


def test_a_json_body_over_the_upload_limit_answers_413_in_the_error_shape(api_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    payload = call_payload(external_id="x" * 20_000)
    response = api_a.post("/api/v1/calls/", payload, format="json")
    error = assert_error_shape(response, 413)
    assert error["code"] == "too_large"
    assert not Call.objects.exists()


def test_a_multipart_body_over_the_upload_limit_answers_413_in_the_error_shape(
    api_a, settings, tenant_a
):
    from tests.factories import CallFactory

    call = CallFactory(tenant=tenant_a)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = api_a.put(
        f"/api/v1/calls/{call.pk}/recording/", {"duration_seconds": "1" * 5_000}, format="multipart"
    )
    assert_error_shape(response, 413)


def test_the_api_takes_json_bodies_only(api_a):
    response = api_a.post(
        "/api/v1/calls/", "external_id=x", content_type="application/x-www-form-urlencoded"
    )
    assert_error_shape(response, 415)


@pytest.mark.parametrize("path", ["/api/v1/calls/0.5/", "/api/v1/nothing-here/"])
def test_an_unknown_api_path_answers_404_in_the_error_shape(api_a, path):
    error = assert_error_shape(api_a.delete(path), 404)
    assert error["code"] == "not_found"


@pytest.mark.parametrize("page_size", ["null", "0", "501", "-1", "1.5", "٣"])
def test_a_page_size_that_is_not_1_to_500_is_refused(api_a, page_size):
    assert_error_shape(api_a.get(f"/api/v1/purposes/?page_size={page_size}"), 400, "page_size")


def test_deeply_nested_json_answers_400_not_500(api_a):
    body = '{"calls": ' + "[" * 50_000 + "]" * 50_000 + "}"
    response = api_a.generic("POST", "/api/v1/calls/batch/", body, content_type="application/json")
    error = assert_error_shape(response, 400)
    assert "nested" in error["message"]


def test_json_nested_just_past_the_limit_is_refused(api_a):
    from portal.api.parsers import MAX_JSON_DEPTH

    body = '{"purposes": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}"
    response = api_a.generic("POST", "/api/v1/calls/", body, content_type="application/json")
    assert_error_shape(response, 400)
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    "query",
    ["number=%2B4930%00123", "category=a%00b", "started_after=2024%00", "na%00me=1"],
)
def test_nul_bytes_in_query_parameters_answer_400(api_a, query):
    response = api_a.get(f"/api/v1/calls/?{query}")
    assert_error_shape(response, 400)


@pytest.mark.parametrize(
    "caller",
    [
        "0800-FLOWERS",  # no keypad conversion
        "+49 30 1234567 ext. 12",  # no extension silently dropped
        "+49301234567;ext=5",
        "+49 30 1234567#",
        "+４９ ３０ １２３４５６７",  # no full-width digits
        "112",
        "+49 112",
        "110",
        "911",
        "19222",  # a 5-digit short code
        "22222",
    ],
)
def test_numbers_with_letters_short_codes_and_emergency_numbers_are_refused(api_a, caller):
    response = api_a.post("/api/v1/calls/", call_payload(caller=caller), format="json")
    assert_error_shape(response, 400, "caller")
    assert not Call.objects.exists()


def test_us_emergency_number_is_refused_in_a_us_tenant():
    from portal.errors import BusinessRuleError
    from portal.numbers import normalize_number

    with pytest.raises(BusinessRuleError, match="emergency"):
        normalize_number("911", country="US")


@pytest.mark.parametrize(
    "written, e164",
    [
        ("030 1234567", "+49301234567"),
        ("+49 (0)30 1234567", "+49301234567"),
        ("0049 30-123 45 67", "+49301234567"),
        ("116117", "+49116117"),
    ],
)
def test_ordinary_written_numbers_are_still_read(written, e164):
    from portal.numbers import normalize_number

    assert normalize_number(written, country="DE") == e164


@pytest.mark.parametrize("field, days", [("max_age_days", 1_000_000), ("min_age_days", 36_501)])
def test_retention_periods_are_at_most_100_years(api_a, field, days):
    from calls.models import RetentionRule

    body = {"category": "sales", "max_age_days": 36_500, "legal_reference": "HGB § 257"}
    body[field] = days
    assert_error_shape(api_a.post("/api/v1/retention-rules/", body, format="json"), 400, field)
    assert not RetentionRule.objects.exists()


def test_a_retention_rule_of_100_years_is_accepted(api_a):
    body = {"category": "sales", "max_age_days": 36_500}
    assert api_a.post("/api/v1/retention-rules/", body, format="json").status_code == 201


def test_the_model_refuses_an_absurd_period_for_every_door(tenant_a):
    from django.core.exceptions import ValidationError

    from calls.models import RetentionRule

    with pytest.raises(ValidationError, match="36500"):
        RetentionRule(tenant=tenant_a, category="sales", max_age_days=1_000_000).full_clean()


def test_a_hold_lasts_at_most_100_years(api_a, tenant_a):
    from calls.models import LegalHold
    from tests.factories import CallFactory

    call = CallFactory(tenant=tenant_a)
    body = {
        "reason_category": "litigation",
        "reason": "Claim 12/2025",
        "calls": [call.pk],
        "expires_at": "2200-01-01T00:00:00Z",
    }
    assert_error_shape(api_a.post("/api/v1/holds/", body, format="json"), 400, "expires_at")
    assert not LegalHold.objects.exists()


@pytest.mark.parametrize(
    "started_at",
    [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59Z",
        "1999-12-31T23:59:59Z",
    ],
)
def test_call_timestamps_outside_a_sane_range_are_refused(api_a, started_at):
    payload = call_payload(started_at=started_at, ended_at=None)
    assert_error_shape(api_a.post("/api/v1/calls/", payload, format="json"), 400, "started_at")
    assert not Call.objects.exists()


@pytest.mark.parametrize("query", ["started_after=0001-01-01", "started_before=9999-12-31"])
def test_search_timestamps_outside_a_sane_range_are_refused(api_a, query):
    assert_error_shape(api_a.get(f"/api/v1/calls/?{query}"), 400)


@pytest.mark.parametrize(
    "template",
    [
        "{tenant} {url:>1000000}",
        "{tenant:*^999999} {url}",
        "{url!r}",
        "{tenant.__class__} {url}",
        "{purpose[0]} {url}",
        "{0} {url}",
        "{url} " + "x" * 1_600,
    ],
)
def test_sms_templates_that_pad_repeat_or_reach_into_objects_are_refused(api_a, tenant_a, template):
    response = api_a.patch("/api/v1/tenant/", {"sms_notice_template": template}, format="json")
    assert_error_shape(response, 400, "sms_notice_template")
    tenant_a.refresh_from_db()
    assert tenant_a.sms_notice_template != template


def test_a_stored_padding_template_is_not_sent(tenant_a):
    from consent.services import sms_notice_render
    from portal.errors import BusinessRuleError
    from tests.factories import PurposeFactory

    tenant_a.sms_notice_template = "{tenant} {url:>1000000}"
    tenant_a.save()
    purpose = PurposeFactory(tenant=tenant_a)

    class Notice:
        url = "https://example.com/p"

    with pytest.raises(BusinessRuleError) as raised:
        sms_notice_render(tenant=tenant_a, purpose=purpose, notice=Notice())
    assert raised.value.field == "sms_notice_template"


@pytest.mark.parametrize(
    "query, field",
    [
        ("direction=", "direction"),
        ("direction=inbound&direction=outbound", "direction"),
        ("category=", "category"),
        ("started_after=", "started_after"),
    ],
)
def test_empty_or_repeated_query_parameters_are_refused_not_ignored(api_a, query, field):
    assert_error_shape(api_a.get(f"/api/v1/calls/?{query}"), 400, field)


@pytest.mark.parametrize("value", ["null", "maybe", "2"])
def test_a_boolean_filter_refuses_what_is_not_a_boolean(api_a, value):
    assert_error_shape(api_a.get(f"/api/v1/breaches/?unacknowledged={value}"), 400)


def test_nul_characters_in_body_text_are_refused(api_a):
    from consent.models import Purpose

    body = {"code": "surveys", "description": "Surveys\x00", "default_lawful_basis": "consent"}
    assert_error_shape(api_a.post("/api/v1/purposes/", body, format="json"), 400, "description")
    assert not Purpose.objects.filter(code="surveys").exists()
