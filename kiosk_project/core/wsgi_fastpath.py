"""What every WSGI fast path shares (the menu's, catalog/fastpath.py; the status poll's, payments/status_fastpath.py).

A fast path answers a hot request before Django's handler, so it must first make
the checks Django would have made on the way in (the Host header, the HTTPS
redirect) and then add the headers Django's middleware would have added on the
way out; each fast path's tests hold its answers side by side with Django's.
"""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match semantics: any listed tag (weak or strong) or `*` matches."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


class _RequestIds:
    """New request ids: 16 hex digits drawn at random once per process, then a counter.

    uuid4() reads the kernel's randomness on every call, which was half of what the status fast
    path spent per poll (py-spy under gunicorn, docs/performance.md); ids only need to be unique.
    """

    def __init__(self) -> None:
        # One tuple, replaced whole: a thread never pairs one prefix with another prefix's counter.
        self._state: tuple[int, str, Iterator[int]] = (-1, "", itertools.count())

    def new(self) -> str:
        pid, prefix, counter = self._state
        if pid != os.getpid():  # first use, or a forked child: its own random prefix
            pid, prefix, counter = self._state = (os.getpid(), uuid.uuid4().hex[:16], itertools.count())
        return f"{prefix}{next(counter):016x}"


_ids = _RequestIds()


def request_id(incoming: str) -> str:
    """The caller's X-Request-ID when it is sane, else a new one (the same rule as RequestContextMiddleware)."""
    return incoming if incoming and _SAFE_ID.match(incoming) else _ids.new()


def django_would_serve(environ: dict[str, Any]) -> bool:
    """False when Django would answer something else first: a redirect to HTTPS, or 400 for a bad Host."""
    if settings.SECURE_SSL_REDIRECT and environ.get("wsgi.url_scheme") != "https":
        return False
    host, _port = split_domain_port(environ.get("HTTP_HOST", ""))
    return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)


def security_headers() -> list[tuple[str, str]]:
    """The headers SecurityMiddleware and XFrameOptionsMiddleware add, from the same settings."""
    headers = []
    if settings.X_FRAME_OPTIONS:
        headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append(("Referrer-Policy", settings.SECURE_REFERRER_POLICY))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    return headers
