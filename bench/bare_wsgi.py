"""Scenario (b): the practical limit. A bare WSGI app that returns the menu's exact bytes and headers.

    BENCH_BARE_SOURCE_URL=http://127.0.0.1:PORT/api/v1/catalog gunicorn bench.bare_wsgi:application ...

BENCH_BARE_SOURCE_AUTH, when set, is sent as the Authorization header of that
one fetch (bench.capacity copies an order's status answer this way).

Each worker fetches the real API's answer once at import (the same body, the
same headers, minus what gunicorn sets itself) and then answers every request
with it: no Django, no Redis, nothing but gunicorn and a list of headers.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

# Set by the server itself, or per connection.
_SKIP = {"date", "server", "connection", "keep-alive", "transfer-encoding"}


def _fetch(url: str) -> tuple[list[tuple[str, str]], bytes]:
    if not url.startswith("http://127.0.0.1:"):
        raise RuntimeError("BENCH_BARE_SOURCE_URL must be a http://127.0.0.1:PORT/... URL")
    auth = os.environ.get("BENCH_BARE_SOURCE_AUTH", "")
    req = urllib.request.Request(url, headers={"Authorization": auth} if auth else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = resp.read()
        headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in _SKIP]
    if not any(k.lower() == "content-length" for k, _ in headers):
        headers.append(("Content-Length", str(len(body))))
    return headers, body


HEADERS, BODY = _fetch(os.environ.get("BENCH_BARE_SOURCE_URL", ""))
_CHUNKS = [BODY]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return _CHUNKS
