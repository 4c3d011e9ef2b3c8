"""The one JSON error format of both services, and the one place that makes it.

Every error body is ``{"error": {"code": str, "message": str, "details": dict}}``, built by :func:`error_body`.

Services and selectors raise :class:`DomainError` subclasses: plain exceptions that say what happened
(``UnknownSticker``, ``ModelMismatch``, ...). Each subclass names the answer it becomes at the API edge
(``code``, ``status_code``); :func:`exception_handler`, DRF's ``EXCEPTION_HANDLER`` in both services, is the
one place that turns them (and DRF's, Django's and database errors) into that format.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger("servicekit.errors")


class DomainError(Exception):
    """Base of the services' domain exceptions: something the caller asked for cannot be done.

    ``message`` says what happened (also ``str(exc)``); ``details`` is extra data for the caller. A subclass
    sets the machine-readable ``code`` and the HTTP ``status_code`` of its answer.
    """

    code: str = "bad_request"
    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ApiError(exceptions.APIException):
    """An error the API edge itself raises (a parser, the exception handler), with a stable ``code``."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "Bad request."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=message or self.default_detail, code=code or self.default_code)
        if status_code is not None:
            self.status_code = status_code
        self.error_code = code or self.default_code
        self.message = message or str(self.default_detail)
        self.details = details or {}
        self.headers = headers or {}


SERVICE_UNAVAILABLE_MESSAGE = "A service this request needs is unavailable; try again shortly."


class ServiceUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = SERVICE_UNAVAILABLE_MESSAGE


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def json_error_response(
    code: str, message: str, status_code: int, details: dict[str, Any] | None = None
) -> JsonResponse:
    """A plain Django response with the error body (for code outside DRF views: middleware, handlers)."""
    return JsonResponse(error_body(code, message, details), status=status_code)


# DRF exception class -> (code, message) used when the exception carries no message of its own.
_DRF_CODES: list[tuple[type[exceptions.APIException], str, str]] = [
    (exceptions.ValidationError, "invalid_request", "The request is invalid; see details."),
    (exceptions.ParseError, "malformed_request", "The request body could not be parsed."),
    (exceptions.NotAuthenticated, "not_authenticated", "Authentication credentials were not provided."),
    (exceptions.AuthenticationFailed, "authentication_failed", "Invalid authentication credentials."),
    (exceptions.PermissionDenied, "permission_denied", "You do not have permission to do this."),
    (exceptions.NotFound, "not_found", "Not found."),
    (exceptions.MethodNotAllowed, "method_not_allowed", "Method not allowed."),
    (exceptions.NotAcceptable, "not_acceptable", "Cannot satisfy the request's Accept header."),
    (exceptions.UnsupportedMediaType, "unsupported_media_type", "Unsupported content type."),
    (exceptions.Throttled, "throttled", "Too many requests."),
]


DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly."


def is_database_unavailable(exc: BaseException | None) -> bool:
    """True for errors that mean the database cannot be reached right now (down, restarting, connection
    lost): callers get a 503 they may retry, not a 500. Django wraps psycopg's errors in these classes."""
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DatabaseError) and "connection" in str(exc).lower()
    )


def _throttle_wait(exc: exceptions.Throttled) -> float | None:
    # Throttled.__init__ sets ``wait``; djangorestframework-stubs does not declare it.
    return getattr(exc, "wait", None)


def _drf_error(exc: exceptions.APIException) -> tuple[str, str, dict[str, Any]]:
    if isinstance(exc, ApiError):
        return exc.error_code, exc.message, exc.details
    for cls, code, message in _DRF_CODES:
        if isinstance(exc, cls):
            if isinstance(exc, exceptions.ValidationError):
                detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
                return code, message, {"fields": detail}
            if isinstance(exc, exceptions.Throttled):
                wait = _throttle_wait(exc)
                return code, str(exc.detail), {"retry_after_seconds": wait and int(wait + 0.999)}
            return code, str(exc.detail) if exc.detail else message, {}
    return "error", str(exc.detail), {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF ``EXCEPTION_HANDLER``: every API error leaves in the one format; a database outage is a 503."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if is_database_unavailable(exc):
        logger.warning("database unavailable: %s", exc)
        exc = ServiceUnavailable(DATABASE_UNAVAILABLE_MESSAGE, code="database_unavailable")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, (DjangoPermissionDenied,)):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = ApiError("The request body is too large.", code="payload_too_large", status_code=413)
    elif isinstance(exc, SuspiciousOperation):
        exc = ApiError("The request was refused as suspicious.", code="bad_request")
    if not isinstance(exc, exceptions.APIException):
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
        return Response(
            error_body("internal_error", "An internal error occurred."), status=status.HTTP_500_INTERNAL_SERVER_ERROR
        )
    code, message, details = _drf_error(exc)
    headers = dict(getattr(exc, "headers", {}) or {})
    if auth_header := getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = auth_header
    if isinstance(exc, exceptions.Throttled) and (wait := _throttle_wait(exc)) is not None:
        headers["Retry-After"] = str(int(wait + 0.999))
    return Response(error_body(code, message, details), status=exc.status_code, headers=headers)


# Django's own handlers (outside DRF views): wired in each service's root urls.py.
def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error_response("bad_request", "Bad request.", 400)


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error_response("permission_denied", "Forbidden.", 403)


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error_response("not_found", f"No endpoint at {request.path}.", 404)


def handler500(request: HttpRequest) -> JsonResponse:
    """Uncaught errors outside DRF views (middleware, admin, plain Django views). Django calls this while
    handling the exception, so ``sys.exc_info()`` names it: a database outage is a 503 there too."""
    if is_database_unavailable(sys.exc_info()[1]):
        return json_error_response("database_unavailable", DATABASE_UNAVAILABLE_MESSAGE, 503)
    return json_error_response("internal_error", "An internal error occurred.", 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    return json_error_response("csrf_failed", f"CSRF verification failed: {reason}", 403)
