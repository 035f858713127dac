"""One JSON error shape for every API error.

``{"error": {"code": "...", "message": "...", "fields": {"field.path": ["message", ...]}}}``

Nested serializer errors (batch items, nested objects) are flattened into dotted paths such as
``calls.3.caller``, so a client can point at the exact bad item and field.
"""

from __future__ import annotations

from django.core.exceptions import (
    ObjectDoesNotExist,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from portal.api.parsers import payload_too_large
from portal.errors import BusinessRuleError


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, path))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            if detail:
                out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    out.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def error_response(code: str, message: str, http_status: int, fields=None, headers=None):
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return Response(body, status=http_status, headers=headers)


def _summary(fields: dict[str, list[str]]) -> str:
    path, messages = next(iter(fields.items()))
    if path == "non_field_errors":
        return messages[0]
    return f"{path}: {messages[0]}"


def exception_handler(exc, context):
    if isinstance(exc, BusinessRuleError):
        set_rollback()
        return error_response(exc.code, exc.message, exc.status_code, exc.fields)
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        fields = flatten_errors(detail)
        return error_response("validation_error", _summary(fields), 400, fields)
    if isinstance(exc, ProtectedError):
        set_rollback()
        return error_response(
            "protected",
            "This object is still referenced and cannot be deleted.",
            status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, IntegrityError):
        # Two writes raced past the service's checks (the same code created twice at once):
        # the database's constraint decided, the loser is told, nothing of it is kept.
        set_rollback()
        return error_response(
            "conflict",
            "A concurrent change conflicts with this request; read the current state and retry.",
            status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()  # deleted by a concurrent request after it was read
    elif isinstance(exc, RequestDataTooBig):
        # Django's own answer is an HTML page; a form body over DATA_UPLOAD_MAX_MEMORY_SIZE.
        exc = payload_too_large()
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        exc = exceptions.ParseError("The request has too many form fields or files.")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django log it and answer 500
    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        return error_response(
            "validation_error", _summary(fields), exc.status_code, fields, headers
        )
    detail = exc.detail
    message = str(detail) if not isinstance(detail, (dict, list)) else "Request refused."
    code = exc.get_codes() if not isinstance(detail, (dict, list)) else exc.default_code
    return error_response(str(code), message, exc.status_code, None, headers)
