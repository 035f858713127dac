"""OpenAPI: the API key scheme, and the one error shape documented on every operation."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`, as printed once by `manage.py create_api_key` or "
            "shown once in the dashboard.",
        }


ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "The one error shape of every API error (`portal.api.exceptions`).",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Machine-readable, e.g. `invalid`."},
                "message": {"type": "string", "description": "Names the field, if there is one."},
                "fields": {
                    "type": "object",
                    "description": 'Messages per field path, e.g. `{"calls.3.caller": [...]}`.',
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

# Status codes any operation can answer, and those that depend on what it takes.
ERRORS_EVERYWHERE = {
    "400": "Invalid input (the fields named), or a business rule refused it.",
    "401": "No or an unknown API key.",
    "403": "The key's or user's role may not do this.",
    "404": "Not found (or another tenant's).",
    "405": "Method not allowed.",
    "406": "The requested media type cannot be produced.",
    "429": "Too many requests; see `Retry-After`.",
}
ERRORS_WITH_BODY = {
    "413": "The request body is too large.",
    "415": "Unsupported media type of the request body.",
}
ERRORS_ON_WRITE = {
    "409": "Conflict with the object's state or a concurrent change.",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: the error shape, as a component, on every operation's errors.

    Explicitly documented error responses keep their description and get the shape too.
    """
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            errors = dict(ERRORS_EVERYWHERE)
            if "requestBody" in operation:
                errors.update(ERRORS_WITH_BODY)
            if method in WRITE_METHODS:
                errors.update(ERRORS_ON_WRITE)
            responses = operation["responses"]
            for code, description in errors.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if not code.startswith(("4", "5")):
                    continue
                content = response.setdefault("content", {})
                if not content or "application/json" in content:
                    content["application/json"] = {"schema": ref}
    return result
