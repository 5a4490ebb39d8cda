"""GET /health: each component's name and state, 503 when any is down; GET /health/ready: the same for
the components a load balancer should act on; GET /metrics (operators only).

/health is public (load balancers, docker compose, uptime checks), so it says
what is wrong, never why: the exception goes to the log with its detail, the
answer carries a state word.

    {"status": "ok" | "unavailable", "failed": ["database"],
     "checks": {"database": {"ok": false, "state": "down"}, "cache": {"ok": true, "state": "ok"}, ...}}

To add a component, add a function to CHECKS: it returns a Component (or None
for "ok") or raises (= "down"). A Component may carry a few public facts, e.g.
`Component(ok=False, state="late", facts={"oldest_s": 75})`; never exception text.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET

from kiosk_project.core import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Component:
    ok: bool = True
    state: str = "ok"  # a word: ok, down, eager, late, ...
    facts: Mapping[str, int | float | str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "state": self.state, **self.facts}


DOWN = Component(ok=False, state="down")


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> Component | None:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        log.warning("health: the cache did not return what was written")
        return DOWN
    cache.delete(key)
    return None


def _check_broker() -> Component | None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return Component(state="eager")  # no broker configured: tasks run in-process (make run)
    from kiosk_project.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=0, timeout=1.0)
    return None


def _check_kitchen() -> Component | None:
    """Paid orders waiting too long for the kitchen (HEALTH_KITCHEN_CHECK, e.g. kds_bridge.health).

    Here, in the web process, rather than on the worker whose failure it must reveal.
    """
    return import_string(settings.HEALTH_KITCHEN_CHECK)() if settings.HEALTH_KITCHEN_CHECK else None


CHECKS: dict[str, Callable[[], Component | None]] = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
    "kitchen": _check_kitchen,
}


# What a load balancer or orchestrator should act on: can this web process serve? A late kitchen or a
# down broker is the operators' problem (GET /health fails and alerts), not a reason to pull every web
# server out of rotation: the menu, checkout and the kitchen outbox keep working without them.
READINESS = ("database", "cache")


def component_states(names: tuple[str, ...] | None = None) -> dict[str, Component]:
    states = {}
    for name, check in CHECKS.items():
        if names is not None and name not in names:
            continue
        try:
            states[name] = check() or Component()
        except Exception as exc:
            log.warning("health check failed", extra={"component": name,
                                                      "error": f"{type(exc).__name__}: {str(exc)[:300]}"})
            states[name] = DOWN
    return states


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Everything, for monitoring: 503 when any component is down, the broker unreachable or the kitchen late."""
    return _answer(component_states())


@require_GET
def health_ready(request: HttpRequest) -> JsonResponse:
    """Readiness of this web process, for load balancers and compose: the database and the cache only."""
    return _answer(component_states(READINESS))


def _answer(states: dict[str, Component]) -> JsonResponse:
    failed = [name for name, state in states.items() if not state.ok]
    return JsonResponse({"status": "unavailable" if failed else "ok", "failed": failed,
                         "checks": {name: state.as_dict() for name, state in states.items()}},
                        status=503 if failed else 200)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    lines = []
    for name, value in sorted(metrics.snapshot().items()):
        metric = "kiosk_" + name.replace(".", "_").replace("-", "_")
        lines.append(f"# TYPE {metric} counter\n{metric} {value}")
    reset = metrics.reset_time()
    if reset is not None:
        lines.append("# HELP kiosk_metrics_reset_time_seconds When the counters last started from zero.\n"
                     f"# TYPE kiosk_metrics_reset_time_seconds gauge\nkiosk_metrics_reset_time_seconds {reset:.3f}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")
