"""The one error type for business-rule violations.

Services raise ``BusinessRuleError``; the API's exception handler, the admin and the dashboard
turn it into a clean 4xx that names the problem (and the field, where there is one).
"""

from __future__ import annotations


class BusinessRuleError(Exception):
    def __init__(
        self,
        message: str,
        *,
        code: str = "rule_violation",
        field: str | None = None,
        status_code: int = 400,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.status_code = status_code
        self.fields = fields or ({field: [message]} if field else {})

    def __str__(self) -> str:
        return self.message


class NotPermitted(BusinessRuleError):
    """The actor may not do this (e.g. four-eyes, or a viewer trying to write)."""

    def __init__(self, message: str, *, code: str = "not_permitted") -> None:
        super().__init__(message, code=code, status_code=403)
