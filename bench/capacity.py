"""`python -m bench.capacity` (part of make bench): the kiosk's hot paths against their floors, one table.

One stack as production runs it (gunicorn gthread 2x4 with production settings,
one Celery worker, beat, the Rista and PhonePe sandboxes), and in the same run
each path's baseline, measured interleaved with it, round after round:

  bare        a bare WSGI app answering an order's status bytes and headers (bench/bare_wsgi.py)
  status      GET /api/v1/orders/{id}/status, 200               baseline: bare
  status304   the same with If-None-Match -> 304                baseline: bare
  floor       POST /bench/floor: a Django view doing one INSERT (bench/floor.py), same server
  place       POST /api/v1/orders, 2-4 line carts              baseline: floor
  initiate    POST /api/v1/payment/initiate, a new attempt     baseline: place
  replay      the same initiation again (the kiosk re-asks)     baseline: place
  kitchen     the customer pays -> PhonePe's callback -> the sale in Rista, per paid order
              (web + worker + PostgreSQL CPU; paid-to-kitchen p50/p99)
  quote33     POST /api/v1/orders/quote (3 lines) on the sample menu (33 items)
  quote3000   the same on the sample grown to 3,000 items      baseline: quote33

CPU per request comes from /proc: the server's process tree (gunicorn master and
workers; for the kitchen also the Celery worker and beat) and, separately,
PostgreSQL and Redis. The machine may be shared: absolute figures then mean
little, the ratios within one round do. Each round measures every scenario once;
the table keeps each figure's median over rounds and each ratio's median of the
per-round ratios. The "other load" column says how busy everyone else was.

The kiosks-per-box estimate: each kiosk polls its status every 3 s and places
(and pays) one order every 2 minutes at peak: per kiosk and 2 minutes, 40 polls
(POLL_200_PER_ORDER of them 200s, the rest 304s) plus one placement, one
initiation and one paid order's webhook-to-kitchen path; a box is its cores at
70 % busy.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
import uuid
from typing import Any

# The web server as docker compose runs it (gthread 2x4), not bench.payments_kitchen's 2x8.
os.environ.setdefault("BENCH_PK_WEB_THREADS", "4")

from bench.catalog import synthetic_catalog
from bench.common import (
    DURATION,
    REPEAT,
    WARMUP,
    Load,
    Stack,
    _run,
    bench_main,
    fmt_ms,
    manage,
    request,
    say,
    start_gunicorn,
    table,
)
from bench.orders import CARTS, _place_load, _seed_orders, _status_load, _with_totals
from bench.payments_kitchen import Ctx, done, run_pool, sales_by_order, wait_until
from bench.pk_client import BenchError, ref_from_qr
from bench.pk_stack import ACCESS_FORMAT, CORES, Meter, PkStack

CONNECTIONS = 16
# The floor view's table (bench/floor.py): benchmark-only, so no migration.
FLOOR_TABLE_SQL = "CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, body jsonb NOT NULL)"
ROUNDS = max(2, REPEAT)
ORDERS_PER_ROUND = int(os.environ.get("BENCH_CAPACITY_ORDERS", "120"))  # initiations and paid orders per round
KIOSK_THREADS = 8  # concurrent kiosks initiating
PAYER_THREADS = 4  # customers paying at once
POLL_SECONDS = 3.0
ORDER_EVERY_S = 120.0
POLL_200_PER_ORDER = 5  # a status changes about five times per order (pending, paid, accepted, ready, ...)
BOX_BUSY = 0.7
APP_KEYS = {"bare": ("bare",), "web": ("web",), "kitchen": ("web", "worker", "beat")}
DB_KEYS = ("postgres", "redis")

TARGETS = {  # scenario: (baseline, max ratio of CPU per request, what)
    "status": ("bare", 1.5, "<= 1.5x bare WSGI"),
    "status304": ("bare", 1.5, "<= 1.5x bare WSGI"),
    "place": ("floor", 3.0, "<= 3x floor"),
    "initiate": ("place", 1.5, "<= 1.5x placement"),
    "replay": ("place", None, ""),
    "quote3000": ("quote33", 1.2, "<= 1.2x the 33-item menu"),
}
QUOTE_MENUS = {"quote33": None, "quote3000": 3000}  # None: the sandbox's sample
KITCHEN_TARGET_MS = 30.0  # web + worker + PostgreSQL per paid order

_FLOOR_LUA = """
local body = %(body)s
local auth = %(auth)s
function request()
  return wrk.format("POST", "/bench/floor", {["Content-Type"] = "application/json", ["Authorization"] = auth}, body)
end
"""


_QUOTE_LUA = """
local body = %(body)s
local auth = %(auth)s
function request()
  return wrk.format("POST", "/api/v1/orders/quote", {["Content-Type"] = "application/json", ["Authorization"] = auth},
                    body)
end
"""


def _set_menu(st: PkStack, items: int | None) -> None:
    """Install the sample (None) or a synthetic menu of `items` in the Rista sandbox; refresh our copy."""
    if items is None:
        r = request("POST", f"{st.rista}/_control/reset")
    else:
        r = request("PUT", f"{st.rista}/_control/catalog", body=json.dumps(synthetic_catalog(items)).encode(),
                    headers={"Content-Type": "application/json"}, timeout=60)
    if r.status != 200:
        raise BenchError(f"the Rista sandbox refused the menu: {r.status} {r.body[:200]!r}")
    manage(st.env(), "refresh_catalog", "--all")


def _cpu(usage: dict[str, Any], keys: tuple[str, ...], n: int) -> float:
    return 1000 * sum(max(0.0, usage["ours_cpu_s"].get(k, 0.0)) for k in keys) / max(n, 1)


def _wrk(st: PkStack, load: Load, app: str, warm: bool) -> dict[str, Any]:
    if warm and WARMUP > 0:
        _run(load, st.stack, WARMUP, warmup=True)
    m0 = Meter.take(st)
    r = _run(load, st.stack, DURATION, warmup=False)
    usage = m0.until(Meter.take(st))
    out = {"requests": r.requests, "rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "errors": r.errors,
           "statuses": r.statuses, "app_cpu_ms": _cpu(usage, APP_KEYS[app], r.requests),
           "db_cpu_ms": _cpu(usage, DB_KEYS, r.requests), "other_pct": usage["other_pct"]}
    say(f"{load.name}: {r.rps:,.0f} req/s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, app CPU "
        f"{out['app_cpu_ms']:.2f} ms/req, DB {out['db_cpu_ms']:.2f}, statuses {r.statuses}, "
        f"others {usage['other_pct']:.0f}%")
    return out


def _latencies(values: list[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    ordered = sorted(values)
    return (1000 * ordered[len(ordered) // 2], 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))])


def _python_row(name: str, usage: dict[str, Any], n: int, seconds: list[float], wall: float, app: str,
                **extra: Any) -> dict[str, Any]:
    p50, p99 = _latencies(seconds)
    out = {"requests": n, "rps": n / wall if wall else 0.0, "p50_ms": p50, "p99_ms": p99, "errors": 0,
           "app_cpu_ms": _cpu(usage, APP_KEYS[app], n), "db_cpu_ms": _cpu(usage, DB_KEYS, n),
           "other_pct": usage["other_pct"], "cpu_by_process_s": usage["ours_cpu_s"], **extra}
    say(f"{name}: {n} in {wall:.1f} s, p50 {p50:.0f} ms, p99 {p99:.0f} ms, app CPU {out['app_cpu_ms']:.2f} ms, "
        f"DB {out['db_cpu_ms']:.2f} ms, others {usage['other_pct']:.0f}%")
    return out


def _place_orders(ctx: Ctx, n: int) -> list[dict[str, Any]]:
    def place(i: int) -> dict[str, Any]:
        auth = ctx.api.next_auth()
        r = ctx.http.call("POST", f"{ctx.stack.api}/api/v1/orders", body=ctx.api.bodies[i % len(ctx.api.bodies)],
                          headers={"Authorization": auth, "Idempotency-Key": f"cap-{uuid.uuid4().hex}"})
        if r.status != 201:
            raise BenchError(f"placing an order failed: {r.brief()}")
        order = r.json()
        return {"order_id": order["order_id"], "amount": order["total_amount_include_tax"], "auth": auth}

    return done(run_pool(ctx, "place", n, KIOSK_THREADS, place, timeout=300))


def _initiate(ctx: Ctx, orders: list[dict[str, Any]], name: str) -> dict[str, Any]:
    seconds: list[float] = []
    replays = [0]
    lock = threading.Lock()

    def initiate(i: int) -> bool:
        o = orders[i]
        r = ctx.http.call("POST", f"{ctx.stack.api}/api/v1/payment/initiate",
                          body={"order_id": o["order_id"], "amount": o["amount"]}, headers={"Authorization": o["auth"]})
        if r.status != 201:
            raise BenchError(f"initiating {o['order_id']} failed: {r.brief()}")
        o["ref"] = ref_from_qr(r.json()["qr_string"])
        with lock:
            seconds.append(r.seconds)
            replays[0] += r.headers.get("idempotent-replayed") == "true"
        return True

    m0 = Meter.take(ctx.stack)
    t0 = time.monotonic()
    run_pool(ctx, name, len(orders), KIOSK_THREADS, initiate, timeout=300)
    wall = time.monotonic() - t0
    return _python_row(name, m0.until(Meter.take(ctx.stack)), len(seconds), seconds, wall, "web", replays=replays[0])


def _kitchen(ctx: Ctx, orders: list[dict[str, Any]]) -> dict[str, Any]:
    paid: dict[str, float] = {}
    lock = threading.Lock()

    def pay(i: int) -> bool:
        o = orders[i]
        t = time.time()
        ctx.phonepe.pay(o["ref"])  # the sandbox delivers PhonePe's callback before answering
        with lock:
            paid[o["order_id"]] = t
        return True

    m0 = Meter.take(ctx.stack)
    t0 = time.monotonic()
    run_pool(ctx, "pay", len(orders), PAYER_THREADS, pay, timeout=300)
    ok = wait_until("every paid order's sale in Rista", lambda: set(paid) <= set(sales_by_order(ctx)), 180)
    wall = time.monotonic() - t0
    usage = m0.until(Meter.take(ctx.stack))
    sales = sales_by_order(ctx)
    to_kitchen = [sales[oid][0]["_receivedAt"] - t for oid, t in paid.items() if sales.get(oid)]
    row = _python_row("kitchen", usage, len(paid), to_kitchen, wall, "kitchen", all_delivered=ok,
                      web_cpu_ms=_cpu(usage, ("web",), len(paid)),
                      worker_cpu_ms=_cpu(usage, ("worker", "beat"), len(paid)))
    return row


def _round(ctx: Ctx, loads: dict[str, tuple[Load, str]], quote_load: Load, first: bool) -> dict[str, Any]:
    st = ctx.stack
    out = {name: _wrk(st, load, app, first) for name, (load, app) in loads.items()}
    orders = _place_orders(ctx, ORDERS_PER_ROUND)
    out["initiate"] = _initiate(ctx, orders, "initiate")
    out["replay"] = _initiate(ctx, orders, "replay")
    out["kitchen"] = _kitchen(ctx, orders)
    for name, items in QUOTE_MENUS.items():  # each parsed index is warmed by the warm-up run
        _set_menu(st, items)
        out[name] = _wrk(st, quote_load, "web", True)
    _set_menu(st, None)
    for name, (baseline, _limit, _what) in TARGETS.items():
        out[name]["ratio"] = out[name]["app_cpu_ms"] / max(out[baseline]["app_cpu_ms"], 1e-9)
    return out


def run(stack: Stack, services: tuple[str, str]) -> dict[str, Any]:
    st = PkStack(stack, *services)
    st.start_sandboxes()
    say("capacity: migrating")
    st.migrate()
    with st.db() as conn:
        conn.execute(FLOOR_TABLE_SQL)
    keys = st.create_kiosks()
    ctx = Ctx(st, keys)
    st.start_app({"DJANGO_SETTINGS_MODULE": "bench.capacity_settings"})
    try:
        ctx.api.prepare_carts()
        auth = ctx.api.auths[0]
        bodies = _with_totals(st.api, auth)
        polled = _seed_orders(st.api, auth, bodies, tag=f"cap{int(time.time())}")
        bare_env = {**os.environ, "BENCH_BARE_SOURCE_URL": f"{st.api}{polled[0][0]}", "BENCH_BARE_SOURCE_AUTH": auth}
        # The bare baseline logs every request as the app's gunicorn does (its access log): the server's
        # cost per request is the same for both, and only what the application adds is compared.
        bare_proc, bare = start_gunicorn(stack, "bare", "bench.bare_wsgi:application", bare_env, ready_path="/",
                                         access_log=(stack.logdir / "access-bare.log", ACCESS_FORMAT))
        floor_body = bodies[0].decode()
        loads = {
            "bare": (Load("bare", f"{bare}{polled[0][0]}", CONNECTIONS, headers={"Authorization": auth}), "bare"),
            "status": (_status_load(st.api, auth, polled, conditional=False), "web"),
            "status304": (_status_load(st.api, auth, polled, conditional=True), "web"),
            "floor": (Load("floor", f"{st.api}/bench/floor", CONNECTIONS, count_statuses=True,
                           lua=_FLOOR_LUA % {"body": "[==[" + floor_body + "]==]", "auth": "[==[" + auth + "]==]"}),
                      "web"),
            "place": (_place_load(st.api, auth, bodies), "web"),
        }
        quote_load = Load("quote", f"{st.api}/api/v1/orders/quote", CONNECTIONS, count_statuses=True,
                          lua=_QUOTE_LUA % {"body": "[==[" + json.dumps(CARTS[1]) + "]==]",
                                            "auth": "[==[" + auth + "]==]"})
        rounds = []
        for i in range(ROUNDS):
            say(f"capacity: round {i + 1} of {ROUNDS}")
            rounds.append(_round(ctx, loads, quote_load, first=i == 0))
        stack.stop(bare_proc)
    finally:
        st.stop_app()
    return {"rounds": rounds, "errors": ctx.errors, "orders_per_round": ORDERS_PER_ROUND,
            "connections": CONNECTIONS, "load_average": os.getloadavg()}


def summarize(data: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each figure's median over the rounds (each ratio: the median of the per-round ratios)."""
    rounds = data["rounds"]
    out: dict[str, dict[str, float]] = {}
    for name in rounds[0]:
        out[name] = {key: statistics.median(r[name][key] for r in rounds)
                     for key, value in rounds[0][name].items() if isinstance(value, int | float)}
    return out


def kiosks_per_box(s: dict[str, dict[str, float]]) -> dict[str, float]:
    def total(name: str) -> float:
        return s[name]["app_cpu_ms"] + s[name]["db_cpu_ms"]

    polls = ORDER_EVERY_S / POLL_SECONDS
    poll_ms = POLL_200_PER_ORDER * total("status") + (polls - POLL_200_PER_ORDER) * total("status304")
    order_ms = total("place") + total("initiate") + total("kitchen")
    per_kiosk = (poll_ms + order_ms) / ORDER_EVERY_S  # CPU ms per second per kiosk
    return {"per_kiosk_cpu_ms_per_s": per_kiosk, "poll_share": poll_ms / (poll_ms + order_ms),
            "kiosks": CORES * 1000 * BOX_BUSY / per_kiosk}


def render(data: dict[str, Any]) -> str:
    s = summarize(data)
    what = {
        "bare": "bare WSGI, the status bytes + headers",
        "status": "GET /orders/{id}/status (200)",
        "status304": "... If-None-Match -> 304",
        "floor": "floor: Django view, one INSERT",
        "place": "POST /orders (2-4 lines)",
        "initiate": "POST /payment/initiate (new attempt)",
        "replay": "... the same initiation again",
        "kitchen": "paid -> callback -> sale in Rista, per order",
        "quote33": "POST /orders/quote, 33-item menu",
        "quote3000": "... the same, 3,000-item menu",
    }
    rows = []
    for name, label in what.items():
        r = s[name]
        baseline, limit, target = TARGETS.get(name, (None, None, ""))
        ratio = f"{r['ratio']:.2f}x {baseline}" if baseline else "-"
        result = "-"
        if limit is not None:
            result = "met" if r["ratio"] <= limit else "NOT met"
        if name == "kitchen":
            cpu = r["app_cpu_ms"] + r["db_cpu_ms"]
            target = f"< {KITCHEN_TARGET_MS:.0f} ms CPU incl. DB"
            result = "met" if cpu < KITCHEN_TARGET_MS else "NOT met"
            ratio = f"web {r['web_cpu_ms']:.1f} + worker {r['worker_cpu_ms']:.1f}"
        rows.append([label, f"{r['rps']:,.0f}", fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]), f"{r['app_cpu_ms']:.2f}",
                     f"{r['db_cpu_ms']:.2f}", ratio, target or "-", result, f"{r['other_pct']:.0f}%"])
    k = kiosks_per_box(s)
    title = (f"Capacity: {CONNECTIONS} connections for the wrk rows, {data['orders_per_round']} orders per round "
             f"for the payment rows, median of {len(data['rounds'])} interleaved rounds")
    out = [table(title, ["scenario", "req/s", "p50 ms", "p99 ms", "app CPU ms/req", "DB CPU ms/req",
                         "CPU vs baseline (same round)", "target", "result", "other load"], rows), ""]
    out.append(f"- kiosks per {CORES}-core box at {BOX_BUSY:.0%} CPU (poll every {POLL_SECONDS:g} s, one order "
               f"every {ORDER_EVERY_S / 60:g} min): {k['kiosks']:,.0f} ({k['per_kiosk_cpu_ms_per_s']:.2f} ms CPU per "
               f"kiosk-second, polling {k['poll_share']:.0%} of it)")
    out.append("- per-round ratios: " + "; ".join(
        f"{n} " + "/".join(f"{r[n]['ratio']:.2f}" for r in data["rounds"]) for n in TARGETS))
    out.append(f"- load average at the end: {', '.join(f'{x:.1f}' for x in data['load_average'])}")
    for err in data["errors"][:10]:
        out.append(f"- ERROR: {err}")
    return "\n".join(out)


def main() -> int:
    return bench_main("capacity", run, render)


if __name__ == "__main__":
    raise SystemExit(main())
