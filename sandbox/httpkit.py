"""A tiny threaded HTTP toolkit shared by the PhonePe and Rista sandboxes.

The sandboxes stand in for real third-party services, so they use only the
standard library plus PyJWT: they must start anywhere the project's
requirements are installed, and never import Django.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests

log = logging.getLogger("sandbox")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """Parse the body as JSON; raises HttpError(400) when it is not."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise HttpError(400, {"message": f"invalid JSON: {exc}"}) from exc

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}

    def json_or_form(self) -> Any:
        """The body as JSON, or an HTML form post's fields (empty ones dropped); None when empty.

        A body starting with "{" is JSON whatever the Content-Type says: `curl -d '{...}'`
        labels JSON as a form post. Lets the sandboxes' pages post plain HTML forms to the
        same /_control routes a test drives with JSON.
        """
        text = self.body.strip()
        if not text:
            return None
        is_form = "application/x-www-form-urlencoded" in self.headers.get("content-type", "")
        if is_form and not text.startswith(b"{"):
            return {k: v for k, v in self.form().items() if v != ""}
        return self.json()


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes/str -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encode(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        if self.body is None:
            return b""
        return json.dumps(self.body).encode()


def redirect_back(req: Request, message: str, default: str = "/") -> Response:
    """303 to the local page named by `?next=` (else `default`) with a one-line `msg`.

    What a page's form post gets instead of JSON, so the pages work without JavaScript.
    Only local paths are followed: never an open redirect.
    """
    target = req.query.get("next", default)
    if not target.startswith("/") or target.startswith("//"):
        target = default
    sep = "&" if "?" in target else "?"
    return Response(303, b"", headers={"Location": f"{target}{sep}msg={quote(message)}"},
                    content_type="text/plain")


class HttpError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


Handler = Callable[[Request], Response]


class Router:
    """Maps (method, path pattern) to handlers; `{name}` segments become params."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$"
        self._routes.append((method.upper(), re.compile(regex), handler))

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.add(method, pattern, fn)
            return fn

        return deco

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        allowed = False
        for m, regex, handler in self._routes:
            match = regex.match(path)
            if match:
                if m == method:
                    return handler, match.groupdict()
                allowed = True
        raise HttpError(405 if allowed else 404, {"message": f"no route for {method} {path}"})


class SandboxServer:
    """A ThreadingHTTPServer driven by a Router, startable in a background thread.

    Subclasses fill `self.router` and may override `before_dispatch` (fault
    injection, request counting).
    """

    name = "sandbox"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.router = Router()
        self.lock = threading.RLock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Belt and braces with the single write below: error pages that
                # http.server writes itself (400 on a garbled request line) also go
                # out at once.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("%s %s", outer.name, fmt % args)

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[0] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                try:
                    handler, params = outer.router.resolve(req.method, req.path)
                    req.params = params
                    resp = outer.before_dispatch(req) or handler(req)
                except HttpError as exc:
                    resp = Response(exc.status, exc.body)
                except Exception as exc:  # a sandbox bug must still answer
                    log.exception("%s handler crashed", outer.name)
                    resp = Response(500, {"message": f"sandbox error: {exc}"})
                if resp is None:  # the handler chose to drop the connection
                    self.close_connection = True
                    return
                self._write(resp)

            def _write(self, resp: Response) -> None:
                """Status line, headers and body in ONE write.

                BaseHTTPRequestHandler sends the headers and the body as two writes. On a
                reused keep-alive connection the second small segment then waits for the
                client's delayed ACK (Nagle's algorithm): about 40 ms added to every
                answer, which would inflate every latency measured through a sandbox.
                """
                data = resp.encode()
                self.log_request(resp.status)
                reason = self.responses.get(resp.status, ("",))[0]
                lines = [
                    f"{self.protocol_version} {resp.status} {reason}",
                    f"Server: {self.version_string()}",
                    f"Date: {self.date_time_string()}",
                    f"Content-Type: {resp.content_type}",
                    f"Content-Length: {len(data)}",
                    *(f"{k}: {v}" for k, v in resp.headers.items()),
                ]
                head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict")
                self.wfile.write(head + data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def before_dispatch(self, req: Request) -> Response | None:
        return None

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def post_json(url: str, body: Any, headers: dict[str, str] | None = None, timeout: float = 5.0) -> int | None:
    """Deliver a callback; returns the HTTP status or None when unreachable."""
    try:
        resp = requests.post(
            url,
            data=body if isinstance(body, (bytes, str)) else json.dumps(body),
            headers={"Content-Type": "application/json", **(headers or {})},
            timeout=timeout,
        )
        return resp.status_code
    except requests.RequestException as exc:
        log.warning("callback to %s failed: %s", url, exc)
        return None


def later(delay: float, fn: Callable[[], Any]) -> None:
    """Run fn after `delay` seconds on a daemon thread (delayed callbacks)."""

    def run() -> None:
        time.sleep(delay)
        fn()

    threading.Thread(target=run, daemon=True).start()
