"""The menu's hit path, answered in WSGI before Django's handler.

Every kiosk screen fetches the menu every few seconds; through Django the hit
costs ~1 ms of CPU, almost all of it framework (middleware, URL resolution,
DRF), against ~0.2 ms for the work itself (docs/performance.md). This wrapper
answers the common case from a per-process copy of the cached entry, re-read
from the cache at most every CATALOG_FAST_PATH_TTL seconds, and sends
everything else to Django unchanged: misses, ageing copies (so refresh-ahead
still happens), unknown channels, other methods, a required kiosk key, a bad
Host header, and any cache trouble. It adds the headers Django's middleware
would have added, derived from the same settings.

The menu is the kiosk's branch's (a key this process knows; an unknown one goes
to Django), else the one named by ``?branch=``, else KIOSK_BRANCH_CODE's, with
the branch's store status spliced in (catalog.menu_document). The branch comes
from memory or Redis only (kiosk_project.core.branches.branch_config_cached):
when it would need PostgreSQL, Django answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings

from catalog.menu_document import menu_document
from catalog.store import CachedCatalog, CacheDown, cache_read
from kiosk_project.core import wsgi_fastpath as fast
from kiosk_project.core.branches import BranchConfig, branch_config_cached
from kiosk_project.core.kiosk_auth import kiosk_for_key_cached
from kiosk_project.core.order_modes import order_mode_pricing
from kiosk_project.core.wsgi_fastpath import StartResponse, WSGIApp

PATH = "/api/v1/catalog"


def requested_channel(channel: str | None, order_mode: str | None, branch: BranchConfig) -> str | None:
    """The channel a menu request asks for: ``channel``, else its order mode's, else the branch's default.

    None when the branch does not serve that channel or take that order mode.
    """
    if not channel and order_mode:
        if order_mode not in branch.order_modes:
            return None
        channel = order_mode_pricing(order_mode, branch).channel
    channel = channel or branch.default_channel
    return channel if channel in branch.channels else None


class CatalogFastPath:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._copies: dict[tuple[str, str], tuple[float, CachedCatalog | None]] = {}

    def _entry(self, branch: str, channel: str) -> CachedCatalog | None:
        now = time.monotonic()
        held = self._copies.get((branch, channel))
        if held is None or held[0] <= now:
            with self._lock:
                held = self._copies.get((branch, channel))
                if held is None or held[0] <= now:
                    try:
                        entry = cache_read(branch, channel)
                    except CacheDown:
                        entry = None
                    held = (now + settings.CATALOG_FAST_PATH_TTL, entry)
                    self._copies[(branch, channel)] = held
        return held[1]

    def _branch(self, environ: dict[str, Any], params: dict[str, list[str]]) -> BranchConfig | None:
        header = environ.get("HTTP_AUTHORIZATION", "")
        if header:
            scheme, _, key = header.partition(" ")
            kiosk = kiosk_for_key_cached(key.strip()) if scheme == "Kiosk" else None
            return None if kiosk is None else branch_config_cached(kiosk.branch_code)
        code = (params.get("branch") or [settings.KIOSK_BRANCH_CODE])[0]
        return branch_config_cached(code)

    def _route(self, environ: dict[str, Any]) -> tuple[BranchConfig, str] | None:
        query = environ.get("QUERY_STRING", "")
        params = parse_qs(query) if query else {}
        branch = self._branch(environ, params)
        if branch is None:
            return None
        channel = requested_channel((params.get("channel") or [None])[0], (params.get("order_mode") or [None])[0],
                                    branch)
        return None if channel is None else (branch, channel)

    def _servable(self, environ: dict[str, Any]) -> bool:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("PATH_INFO") != PATH:
            return False
        if not settings.CATALOG_FAST_PATH_TTL or settings.CATALOG_REQUIRE_KIOSK_KEY:
            return False
        return fast.django_would_serve(environ)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self._servable(environ):
            route = self._route(environ)
            entry = self._entry(route[0].code, route[1]) if route else None
            if route and entry is not None and entry.age <= settings.CATALOG_REFRESH_AFTER:
                return self._answer(environ, start_response, entry, route[0])
        return self.app(environ, start_response)

    def _answer(self, environ: dict[str, Any], start_response: StartResponse,
                entry: CachedCatalog, branch: BranchConfig) -> Iterable[bytes]:
        # The headers Django's view and middleware give the same answer (catalog/tests/test_fastpath.py holds
        # the two side by side): DRF's Allow, Django's Content-Length (0 on a 304) and security headers.
        body, etag = menu_document(entry, branch.store_status())
        headers = [("ETag", etag), ("Cache-Control", "no-cache"), ("X-Catalog-Source", "cache"),
                   ("X-Catalog-Age", str(int(entry.age))),
                   ("X-Request-ID", fast.request_id(environ.get("HTTP_X_REQUEST_ID", ""))),
                   ("Vary", "Accept-Encoding, Authorization"), ("Allow", "GET, HEAD, OPTIONS"),
                   *fast.security_headers()]
        if fast.etag_matches(environ.get("HTTP_IF_NONE_MATCH", ""), etag):
            start_response("304 Not Modified", [("Content-Length", "0"), *headers])
            return []
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body))), *headers])
        return [body]
