"""Request-wide middleware: request ids for logs, and the API body-size limit."""

from __future__ import annotations

import io
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from kiosk_project.core import logging as klog
from kiosk_project.core.exception_handler import envelope
from kiosk_project.core.wsgi_fastpath import request_id as new_request_id


class RequestContextMiddleware:
    """Give every request an id (the caller's X-Request-ID if sane) and log with it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.META.get("HTTP_X_REQUEST_ID", ""))
        request.request_id = request_id  # type: ignore[attr-defined]
        with klog.log_context(request_id=request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class ApiBodyLimitMiddleware:
    """Refuse oversized request bodies before anything reads them (413 in the envelope).

    Every path but the admin (whose forms Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    bounds): the kiosk API, the three webhooks, anything added later.
    * With Content-Length: compared up front, nothing is read.
    * Without one (`Transfer-Encoding: chunked`): the WSGI server must have
      de-chunked the stream (gunicorn does, and says so with
      `wsgi.input_terminated`). We read at most limit + 1 bytes, refuse beyond
      the limit, and hand Django what we read with its length; Django alone
      would read such a body as empty. A chunked body the server did not
      de-chunk is refused with 411.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.limit = settings.API_MAX_BODY_BYTES

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/admin/"):
            return self.get_response(request)
        meta = request.META
        declared = meta.get("CONTENT_LENGTH")
        if declared:
            try:
                length = int(declared)
            except ValueError:
                return _error(400, "BAD_REQUEST", "Content-Length is not a number.")
            if length > self.limit:
                return too_large_response(self.limit)
        elif "chunked" in str(meta.get("HTTP_TRANSFER_ENCODING", "")).lower():
            if not meta.get("wsgi.input_terminated"):
                return _error(411, "LENGTH_REQUIRED", "Send a Content-Length with the body.")
            body = meta["wsgi.input"].read(self.limit + 1)
            if len(body) > self.limit:
                return too_large_response(self.limit)
            request._stream = io.BytesIO(body)  # type: ignore[attr-defined]  # where Django reads bodies from
            meta["CONTENT_LENGTH"] = str(len(body))
        return self.get_response(request)


def _error(status: int, code: str, message: str, details: dict | None = None) -> JsonResponse:
    return JsonResponse(envelope(code, message, details), status=status)


def too_large_response(limit: int) -> JsonResponse:
    return _error(413, "PAYLOAD_TOO_LARGE", f"Request bodies are limited to {limit} bytes.", {"limit": limit})
