"""The status poll, answered in WSGI before Django's handler.

Every waiting kiosk polls `GET /api/v1/orders/{id}/status` every 3 s. Through
Django a poll costs about six times a bare WSGI answer, and a 304 saves almost
nothing (middleware, URL resolution, DRF, a query). This wrapper answers from
the order's copy in Redis (payments/status_cache.py: rebuilt on every change)
after the same checks the view makes: the kiosk key (from this process's memory
only, kiosk_project.core.kiosk_auth.kiosk_for_key_cached) and that the order is
this kiosk's. A copy this process served before is answered from its memory
without a round trip while it hears every change (payments/status_local.py).
The answer is the view's byte for byte, headers included
(payments/tests/test_status_fastpath.py holds the two side by side).

Anything unusual goes to Django unchanged: another method or path, a query
string, an id not in canonical form, no or an unknown key, an order of another
kiosk (Django answers its 404), no copy, Redis trouble, a bad Host or a needed
HTTPS redirect. Django's answer to a poll then fills the copy.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from kiosk_project.core import wsgi_fastpath as fast
from kiosk_project.core.kiosk_auth import generation_cache_key, generation_decode, kiosk_for_key_cached
from kiosk_project.core.wsgi_fastpath import StartResponse, WSGIApp
from payments import status_cache
from payments.status_local import LocalCopies, local_copies

log = logging.getLogger(__name__)
_PLAIN_ACCEPT = frozenset({"*/*", "application/json", "application/json, */*", "application/json, text/plain, */*"})
_PATH = re.compile(r"/api/v1/orders/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/status")


class StatusFastPath:
    def __init__(self, app: WSGIApp, *, copies: LocalCopies | None = None) -> None:
        self.app = app
        # Copies in this process's memory (payments/status_local.py), unless STATUS_LOCAL_COPIES is 0.
        self.copies = copies if copies is not None else local_copies

    def _copy(self, environ: dict[str, Any]) -> status_cache.CachedStatus | None:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
            return None
        # What DRF would negotiate differently (406, an indented body) and a body Django's middleware would refuse.
        if environ.get("HTTP_ACCEPT", "*/*") not in _PLAIN_ACCEPT or "HTTP_TRANSFER_ENCODING" in environ \
                or environ.get("CONTENT_LENGTH", "0") not in ("", "0"):
            return None
        match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or not status_cache.enabled() or not fast.django_would_serve(environ):
            return None
        scheme, _, key = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme != "Kiosk" or not key:
            return None
        order_id = match.group(1)
        local = self.copies if settings.STATUS_LOCAL_COPIES else None
        copy = local.get(order_id) if local else None
        if copy is not None:  # held in memory, and this process hears every change: no round trip
            generation = local.generation()  # type: ignore[union-attr]
        else:
            token = self.copies.token()
            try:  # the kiosk keys' shared generation and the copy in one round trip
                raw, copy = status_cache.read_with(generation_cache_key(), order_id)
            except Exception:  # Redis trouble: Django answers from the database
                return None
            if copy is None:
                return None
            generation = generation_decode(raw)
            if local:
                local.keep(order_id, copy, token)
        kiosk = kiosk_for_key_cached(key.strip(), generation)
        return copy if kiosk is not None and copy.device_id == kiosk.id else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            copy = self._copy(environ)
            etag, body = copy.version(time.time()) if copy is not None else ("", b"")
        except Exception:  # a copy this code cannot read: Django answers (and the next change replaces it)
            log.warning("status copy unreadable; answering through Django", exc_info=True)
            copy = None
        if copy is None:
            return self.app(environ, start_response)
        # The headers of the view's answer (payments.order_apis._status_response) and the middleware's.
        headers = [("ETag", etag), ("Cache-Control", "no-cache"),
                   ("Allow", "GET, HEAD, OPTIONS"), *fast.security_headers(),
                   ("X-Request-ID", fast.request_id(environ.get("HTTP_X_REQUEST_ID", "")))]
        if fast.etag_matches(environ.get("HTTP_IF_NONE_MATCH", ""), etag):
            start_response("304 Not Modified", [("Content-Length", "0"), *headers])
            return []
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                  *headers])
        return [body]
