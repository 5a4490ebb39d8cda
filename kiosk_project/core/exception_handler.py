"""One handler turns every API failure into the error envelope.

Anticipated failures (ApplicationError, DRF's exceptions) carry their own code
and status. The database being unreachable (OperationalError, InterfaceError:
refused, timed out, reset, no answer by DB_QUERY_TIMEOUT) is an outage, not a
bug: 503 SERVICE_UNAVAILABLE with Retry-After, one warning line in the log. The
same translation covers views outside DRF and failures in middleware
(`DatabaseUnavailableMiddleware`, and the 500 handler). Anything else is a bug:
logged with its stack, answered with a generic 500 that reveals nothing.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from kiosk_project.core import metrics
from kiosk_project.core.error_codes import error_code
from kiosk_project.core.errors import ApplicationError, ServiceUnavailable

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER = 5  # seconds: PostgreSQL restarts and failovers take about that long


def is_database_outage(exc: BaseException | None) -> bool:
    return isinstance(exc, (OperationalError, InterfaceError))


def _database_outage(exc: BaseException, where: str) -> dict[str, Any]:
    metrics.incr("db.unavailable")
    log.warning("database unavailable: answering 503", extra={"where": where, "error": f"{type(exc).__name__}: "
                                                               f"{str(exc).strip()[:300]}"})
    return ServiceUnavailable().as_envelope()

_CODES_BY_STATUS = {
    400: "BAD_REQUEST",
    401: "NOT_AUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


def envelope(code: str, message: str | None = None, details: Any = None) -> dict[str, Any]:
    """The error body; the message defaults to the catalogue's for `code` (core.error_codes)."""
    return {"error": {"code": code, "message": message if message is not None else error_code(code).message,
                      "details": details if details is not None else {}}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        body, status = exc.as_envelope(), exc.status_code
        if exc.retry_after:
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, Http404):
        body, status = envelope("NOT_FOUND"), 404
    elif isinstance(exc, PermissionDenied):
        body, status = envelope("PERMISSION_DENIED"), 403
    elif isinstance(exc, drf.ValidationError):
        body, status = envelope("VALIDATION_ERROR", details=exc.detail), 400
    elif is_database_outage(exc):
        body, status = _database_outage(exc, context.get("view").__class__.__name__ if context else "?"), 503
        headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    elif isinstance(exc, drf.ParseError):
        body, status = envelope("MALFORMED_REQUEST", str(exc.detail)), 400
    elif isinstance(exc, drf.APIException):
        status = exc.status_code
        body = envelope(_CODES_BY_STATUS.get(status, "ERROR"), str(exc.detail))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    else:
        log.exception("unhandled error in %s", context.get("view").__class__.__name__ if context else "?")
        body, status = envelope("INTERNAL_ERROR"), 500
    set_rollback()
    return Response(body, status=status, headers=headers)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def json_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _is_api(request):  # the back office keeps Django's HTML pages
        return defaults.page_not_found(request, exception or Http404())
    return JsonResponse(envelope("NOT_FOUND"), status=404)


def database_outage_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    body = _database_outage(exc, request.path[:100])
    if request.path.startswith("/admin/"):
        response: HttpResponse = HttpResponse("The database is unavailable; try again in a moment.", status=503,
                                              content_type="text/plain; charset=utf-8")
    else:
        response = JsonResponse(body, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


class DatabaseUnavailableMiddleware:
    """503 for a database outage in a view outside DRF (health, admin); DRF views use the handler above."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return database_outage_response(request, exception) if is_database_outage(exception) else None


def json_500(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception, so it is still current: a database outage raised
    # in middleware (sessions, auth) is a 503 here too.
    current = sys.exc_info()[1]
    if is_database_outage(current):
        return database_outage_response(request, current)  # type: ignore[arg-type]
    if not _is_api(request):
        return defaults.server_error(request)
    return JsonResponse(envelope("INTERNAL_ERROR"), status=500)


def json_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _is_api(request):
        return defaults.bad_request(request, exception or Exception())
    return JsonResponse(envelope("BAD_REQUEST", "The request is invalid."), status=400)


def json_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _is_api(request):
        return defaults.permission_denied(request, exception or PermissionDenied())
    return JsonResponse(envelope("PERMISSION_DENIED"), status=403)
