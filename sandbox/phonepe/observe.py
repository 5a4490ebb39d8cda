"""Fault injection and request accounting for the PhonePe sandbox."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

FAULT_MODES = ("error", "timeout", "slow", "drop", "rate_limit")
FAULT_ROUTES = ("pay", "status", "refund", "token")
# A "timeout" hangs longer than any sane client timeout; "slow" answers late but correctly.
DEFAULT_FAULT_DELAY = {"timeout": 10.0, "slow": 2.0}


@dataclass
class Fault:
    mode: str
    remaining: int | None  # None: until cleared
    delay: float
    routes: frozenset[str]

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "remaining": self.remaining, "delay": self.delay,
                "routes": sorted(self.routes)}


class FaultError(ValueError):
    pass


class FaultPlan:
    """At most one active fault: "PhonePe is down/slow for the next N requests"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fault: Fault | None = None
        self.injected: Counter[str] = Counter()

    def set(self, mode: str, count: int | None = 1, delay: float | None = None,
            routes: list[str] | None = None) -> Fault:
        if mode not in FAULT_MODES:
            raise FaultError(f"mode must be one of {', '.join(FAULT_MODES)}")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise FaultError("count must be a positive integer, or null for 'until cleared'")
        delay = DEFAULT_FAULT_DELAY.get(mode, 0.0) if delay is None else delay
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            raise FaultError("delay must be a number of seconds >= 0")
        chosen = frozenset(routes or FAULT_ROUTES)
        if not chosen <= set(FAULT_ROUTES):
            raise FaultError(f"routes must be a subset of {', '.join(FAULT_ROUTES)}")
        fault = Fault(mode, count, float(delay), chosen)
        with self._lock:
            self._fault = fault
        return fault

    def clear(self) -> None:
        with self._lock:
            self._fault = None

    def active(self) -> Fault | None:
        with self._lock:
            return self._fault

    def take(self, route_group: str | None) -> Fault | None:
        """Consume one fault for a request to `route_group`, if one applies."""
        with self._lock:
            fault = self._fault
            if fault is None or route_group not in fault.routes:
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._fault = None
            self.injected[fault.mode] += 1
            return Fault(fault.mode, fault.remaining, fault.delay, fault.routes)

    def reset(self) -> None:
        with self._lock:
            self._fault = None
            self.injected.clear()


class Stats:
    """What the sandbox received: per-route counts and statuses, auth failures, recent requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: Counter[str] = Counter()
            self.statuses: dict[str, Counter[int]] = {}
            self.auth_failures: Counter[str] = Counter()
            self.recent_auth_failures: deque[dict[str, Any]] = deque(maxlen=50)
            self.recent: deque[dict[str, Any]] = deque(maxlen=200)

    def record(self, route: str, method: str, path: str, status: int | None, body: Any) -> None:
        entry = {"at": time.time(), "route": route, "method": method, "path": path, "status": status}
        with self._lock:
            self.requests[route] += 1
            self.statuses.setdefault(route, Counter())[status or 0] += 1
            self.recent.append(entry)
            if status == 401:
                code = body.get("errorCode") or body.get("code") if isinstance(body, dict) else None
                self.auth_failures[route] += 1
                self.recent_auth_failures.append({**entry, "code": code,
                                                  "message": body.get("message") if isinstance(body, dict)
                                                  else None})

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "statuses": {route: {str(k): v for k, v in c.items()} for route, c in self.statuses.items()},
                "auth_failures": {
                    "total": sum(self.auth_failures.values()),
                    "by_route": dict(self.auth_failures),
                    "recent": list(self.recent_auth_failures),
                },
                "recent_requests": list(self.recent),
            }
