"""Counters for what can go wrong, kept in the cache (Redis in production).

They are shared by every web and worker process, exported at /metrics in the
Prometheus text format, and never allowed to break the request that counts.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

log = logging.getLogger(__name__)

_PREFIX = "metric:"
_INDEX = "metric-names"
_TTL = None  # counters live until Redis is flushed


def incr(name: str, amount: int = 1) -> None:
    key = _PREFIX + name
    try:
        try:
            cache.incr(key, amount)
        except ValueError:  # first increment: the key does not exist yet
            if not cache.add(key, amount, timeout=_TTL):
                cache.incr(key, amount)
            names = cache.get(_INDEX) or []
            if name not in names:
                cache.set(_INDEX, sorted({*names, name}), timeout=_TTL)
    except Exception:  # a dead Redis must not turn a counted failure into a second one
        log.warning("metric %s not counted: cache unavailable", name)


def snapshot() -> dict[str, int]:
    try:
        names = cache.get(_INDEX) or []
        values = cache.get_many([_PREFIX + n for n in names])
    except Exception:
        return {}
    return {n: int(values.get(_PREFIX + n) or 0) for n in names}


def get(name: str) -> int:
    try:
        return int(cache.get(_PREFIX + name) or 0)
    except Exception:
        return 0
