"""Calling a WSGI application directly, as gunicorn would (the fast paths' tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from wsgiref.util import setup_testing_defaults

from django.core.signals import request_finished, request_started
from django.db import close_old_connections

HOST = "kiosk.example.com"


class CountingDjango:
    """Django's WSGI application behind a fast path, counting the requests that reached it."""

    def __init__(self) -> None:
        from kiosk_project.wsgi import django_application

        self.app = django_application
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.calls += 1
        return self.app(environ, start_response)


def wsgi_call(app: Any, path: str, method: str = "GET", query: str = "",
              **headers: str) -> tuple[int, dict[str, str], bytes]:
    """One request: (status, headers, body). `headers` are WSGI environ keys (HTTP_AUTHORIZATION=...)."""
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
                               "HTTP_HOST": HOST, **headers}
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(response_headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def keep_test_connection() -> Iterator[None]:
    """Like Django's test client: a real WSGI request must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
