"""HTTP sessions for calling third parties: pooled, no hidden retries, always a timeout."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter


class TimeoutSession(requests.Session):
    """A session that refuses to make a request without a (connect, read) timeout."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]


def build_session(*, timeout: tuple[float, float], pool_size: int = 20, user_agent: str = "kiosk-backend/1.0"
                  ) -> TimeoutSession:
    """A pooled session. Retries are the caller's decision (idempotency differs per call)."""
    session = TimeoutSession(timeout)
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session
