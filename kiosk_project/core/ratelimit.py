"""Per-kiosk rate limits shared by every web process through the cache (Redis).

A fixed one-minute window per kiosk and scope: INCR on a key that expires with
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
    status_code = 429
    code = "RATE_LIMITED"
    message = "Too many requests from this kiosk; slow down."

    def __init__(self, retry_after: int) -> None:
        super().__init__(details={"retry_after": retry_after})
        self.retry_after = retry_after


def check_rate(*, scope: str, ident: str | int, limit: int, window: int = 60) -> None:
    if limit <= 0:
        return
    now = int(time.time())
    bucket = now // window
    key = f"rl:{scope}:{ident}:{bucket}"
    try:
        count = 1 if cache.add(key, 1, timeout=window + 1) else cache.incr(key)
    except Exception:
        return
    if count > limit:
        metrics.incr(f"ratelimit.{scope}")
        raise RateLimited(retry_after=max(1, (bucket + 1) * window - now))
