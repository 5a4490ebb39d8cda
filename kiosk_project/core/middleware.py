"""Request-wide middleware: request ids for logs, and the API body-size limit."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from kiosk_project.core import logging as klog

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    """Give every request an id (the caller's X-Request-ID if sane) and log with it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        with klog.log_context(request_id=request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class ApiBodyLimitMiddleware:
    """Refuse oversized API bodies before anything reads them (413 in the envelope)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.limit = settings.API_MAX_BODY_BYTES

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > self.limit:
                return too_large_response(self.limit)
        return self.get_response(request)


def too_large_response(limit: int) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": "PAYLOAD_TOO_LARGE", "message": f"Request bodies are limited to {limit} bytes.",
                   "details": {"limit": limit}}},
        status=413,
    )
