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
