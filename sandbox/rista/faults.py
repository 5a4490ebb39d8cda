"""Injected misbehaviour for the Rista sandbox's /v1 routes.

A queue of rules, each good for the next `count` matching authenticated
requests. They let tests and demos produce the failures the kiosk must
survive: errors, read timeouts, garbage bodies, dropped connections, and the
nastiest one for exactly-once delivery, a sale that was stored although the
client saw a failure (`store_then_error`).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.httpkit import HttpError, Response

# Request kinds, used both as stats counters and as fault `routes` names.
ROUTE_KINDS = ("catalog", "soldout", "branch_list", "sale_post", "sale_get", "sale_status")

MODES = ("error", "timeout", "slow", "malformed", "drop", "store_then_error")

DEFAULT_DELAY = {"timeout": 10.0, "slow": 2.0, "store_then_error": 0.0}

# Default routes per mode. `store_then_error` only means something for
# POST /sale; defaulting it to every route would let a background catalog
# refresh consume the rule meant for the sale.
DEFAULT_ROUTES = {"store_then_error": ("sale_post",)}

_HTML_PAGE = (
    "<!doctype html><html><head><title>502 Bad Gateway</title></head><body>upstream error</body></html>"
)


@dataclass
class FaultRule:
    mode: str
    remaining: int
    delay: float
    routes: tuple[str, ...]
    status: int
    body: Any = None
    content_type: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bad(message: str) -> HttpError:
    return HttpError(400, {"message": message})


def _number(spec: dict[str, Any], key: str, default: float) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise _bad(f"'{key}' must be a non-negative number")
    return float(value)


def parse_fault(spec: Any) -> FaultRule:
    """Validate a POST /_control/faults body into a FaultRule (400 if invalid)."""
    if not isinstance(spec, dict):
        raise _bad("body must be a JSON object")
    mode = spec.get("mode")
    if mode not in MODES:
        raise _bad(f"'mode' must be one of {', '.join(MODES)}")
    count = spec.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise _bad("'count' must be a positive integer")
    routes = spec.get("routes") or DEFAULT_ROUTES.get(mode, ROUTE_KINDS)
    if not isinstance(routes, (list, tuple)) or any(r not in ROUTE_KINDS for r in routes):
        raise _bad(f"'routes' must be a list of: {', '.join(ROUTE_KINDS)}")
    status = spec.get("status", 500)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise _bad("'status' must be an HTTP status code")
    content_type = spec.get("content_type")
    if content_type is not None and not isinstance(content_type, str):
        raise _bad("'content_type' must be a string")
    return FaultRule(
        mode=mode,
        remaining=count,
        delay=_number(spec, "delay", DEFAULT_DELAY.get(mode, 0.0)),
        routes=tuple(routes),
        status=status,
        body=spec.get("body"),
        content_type=content_type,
    )


class FaultQueue:
    """Rules in arrival order; the first rule matching a route serves it."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._malformed_turn = 0

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> int:
        """Drop all rules (and restart the malformed cycle); returns how many were pending."""
        with self._lock:
            n = len(self._rules)
            self._rules.clear()
            self._malformed_turn = 0
            return n

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.as_dict() for r in self._rules]

    def take(self, kind: str) -> FaultRule | None:
        """Consume one use of the first rule matching `kind`, if any."""
        with self._lock:
            for rule in self._rules:
                if kind in rule.routes:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def malformed_response(self, rule: FaultRule) -> Response:
        """A 200 whose body a client cannot use.

        With an explicit `body` it is sent exactly (str/bytes raw, anything else
        as JSON); otherwise successive calls cycle through the shapes a broken
        proxy or API change would produce.
        """
        if rule.body is not None:
            return Response(200, rule.body, content_type=rule.content_type or "application/json")
        with self._lock:
            turn = self._malformed_turn
            self._malformed_turn += 1
        variants = [
            Response(200, b"null"),
            Response(200, _HTML_PAGE, content_type="text/html; charset=utf-8"),
            Response(200, {"items": "oops"}),
            Response(200, {"categories": [], "taxTypes": [], "message": "no items key"}),
        ]
        return variants[turn % len(variants)]
