"""`make bench-profile`: where each hot path's CPU goes, ours against the framework's, from cProfile.

bench.capacity says how much CPU a path costs against its floor; this says why.
Each path runs N times in-process through Django's full handler (the test
client: every middleware, URL resolution, DRF) against real PostgreSQL, Redis
and the two sandboxes over HTTP, under cProfile with a CPU clock (time in
sockets and sleeps is not counted). Each function's own time goes to the bucket
of the file it lives in:

  ours         this repository's apps (kiosk_project, catalog, orders, payments, kds_bridge)
  django       Django, DRF, drf-spectacular
  db driver    psycopg, django-redis, redis-py
  http client  requests, urllib3
  libraries    every other installed package (segno, celery, kombu, ...)
  python       the standard library and builtins (json, uuid, re, ...; also what ours calls)

It runs as pytest (for the suite's fixtures: the sandboxes, a kiosk, a menu),
but it is not part of the suite (make test never collects bench/). Knob:
BENCH_PROFILE_N (requests per path, default 200),
BENCH_PROFILE_TOP (our functions listed per path, 8), BENCH_PROFILE_SQL=1 (list each path's statements).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

ROOT = Path(__file__).resolve().parent.parent
OURS = tuple(str(ROOT / name) for name in ("kiosk_project", "catalog", "orders", "payments", "kds_bridge"))
N = int(os.environ.get("BENCH_PROFILE_N", "200"))
TOP = int(os.environ.get("BENCH_PROFILE_TOP", "8"))
CART = {"items": [{"item_sku_id": "1", "quantity": 2}, {"item_sku_id": "9", "quantity": 1}], "order_mode": "takeaway"}
BUCKETS = ("ours", "django", "db driver", "http client", "libraries", "python")
RESULTS: dict[str, dict[str, Any]] = {}

pytestmark = pytest.mark.django_db(transaction=True)


def bucket(filename: str) -> str:
    if filename.startswith(OURS):
        return "ours"
    if "site-packages" not in filename:
        return "python"
    package = filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if package in ("django", "rest_framework", "drf_spectacular"):
        return "django"
    if package in ("psycopg", "psycopg_pool", "django_redis", "redis"):
        return "db driver"
    if package in ("requests", "urllib3"):
        return "http client"
    return "libraries"


def profile(name: str, run: Callable[[int], None], n: int = N) -> None:
    """Run `run(i)` n times under cProfile (CPU clock) and keep the per-request figures by bucket."""
    run(-1)  # warm: imports, caches, connections
    with CaptureQueriesContext(connection) as queries:
        run(0)  # one more, counted: its SQL statements (BEGIN/COMMIT/SAVEPOINT included)
    statements = [query["sql"] for query in queries.captured_queries]
    n -= 1
    profiler = cProfile.Profile(time.process_time)
    started = time.process_time()
    profiler.enable()
    for i in range(1, n + 1):
        run(i)
    profiler.disable()
    total = (time.process_time() - started) * 1000 / n
    stats = pstats.Stats(profiler)
    by_bucket: dict[str, float] = defaultdict(float)
    ours: dict[str, float] = defaultdict(float)
    for (filename, line, function), (_cc, _nc, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_bucket[bucket(filename)] += tottime
        if bucket(filename) == "ours":
            ours[f"{Path(filename).relative_to(ROOT)}:{line} {function}"] = cumtime
    measured = sum(by_bucket.values()) or 1.0
    RESULTS[name] = {"ms": total, "statements": len(statements),
                     "commits": sum(1 for sql in statements if sql.strip().upper().startswith("COMMIT")),
                     "sql": statements, "share": {key: by_bucket[key] / measured for key in BUCKETS},
                     "top": sorted(ours.items(), key=lambda item: -item[1])[:TOP], "n": n}


def kiosk_client(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Kiosk {key}", HTTP_HOST="kiosk.example.com")


def place(client: Client) -> dict[str, Any]:
    response = client.post("/api/v1/orders", CART, content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201, response.content
    return response.json()


def test_profile_hot_paths(kiosk, menu, phonepe, rista, settings) -> None:
    from kds_bridge.models import KitchenDelivery
    from kds_bridge.services import kitchen_sale_send
    from kiosk_project.wsgi import django_application
    from payments import status_cache
    from payments.status_fastpath import StatusFastPath
    from payments.tests.helpers import INITIATE, WEBHOOK, reference_of, signed_callback
    from testing.wsgi import wsgi_call

    settings.ALLOWED_HOSTS = ["kiosk.example.com"]
    settings.ORDER_RATE_LIMIT_PER_MINUTE = settings.PAYMENT_INITIATE_RATE_LIMIT_PER_MINUTE = 10**6
    client = kiosk_client(kiosk[1])
    polled = place(client)["order_id"]

    settings.STATUS_FAST_PATH = False
    profile("status poll through Django", lambda i: client.get(f"/api/v1/orders/{polled}/status"))
    settings.STATUS_FAST_PATH = True
    fast = StatusFastPath(django_application)
    status_cache.refresh(polled)
    poll = f"/api/v1/orders/{polled}/status"
    profile("status poll, fast path", lambda i: wsgi_call(fast, poll, HTTP_AUTHORIZATION=f"Kiosk {kiosk[1]}"))

    profile("order placement (2 lines)", lambda i: place(client))

    orders = [place(client) for _ in range(N + 1)]
    initiated: list[str] = []

    def initiate(i: int) -> None:
        order = orders[i]
        response = client.post(INITIATE, {"order_id": order["order_id"], "amount": order["total_amount_include_tax"]},
                               content_type="application/json")
        assert response.status_code == 201, response.content
        initiated.append(response.json()["payment_id"])

    profile("payment initiation (new attempt)", initiate)

    callbacks = []
    for payment_id in initiated:
        reference = reference_of(payment_id)
        phonepe.pay(reference)
        callbacks.append(signed_callback("v2", reference))
    webhook = Client(HTTP_HOST="kiosk.example.com")

    def deliver(i: int) -> None:
        body, headers = callbacks[i]
        response = webhook.post(WEBHOOK, data=body, content_type="application/json", **headers)
        assert response.json() == {"status": "processed"}, response.content

    profile("PhonePe callback -> paid order (web side)", deliver, n=len(callbacks) - 1)  # callbacks[0]: warm-up

    deliveries = list(KitchenDelivery.objects.order_by("created_at").values_list("pk", flat=True))
    profile("kitchen send (worker side)", lambda i: kitchen_sale_send(delivery_id=deliveries[i + 1]),
            n=len(deliveries) - 1)  # deliveries[0]: warm-up
    report()


def report() -> None:
    lines = ["", f"CPU per request by where it is spent (cProfile, CPU clock, N={N})", "",
             "| path | CPU ms/req (profiled) | SQL statements | commits | " + " | ".join(BUCKETS) + " |",
             "|---|---|---|---|" + "---|" * len(BUCKETS)]
    for name, result in RESULTS.items():
        shares = " | ".join(f"{result['share'][key]:.0%}" for key in BUCKETS)
        lines.append(f"| {name} | {result['ms']:.2f} | {result['statements']} | {result['commits']} | {shares} |")
    for name, result in RESULTS.items():
        lines += ["", f"{name}: our functions by cumulative CPU (ms per request, includes what they call)"]
        lines += [f"  {cum * 1000 / result['n']:7.2f}  {where}" for where, cum in result["top"]]
        if os.environ.get("BENCH_PROFILE_SQL"):
            lines += ["  SQL:"] + [f"    {sql[:160]}" for sql in result["sql"]]
    print("\n".join(lines), file=sys.stderr)
