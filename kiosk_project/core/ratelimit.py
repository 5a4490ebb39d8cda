"""Rate limits shared by every web process through the cache (Redis): per kiosk, per client address.

A fixed one-minute window per identity and scope: INCR on a key that expires with
its window. Cheap (one round trip) and good enough to stop a stuck or hostile
kiosk; it fails open if Redis is down, because refusing every order during a
Redis outage would be worse than not limiting for a while.
"""

from __future__ import annotations

import time

from django.core.cache import cache

from kiosk_project.core import metrics
from kiosk_project.core.errors import ApplicationError


class RateLimited(ApplicationError):
    code = "RATE_LIMITED"

    retry_after: int  # always known for a rate limit

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, details={"retry_after": retry_after}, retry_after=retry_after)


def _window(scope: str, ident: str | int, window: int) -> tuple[str, int]:
    """The counter's key for the current window, and the seconds until the next one."""
    now = int(time.time())
    bucket = now // window
    return f"rl:{scope}:{ident}:{bucket}", max(1, (bucket + 1) * window - now)


def check_rate(*, scope: str, ident: str | int, limit: int, window: int = 60) -> None:
    """Count one event; raise RateLimited when this window's count passes `limit`."""
    if limit <= 0:
        return
    key, retry_after = _window(scope, ident, window)
    try:
        count = 1 if cache.add(key, 1, timeout=window + 1) else cache.incr(key)
    except Exception:
        return
    if count > limit:
        metrics.incr(f"ratelimit.{scope}")
        raise RateLimited(retry_after=retry_after)


def rate_exceeded(*, scope: str, ident: str | int, limit: int, window: int = 60) -> int | None:
    """Seconds to wait if this window's count is already at `limit` (counting nothing), else None."""
    if limit <= 0:
        return None
    key, retry_after = _window(scope, ident, window)
    try:
        count = cache.get(key) or 0
    except Exception:
        return None
    return retry_after if int(count) >= limit else None
