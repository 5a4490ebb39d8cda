"""Counters for what can go wrong, shared by every web and worker process, never breaking what they count.

With Redis (REDIS_URL) the counters are fields of one hash: an increment is
`HINCRBY` plus `HSETNX reset_at <now>` in one round trip, so there is no name
index to lose or race on, and when Redis loses the hash (a restart without
persistence, a flush, a failover) the first increment afterwards stamps when
counting started again. /metrics exports that stamp as
`kiosk_metrics_reset_time_seconds`: Prometheus' rate() and increase() already
treat a drop as a reset, and the stamp shows one happened (and when) even if
the counters climbed past their old values between two scrapes.

Without Redis (embedded mode) the counters live in this process, and the reset
time is when it started.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

from django.core.cache import caches

log = logging.getLogger(__name__)

HASH = "metrics:v2"
RESET_FIELD = "_reset_at"
_WARN_EVERY = 30.0  # seconds between "not counted" warnings, so an outage does not flood the log


class _ProcessCounters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: Counter[str] = Counter()
        self.reset_at = time.time()


_local = _ProcessCounters()
_last_warning = 0.0


def _redis() -> tuple[Any, str] | None:
    """The raw Redis client and the hash's key when the cache is django-redis, else None."""
    backend = caches["default"]
    try:
        client = backend.client.get_client(write=True)  # type: ignore[attr-defined]  # django-redis only
    except AttributeError:
        return None
    return client, backend.make_key(HASH)


def _warn(name: str) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning > _WARN_EVERY:
        _last_warning = now
        log.warning("metrics not counted: Redis unavailable", extra={"metric": name})


def incr(name: str, amount: int = 1) -> None:
    redis = _redis()
    if redis is None:
        with _local.lock:
            _local.values[name] += amount
        return
    client, key = redis
    try:
        pipe = client.pipeline(transaction=False)
        pipe.hincrby(key, name, amount)
        pipe.hsetnx(key, RESET_FIELD, repr(time.time()))
        pipe.execute()
    except Exception:  # a dead Redis must not turn a counted failure into a second one
        _warn(name)


def _read() -> tuple[dict[str, int], float | None]:
    redis = _redis()
    if redis is None:
        with _local.lock:
            return dict(_local.values), _local.reset_at
    client, key = redis
    raw = client.hgetall(key)
    values = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
    reset = values.pop(RESET_FIELD, None)
    if reset is None:  # nothing counted since Redis lost the hash: say so from now on
        stamp = repr(time.time())
        reset = stamp if client.hsetnx(key, RESET_FIELD, stamp) else client.hget(key, RESET_FIELD)
    return {k: int(v) for k, v in values.items()}, float(reset)


def snapshot() -> dict[str, int]:
    try:
        return _read()[0]
    except Exception:
        return {}


def reset_time() -> float | None:
    """When counting (re)started: the epoch seconds stamped by the first increment after a reset."""
    try:
        return _read()[1]
    except Exception:
        return None


def get(name: str) -> int:
    redis = _redis()
    if redis is None:
        with _local.lock:
            return _local.values.get(name, 0)
    try:
        return int(redis[0].hget(redis[1], name) or 0)
    except Exception:
        return 0
