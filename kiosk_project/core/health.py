"""GET /health (database, cache, broker) and GET /metrics (counters)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from kiosk_project.core import metrics


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was written")
    cache.delete(key)


def _check_broker() -> str | None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager (no broker configured)"
    from kiosk_project.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=0, timeout=1.0)
    return None


_CHECKS: dict[str, Callable[[], str | None]] = {
    "database": _check_database,  # type: ignore[dict-item]
    "cache": _check_cache,  # type: ignore[dict-item]
    "broker": _check_broker,
}


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    for name, check in _CHECKS.items():
        started = time.perf_counter()
        try:
            note = check()
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
            if note:
                results[name]["note"] = note
        except Exception as exc:
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
    healthy = all(r["ok"] for r in results.values())
    failed = [name for name, r in results.items() if not r["ok"]]
    return JsonResponse({"status": "ok" if healthy else "unavailable", "failed": failed, "checks": results},
                        status=200 if healthy else 503)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    lines = []
    for name, value in sorted(metrics.snapshot().items()):
        metric = "kiosk_" + name.replace(".", "_").replace("-", "_")
        lines.append(f"# TYPE {metric} counter\n{metric} {value}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")
