"""Domain errors, and the one error shape of the whole API.

Services and selectors raise the domain errors below; they know nothing of HTTP. The API layer
(`api_exception_handler`, and `http_status` for plain Django views) maps each class to a status:
`ApplicationError` 400 (bad input; its `PayloadTooLargeError` 413, an upload over its limit),
`NotFoundError` 404 (missing, or not the caller's: foreign ids look like missing ones), `ConflictError` 409 (the object's state forbids it now), `ForbiddenError`
403 (visible, but the caller may not do this). Every error response is
`{"error": {"code": ..., "message": ..., "fields": {...}}}`, with a message that names the problem;
services run in transactions, so nothing has been written.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """Base of the domain errors: a request that cannot be carried out as asked."""

    default_code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = fields or {}

    @property
    def status_code(self) -> int:
        return http_status(self)


class ApplicationError(DomainError):
    """Bad input: the request names something invalid (HTTP 400)."""


class PayloadTooLargeError(ApplicationError):
    """An upload over its size limit, refused while it was read (HTTP 413)."""

    default_code = "too_large"


class NotFoundError(DomainError):
    """No such object, or one the caller may not see (HTTP 404)."""

    default_code = "not_found"


class ConflictError(DomainError):
    """The object's current state does not allow this now (HTTP 409)."""

    default_code = "conflict"


class ForbiddenError(DomainError):
    """The caller sees the object but may not do this to it (HTTP 403)."""

    default_code = "forbidden"


_STATUS = {
    PayloadTooLargeError: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    NotFoundError: status.HTTP_404_NOT_FOUND,
    ConflictError: status.HTTP_409_CONFLICT,
    ForbiddenError: status.HTTP_403_FORBIDDEN,
}


def http_status(exc: DomainError) -> int:
    """The HTTP status of a domain error (for the API handler and for plain Django views)."""
    for cls, code in _STATUS.items():
        if isinstance(exc, cls):
            return code
    return status.HTTP_400_BAD_REQUEST


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            return inner if key in ("non_field_errors", "detail") else f"{key}: {inner}"
        return "Invalid input."
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid input."
    return str(detail)


def error_body(exc: DomainError) -> dict[str, Any]:
    """The API's error shape for a domain error (its status: `http_status`)."""
    return {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc), status=http_status(exc))
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        exc = exceptions.ValidationError(detail=fields or {"non_field_errors": exc.messages})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    fields = (
        detail if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict) else {}
    )
    code = getattr(exc, "default_code", "error")
    response.data = {"error": {"code": code, "message": _first_message(detail), "fields": fields}}
    return response
