"""The OpenAPI schema documents the one error shape on every operation."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

ERROR_REF = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_documents_its_errors_in_the_one_shape(schema):
    assert "error" in schema["components"]["schemas"]["Error"]["properties"]
    assert len(list(operations(schema))) >= 50
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        expected = {"400", "401", "403", "404", "429"}
        if "requestBody" in operation:
            expected |= {"413", "415"}
        if method in ("post", "put", "patch", "delete"):
            expected |= {"409"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for code, response in responses.items():
            if code.startswith("4"):
                schema_ref = response["content"]["application/json"]["schema"]["$ref"]
                assert schema_ref == ERROR_REF, (method, path, code)


def test_page_size_is_bounded_in_the_schema(schema):
    parameters = schema["paths"]["/api/v1/calls/"]["get"]["parameters"]
    [page_size] = [p for p in parameters if p["name"] == "page_size"]
    assert page_size["schema"]["minimum"] == 1 and page_size["schema"]["maximum"] == 500
