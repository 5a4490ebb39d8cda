"""`python -m bench.payments_kitchen [--quick]`: payments and kitchen delivery, end to end, on loopback.

Run it with throwaway PostgreSQL and Redis:

    .venv/bin/python scripts/testservices.py -- .venv/bin/python -m bench.payments_kitchen [--quick]

The stack is production's: gunicorn (gthread, 2 workers, production settings),
one Celery worker, celery beat, and the Rista and PhonePe sandboxes as separate
processes. Every order goes through the real API as a kiosk sends it (POST
/orders, POST /payment/initiate) and the customer pays in the PhonePe sandbox.

  1. webhook     our PhonePe webhook under a burst of callbacks: the sandbox's own
                 deliveries, then real signed v2 callbacks replayed concurrently
                 (first deliveries, then duplicates)
  2. confirm     customer paid -> CONFIRMED on GET /orders/{id}/status, with the
                 callback delivered and with it dropped (only the reconciler confirms)
  3. kitchen     PhonePe callback -> the sale arrives in the Rista sandbox
  4. soak        thousands of orders with Rista failing 20% of sale requests at
                 random and down for 30 s in the middle; every order must reach
                 Rista exactly once

Targets (issues): kitchen p99 < 1 s; soak: 0 duplicate sales, 0 paid orders missing.
How each figure is taken, and the results: docs/performance-payments-kitchen.md.
Tables are printed at the end and the raw figures written to bench/results/.
Every load loop is bounded by a count and a deadline; every process is stopped at exit.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import math
import os
import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.common import (
    PRODUCTION_ENV,
    ROOT,
    Stack,
    install_signal_handlers,
    interrupt_message,
    machine_info,
    require_services,
    say,
    table,
    write_result,
)
from bench.pk_client import (
    BenchError,
    Http,
    KioskApi,
    PhonePe,
    Placed,
    Rista,
    RistaChaos,
    pct,
    summary,
)
from bench.pk_stack import (
    CELERY_CONCURRENCY,
    CELERY_POOL,
    GUNICORN_THREADS,
    GUNICORN_WORKERS,
    KIOSK_POOL,
    QUIET_PCT,
    Meter,
    PkStack,
    wait_quiet,
)

T = TypeVar("T")
_STARTED = time.monotonic()
STOP = threading.Event()  # set when the run ends abnormally (error, Ctrl-C): pool threads stop taking work


def log(msg: str) -> None:
    say(f"{time.monotonic() - _STARTED:5.0f}s {msg}")

WEBHOOK_PATH = "/api/v1/payment/webhook"
TARGET_KITCHEN_P99_S = 1.0
DEFAULT_FIRST_CHECK = 25  # PAYMENT_RECONCILE_FIRST_CHECK's default
LOWERED_FIRST_CHECK = 5
RECONCILE_STEPS = [(3, 30), (6, 60), (10, 60), (30, 60)]  # settings.PAYMENT_RECONCILE_STEPS
BEAT_RECONCILE_EVERY = 3.0  # the payments-reconcile beat entry
# Seconds, in total, this run may spend waiting for other processes to leave the machine alone (full, quick).
QUIET_BUDGET = os.environ.get("BENCH_PK_QUIET_BUDGET")
SOAK_ENV = {"KDS_RETRY_MAX_DELAY": "10"}  # backoff 1-2, 2-4, 4-8, then 5-10 s: a 30 s outage drains fast


@dataclass(frozen=True)
class Plan:
    burst_orders: int  # 1: the sandbox pays these all at once
    replay_orders: int  # 1: signed callbacks replayed by us (each then twice more as duplicates)
    replay_concurrency: int
    delivered_orders: int  # 2a
    dropped_orders: int  # 2b, per schedule
    dropped_lowered: bool  # 2b again with PAYMENT_RECONCILE_FIRST_CHECK lowered
    dropped_beyond_s: float  # 2b pays spread from 1 s to first check + this
    kitchen_orders: int  # 3
    soak_orders: int  # 4
    soak_threads: int
    failure_rate: float
    outage_s: float
    drain_timeout_s: float
    quiet_budget_s: float  # waiting, in total, for a quiet machine
    quiet_wait_s: float  # ... at most this long before one section


SOAK_ORDERS = os.environ.get("BENCH_PK_SOAK_ORDERS")  # override the soak's size (both modes)
FULL = Plan(burst_orders=200, replay_orders=200, replay_concurrency=16, delivered_orders=30, dropped_orders=16,
            dropped_lowered=True, dropped_beyond_s=15.0, kitchen_orders=300, soak_orders=int(SOAK_ORDERS or 2000),
            soak_threads=12, failure_rate=0.2, outage_s=30.0, drain_timeout_s=300.0, quiet_budget_s=240.0,
            quiet_wait_s=45.0)
QUICK = Plan(burst_orders=60, replay_orders=60, replay_concurrency=16, delivered_orders=10, dropped_orders=4,
             dropped_lowered=False, dropped_beyond_s=3.0, kitchen_orders=100, soak_orders=int(SOAK_ORDERS or 300),
             soak_threads=12, failure_rate=0.2, outage_s=30.0, drain_timeout_s=150.0, quiet_budget_s=30.0,
             quiet_wait_s=15.0)


class Ctx:
    """Everything a section needs: the stack, the clients and the kiosk pool."""

    def __init__(self, stack: PkStack, keys: list[str]) -> None:
        self.stack = stack
        self.http = Http()
        self.api = KioskApi(self.http, stack.api, keys)
        env = PRODUCTION_ENV
        self.phonepe = PhonePe(self.http, stack.phonepe, client_id=env["PHONEPE_CLIENT_ID"],
                               client_secret=env["PHONEPE_CLIENT_SECRET"],
                               client_version=env["PHONEPE_CLIENT_VERSION"],
                               webhook_user=env["PHONEPE_WEBHOOK_USERNAME"],
                               webhook_password=env["PHONEPE_WEBHOOK_PASSWORD"])
        self.rista = Rista(self.http, stack.rista)
        self.errors: list[str] = []
        self.quiet_budget = [0.0]
        self.quiet_wait = 15.0

    def note_error(self, where: str, exc: BaseException) -> None:
        msg = f"{where}: {type(exc).__name__}: {exc}"
        self.errors.append(msg)
        if len(self.errors) <= 10:
            log(f"ERROR {msg}")


# --- bounded thread pools -----------------------------------------------------------------------------------
def run_pool(ctx: Ctx, where: str, n: int, threads: int, fn: Callable[[int], T], *,
             timeout: float) -> list[T | None]:
    """fn(0..n-1) over `threads` threads; stops handing out work at the deadline. None where it failed."""
    results: list[T | None] = [None] * n
    deadline = time.monotonic() + timeout
    counter = iter(range(n))
    lock = threading.Lock()

    def worker() -> None:
        try:
            while time.monotonic() < deadline and not STOP.is_set():
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                try:
                    results[i] = fn(i)
                except Exception as exc:
                    ctx.note_error(f"{where} #{i}", exc)
        finally:
            ctx.http.close_thread()

    with ThreadPoolExecutor(max_workers=max(1, min(threads, n)), thread_name_prefix=where) as pool:
        for _ in range(max(1, min(threads, n))):
            pool.submit(worker)
    missing = sum(1 for r in results if r is None)
    if missing:
        log(f"WARNING {where}: {missing} of {n} did not complete")
    return results


def measured(ctx: Ctx, name: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a section after waiting (bounded) for a quiet machine; record how busy everyone was meanwhile."""
    wait_quiet(ctx.stack, ctx.quiet_budget, name, ctx.quiet_wait)
    m0 = Meter.take(ctx.stack)
    result = fn()
    load = m0.until(Meter.take(ctx.stack))
    result["load"] = load
    log(f"   ({name}: our processes used {load['ours_pct']:.0f}% of the machine, others "
        f"{load['other_pct']:.0f}%{' - figures suspect' if load['other_pct'] > QUIET_PCT else ''})")
    return result


def done(items: list[T | None]) -> list[T]:
    return [x for x in items if x is not None]


def place_many(ctx: Ctx, where: str, n: int, threads: int = 8, timeout: float = 300) -> list[Placed]:
    deadline = time.time() + timeout
    return done(run_pool(ctx, where, n, threads, lambda i: ctx.api.place_and_initiate(i, deadline), timeout=timeout))


def db_rows(ctx: Ctx, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with ctx.stack.db() as conn:
        return conn.execute(sql, params).fetchall()


def pg_counters(ctx: Ctx) -> dict[str, int]:
    """This database's cumulative counters (every process: web, worker, beat, and this read itself)."""
    (sessions, commits), = db_rows(ctx, "SELECT sessions, xact_commit FROM pg_stat_database "
                                        "WHERE datname = current_database()")
    return {"sessions": int(sessions), "commits": int(commits)}


def order_statuses(ctx: Ctx, order_ids: list[str]) -> collections.Counter[str]:
    rows = db_rows(ctx, "SELECT status, count(*) FROM orders_order WHERE id = ANY(%s::uuid[]) GROUP BY 1",
                   (order_ids,))
    return collections.Counter({s: c for s, c in rows})


def delivery_statuses(ctx: Ctx, order_ids: list[str]) -> collections.Counter[str]:
    rows = db_rows(ctx, "SELECT status, count(*) FROM kds_bridge_kitchendelivery WHERE order_id = ANY(%s::uuid[]) "
                        "GROUP BY 1", (order_ids,))
    return collections.Counter({s: c for s, c in rows})


def wait_until(what: str, check: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    log(f"WARNING gave up waiting for {what} after {timeout:.0f} s")
    return False


def wait_delivered(ctx: Ctx, order_ids: list[str], timeout: float) -> tuple[bool, collections.Counter[str]]:
    last: collections.Counter[str] = collections.Counter()

    def check() -> bool:
        nonlocal last
        last = delivery_statuses(ctx, order_ids)
        final_bad = last.get("FAILED", 0) + last.get("REJECTED", 0)
        return last.get("DELIVERED", 0) + final_bad >= len(order_ids)

    ok = wait_until("kitchen deliveries", check, timeout)
    return ok, last


def ms(seconds: float) -> float:
    return seconds * 1000


# --- 1. webhook under a burst of callbacks ------------------------------------------------------------------
def section_webhook(ctx: Ctx, plan: Plan) -> dict[str, Any]:
    st, pp = ctx.stack, ctx.phonepe
    out: dict[str, Any] = {}

    # 1a. the sandbox delivers: every customer pays at once
    log(f"1a. placing {plan.burst_orders} orders, then paying them all at once in the PhonePe sandbox")
    placed = place_many(ctx, "burst-place", plan.burst_orders)
    mark = st.access_mark()
    m0 = Meter.take(st)
    t0 = time.time()
    views = done(run_pool(ctx, "burst-pay", len(placed), 16, lambda i: pp.pay(placed[i].ref), timeout=180))
    wall = time.time() - t0
    burst_load = m0.until(Meter.take(st))
    records = [v["callbacks"][-1] for v in views if v.get("callbacks")]
    http_statuses = collections.Counter(str(r["status"]) for r in records)
    # One notifier thread sends them in order, so a send starts when the previous one ended (or when queued).
    observed, prev_end = [], 0.0
    for r in sorted((r for r in records if r["sent_at"]), key=lambda r: r["sent_at"]):
        observed.append(r["sent_at"] - max(r["created_at"], prev_end))
        prev_end = r["sent_at"]
    server = [ln.micros / 1e6 for ln in st.access_since(mark) if ln.path == WEBHOOK_PATH]
    confirmed = order_statuses(ctx, [p.order_id for p in placed]).get("CONFIRMED", 0)
    out["burst"] = {"orders": len(placed), "paid": len(views), "wall_s": wall, "callbacks_per_s": len(records) / wall,
                    "http_statuses": dict(http_statuses), "sandbox_observed": summary(observed),
                    "server": summary(server), "confirmed": confirmed, "load": burst_load}
    log(f"   {len(records)} callbacks in {wall:.1f} s ({len(records) / wall:.0f}/s), statuses {dict(http_statuses)}, "
        f"server p50 {ms(pct(server, 50)):.1f} ms p99 {ms(pct(server, 99)):.1f} ms, {confirmed} CONFIRMED")

    # 1b. real signed callbacks, replayed by us, concurrently
    log(f"1b. {plan.replay_orders} orders paid with their callback dropped; we deliver signed v2 callbacks "
        f"{plan.replay_concurrency} at a time, then replay each twice")
    wait_quiet(st, ctx.quiet_budget, "1b", ctx.quiet_wait)  # here: once the QRs exist, the reconciler's clock runs
    pp.set_default_callback("drop")
    try:
        placed = place_many(ctx, "replay-place", plan.replay_orders)
    finally:
        pp.set_default_callback("normal")
    first_initiated = min(p.t_initiated for p in placed)
    run_pool(ctx, "replay-pay", len(placed), 16, lambda i: pp.pay(placed[i].ref), timeout=120)
    pp.token()  # one OAuth token for the status reads below
    bodies = done(run_pool(ctx, "replay-status", len(placed), 16,
                           lambda i: pp.signed_webhook(pp.order_status(placed[i].ref)), timeout=120))

    def deliver(items: list[tuple[bytes, dict[str, str]]], label: str) -> dict[str, Any]:
        if label != "first":
            wait_quiet(st, ctx.quiet_budget, f"1b {label}", ctx.quiet_wait)
        mark = st.access_mark()
        m0 = Meter.take(st)
        t0 = time.time()

        def post(i: int) -> tuple[float, str]:
            body, headers = items[i]
            r = ctx.http.call("POST", f"{st.api}{WEBHOOK_PATH}", raw=body, headers=headers)
            answer = r.json().get("status", "?") if r.status == 200 else f"http {r.status}"
            return r.seconds, answer

        res = done(run_pool(ctx, f"replay-{label}", len(items), plan.replay_concurrency, post, timeout=180))
        wall = time.time() - t0
        time.sleep(1.0)  # let the kitchen sends the callbacks triggered finish, to count their CPU
        load = m0.until(Meter.take(st))
        cpu_ms = {k: round(1000 * v / max(1, len(res)), 2) for k, v in load["ours_cpu_s"].items()}
        server = [ln.micros / 1e6 for ln in st.access_since(mark) if ln.path == WEBHOOK_PATH]
        client = [s for s, _ in res]
        answers = collections.Counter(a for _, a in res)
        log(f"   {label}: {len(res)} in {wall:.1f} s ({len(res) / wall:.0f}/s), answers {dict(answers)}, "
            f"client p50 {ms(pct(client, 50)):.1f} ms p99 {ms(pct(client, 99)):.1f} ms")
        return {"requests": len(res), "wall_s": wall, "rps": len(res) / wall, "answers": dict(answers),
                "client": summary(client), "server": summary(server), "cpu_ms_per_request": cpu_ms, "load": load}

    already = db_rows(ctx, "SELECT count(*) FROM payments_payment WHERE id = ANY(%s::uuid[]) AND status = 'SUCCEEDED'",
                      ([p.payment_id for p in placed],))[0][0]
    age = time.time() - first_initiated
    out["replay_first"] = deliver(bodies, "first")
    out["replay_first"].update({"confirmed_before": already, "age_at_start_s": age})
    out["replay_dup"] = deliver(bodies + bodies, "duplicate")
    out["replay_confirmed"] = order_statuses(ctx, [p.order_id for p in placed]).get("CONFIRMED", 0)
    out["replay_orders"] = len(placed)
    out["concurrency"] = plan.replay_concurrency
    return out


# --- 2. customer paid -> CONFIRMED --------------------------------------------------------------------------
def schedule_offsets(first: int, horizon: float = 600.0) -> list[float]:
    """PhonePe's schedule as payments.schedule computes it (seconds after initiation)."""
    offsets, t = [float(first)], float(first)
    for every, span in RECONCILE_STEPS:
        for _ in range(span // every):
            t += every
            offsets.append(t)
    while t + 60 < horizon:
        t += 60
        offsets.append(t)
    return offsets


def schedule_wait(first_check: int, age: float) -> float:
    return next(o for o in schedule_offsets(first_check) if o >= age) - age


def section_confirm_delivered(ctx: Ctx, plan: Plan) -> dict[str, Any]:
    log(f"2a. {plan.delivered_orders} orders: pay, poll the status every 50 ms until CONFIRMED (callback delivered)")

    def one(i: int) -> float:
        p = ctx.api.place_and_initiate(i, time.time() + 60)
        t_pay = time.time()
        ctx.phonepe.pay(p.ref, sync=False)
        seen = ctx.api.wait_status(p, "CONFIRMED", interval=0.05, timeout=30)
        if seen is None:
            raise BenchError(f"order {p.order_id} not CONFIRMED 30 s after its callback")
        return seen - t_pay

    lat = done(run_pool(ctx, "confirm-delivered", plan.delivered_orders, 3, one, timeout=180))
    log(f"   p50 {ms(pct(lat, 50)):.0f} ms, p99 {ms(pct(lat, 99)):.0f} ms")
    return {"latency": summary(lat), "poll_interval_s": 0.05}


def section_confirm_dropped(ctx: Ctx, n: int, first_check: int, beyond: float) -> dict[str, Any]:
    """Pay at spread-out delays after initiation, with the callback dropped; only the reconciler can confirm."""
    span = first_check + beyond
    rng = random.Random(first_check)  # reproducible
    # Pay delays spread evenly from 1 s to 1 s + `span`; start times at random within one beat period, so the
    # orders (and their payments) meet the 3-s reconciler passes at unrelated phases.
    delays = [1.0 + span * i / max(1, n - 1) for i in range(n)]
    starts = [rng.uniform(0.0, BEAT_RECONCILE_EVERY) for _ in range(n)]
    log(f"2b. {n} orders, callbacks dropped, paid {delays[0]:.0f}-{delays[-1]:.0f} s after initiation; "
        f"first reconciler check at {first_check} s")

    def one(i: int) -> dict[str, Any]:
        # Stagger the starts over one beat period, so the orders meet the reconciler at different phases.
        time.sleep(starts[i])
        p = ctx.api.place_and_initiate(i, time.time() + 60)
        ctx.phonepe.set_callback(p.ref, "drop")
        time.sleep(max(0.0, p.t_initiated + delays[i] - time.time()))
        t_pay = time.time()
        view = ctx.phonepe.pay(p.ref)
        if any(c.get("delivery") == "sent" for c in view.get("callbacks", [])):
            raise BenchError(f"the callback of {p.ref} was delivered although it was set to drop")
        seen = ctx.api.wait_status(p, "CONFIRMED", interval=0.1, timeout=first_check + 60)
        if seen is None:
            raise BenchError(f"order {p.order_id} not CONFIRMED by the reconciler")
        return {"payment_id": p.payment_id, "t_pay": t_pay, "seen": seen}

    res = done(run_pool(ctx, f"confirm-dropped-{first_check}", n, n, one, timeout=first_check + 180))
    initiated = dict(db_rows(ctx, "SELECT id::text, extract(epoch from initiated_at)::float8 FROM payments_payment "
                                  "WHERE id = ANY(%s::uuid[])", ([r["payment_id"] for r in res],)))
    lat, waits, lags, before = [], [], [], 0
    raw: list[dict[str, float]] = []
    groups: dict[str, dict[str, list[float]]] = {g: {"lat": [], "wait": [], "lag": []} for g in ("before", "after")}
    for r in res:
        start = initiated[r["payment_id"]]
        age = r["t_pay"] - start
        # Every pay lands before first check + 30 s, where the schedule checks every 3 s, as often as the
        # beat runs the reconciler: the wait is the time to the first check, then up to one beat period.
        wait = max(0.0, first_check - age) if age < first_check + 30 else schedule_wait(first_check, age)
        before += age < first_check
        lat.append(r["seen"] - r["t_pay"])
        waits.append(wait)
        lags.append(lat[-1] - wait)  # the beat's phase (0-3 s) + the status check + confirm + the poll
        raw.append({"age_at_pay": round(age, 3), "latency": round(lat[-1], 3), "pay_epoch": round(r["t_pay"], 3),
                    "seen_epoch": round(r["seen"], 3)})
        g = groups["before" if age < first_check else "after"]
        g["lat"].append(lat[-1])
        g["wait"].append(waits[-1])
        g["lag"].append(lags[-1])
    log(f"   first check {first_check} s: p50 {pct(lat, 50):.1f} s, max {max(lat, default=0):.1f} s; "
        f"schedule wait mean {sum(waits) / max(1, len(waits)):.1f} s, reconciler lag p50 {pct(lags, 50):.1f} s")
    return {"first_check": first_check, "orders": len(res), "paid_before_first_check": before,
            "pay_delays_s": [delays[0], delays[-1]], "latency": summary(lat), "schedule_wait": summary(waits),
            "reconciler_lag": summary(lags), "poll_interval_s": 0.1,
            "groups": {k: {m: summary(v) for m, v in g.items()} for k, g in groups.items()},
            "per_order": sorted(raw, key=lambda x: x["age_at_pay"])}


# --- 3. PhonePe callback -> sale in Rista -------------------------------------------------------------------
def sales_by_order(ctx: Ctx) -> dict[str, list[dict[str, Any]]]:
    by: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for sale in ctx.rista.sales():
        by[str((sale.get("sourceInfo") or {}).get("orderTransactionId"))].append(sale)
    return by


def section_kitchen(ctx: Ctx, plan: Plan) -> dict[str, Any]:
    n = plan.kitchen_orders
    log(f"3. {n} orders: 8 kiosk threads place and initiate; the customer pays each as soon as its QR is shown "
        "(the sandbox sends each callback at once)")
    ready: queue.Queue[Placed | None] = queue.Queue()
    paid: list[dict[str, Any]] = []
    stop = threading.Event()

    def payer() -> None:
        try:
            while not stop.is_set():
                try:
                    p = ready.get(timeout=0.5)
                except queue.Empty:
                    continue
                if p is None:
                    return
                try:
                    t_pay = time.time()
                    view = ctx.phonepe.pay(p.ref)
                    rec = view["callbacks"][-1]
                    paid.append({"order_id": p.order_id, "t_pay": t_pay, "cb_start": rec["created_at"],
                                 "cb_end": rec["sent_at"], "cb_status": rec["status"]})
                except Exception as exc:
                    ctx.note_error("kitchen-pay", exc)
        finally:
            ctx.http.close_thread()

    thread = threading.Thread(target=payer, name="kitchen-payer", daemon=True)
    thread.start()
    deadline = time.time() + 300
    before = pg_counters(ctx)
    t0 = time.time()

    def produce(i: int) -> Placed:
        p = ctx.api.place_and_initiate(i, deadline)
        ready.put(p)
        return p

    try:
        placed = done(run_pool(ctx, "kitchen-place", n, 8, produce, timeout=300))
    finally:
        ready.put(None)
        thread.join(timeout=120)
        stop.set()
    wall = time.time() - t0
    ids = [r["order_id"] for r in paid]
    # Counted before wait_delivered, whose polls open sessions of their own: wait on Rista's sales (HTTP)
    # instead, then for PostgreSQL to publish its session statistics (each backend reports within ~1 s).
    wait_until("every paid order's sale in Rista", lambda: len(set(ids) & set(sales_by_order(ctx))) == len(ids),
               120)
    time.sleep(1.5)
    after = pg_counters(ctx)
    ok, statuses = wait_delivered(ctx, ids, 120)
    sales = sales_by_order(ctx)
    per_order = {k: (after[k] - before[k] - (1 if k == "sessions" else 0)) / max(len(paid), 1) for k in before}
    from_cb, from_pay, after_answer, missing = [], [], [], 0
    for r in paid:
        got = sales.get(r["order_id"])
        if not got:
            missing += 1
            continue
        received = got[0]["_receivedAt"]
        from_cb.append(received - r["cb_start"])
        from_pay.append(received - r["t_pay"])
        if r["cb_end"]:
            after_answer.append(received - r["cb_end"])
    cb_statuses = collections.Counter(str(r["cb_status"]) for r in paid)
    log(f"   {len(paid)} paid in {wall:.1f} s ({len(paid) / wall:.1f}/s), callback -> sale p50 "
        f"{ms(pct(from_cb, 50)):.0f} ms, p99 {ms(pct(from_cb, 99)):.0f} ms, missing {missing}; per paid order "
        f"{per_order['sessions']:.2f} new PostgreSQL sessions, {per_order['commits']:.1f} commits (all processes)")
    return {"orders": len(placed), "paid": len(paid), "wall_s": wall, "rate_per_s": len(paid) / wall,
            "pg_sessions_per_order": per_order["sessions"], "pg_commits_per_order": per_order["commits"],
            "callback_statuses": dict(cb_statuses), "deliveries": dict(statuses), "all_delivered": ok,
            "missing": missing, "callback_to_sale": summary(from_cb), "pay_to_sale": summary(from_pay),
            "answer_to_sale": summary(after_answer)}


# --- 4. soak ------------------------------------------------------------------------------------------------
def section_soak(ctx: Ctx, plan: Plan) -> dict[str, Any]:
    n = plan.soak_orders
    st = ctx.stack
    log(f"4. soak: {n} orders from {plan.soak_threads} kiosk threads; Rista fails {plan.failure_rate:.0%} of sale "
        f"requests at random and is down for {plan.outage_s:.0f} s once half the orders are paid")
    stats0 = ctx.rista.stats()
    cpu0 = st.proc_cpu_seconds()
    mark = st.access_mark()
    chaos = RistaChaos(ctx.rista, plan.failure_rate)
    chaos.start()
    paid: list[Placed] = []
    paid_lock = threading.Lock()
    outage: dict[str, float] = {}
    outage_lock = threading.Lock()
    deadline = time.time() + 900
    t0 = time.time()
    callback_statuses: collections.Counter[str] = collections.Counter()

    steps: dict[str, list[float]] = {"place": [], "initiate": [], "pay": []}

    def end_outage_later() -> None:
        time.sleep(plan.outage_s)
        outage["end"] = chaos.end_outage()
        log(f"   Rista back after {outage['end'] - outage['start']:.1f} s")

    def one(i: int) -> Placed:
        p = ctx.api.place_and_initiate(i, deadline)
        t_pay = time.perf_counter()
        view = ctx.phonepe.pay(p.ref)
        pay_s = time.perf_counter() - t_pay
        rec = view["callbacks"][-1]
        with paid_lock:
            paid.append(p)
            callback_statuses[str(rec["status"])] += 1
            steps["place"].append(p.extra["place_s"])
            steps["initiate"].append(p.extra["initiate_s"])
            steps["pay"].append(pay_s)
            count = len(paid)
        if count >= n // 2:
            with outage_lock:
                if "start" not in outage:
                    outage["start"] = chaos.begin_outage()
                    outage["at_order"] = count
                    log(f"   {count} orders paid: Rista down now (every sale request answers 503)")
                    threading.Thread(target=end_outage_later, name="outage-timer", daemon=True).start()
        if count % 250 == 0:
            log(f"   {count} orders paid ({count / (time.time() - t0):.1f}/s)")
        return p

    try:
        run_pool(ctx, "soak", n, plan.soak_threads, one, timeout=900)
        t_placed = time.time()
        cpu_placed = st.proc_cpu_seconds()
        if "start" in outage and "end" not in outage:  # the placement finished inside the outage
            wait_until("the end of the outage", lambda: "end" in outage,
                       outage["start"] + plan.outage_s + 15 - time.time())
        log(f"   all {len(paid)} paid in {t_placed - t0:.0f} s; waiting (<= {plan.drain_timeout_s:.0f} s) for every "
            "order to be CONFIRMED and every delivery DELIVERED")
        ids = [p.order_id for p in paid]
        wait_until("every order CONFIRMED",
                   lambda: order_statuses(ctx, ids).get("CONFIRMED", 0) >= len(ids), 90, interval=1.0)
        drained, deliveries = wait_delivered(ctx, ids, plan.drain_timeout_s)
        t_drained = time.time()
        served = chaos.served_failures()
    finally:
        chaos.stop()
    cpu1 = st.proc_cpu_seconds()
    stats1 = ctx.rista.stats()
    server: dict[str, list[float]] = {"place": [], "initiate": [], "pay": []}
    for ln in st.access_since(mark):
        key = {"/api/v1/orders": "place", "/api/v1/payment/initiate": "initiate", WEBHOOK_PATH: "pay"}.get(ln.path)
        if key and ln.method == "POST":
            server[key].append(ln.micros / 1e6)
    ids = [p.order_id for p in paid]

    orders = order_statuses(ctx, ids)
    sales = sales_by_order(ctx)
    mine = {i: sales.get(i, []) for i in ids}
    received = sum(1 for v in mine.values() if v)
    dup_stored = sum(len(v) - 1 for v in mine.values() if len(v) > 1)
    missing = [i for i, v in mine.items() if not v]
    absorbed = sum(int(s.get("_duplicates", 0)) for v in mine.values() for s in v)

    rows = db_rows(ctx, "SELECT d.attempts, d.status, extract(epoch from d.created_at)::float8, "
                        "extract(epoch from d.delivered_at)::float8, d.rista_invoice_number, d.order_id::text "
                        "FROM kds_bridge_kitchendelivery d WHERE d.order_id = ANY(%s::uuid[])", (ids,))
    attempts_hist: collections.Counter[str] = collections.Counter()
    for attempts, *_ in rows:
        attempts_hist[str(attempts) if attempts <= 5 else ("6-10" if attempts <= 10 else ">10")] += 1
    invoice_mismatch = sum(1 for r in rows if r[4] and mine.get(r[5]) and mine[r[5]][0]["invoiceNumber"] != r[4])
    outcomes = collections.Counter(f"{o}{' (after lookup)' if lu else ''}" for o, lu, c in db_rows(
        ctx, "SELECT a.outcome, a.looked_up, count(*) FROM kds_bridge_kitchendeliveryattempt a "
             "JOIN kds_bridge_kitchendelivery d ON d.id = a.delivery_id WHERE d.order_id = ANY(%s::uuid[]) "
             "GROUP BY 1, 2", (ids,)) for _ in range(c))
    http_codes = collections.Counter({str(s): c for s, c in db_rows(
        ctx, "SELECT coalesce(a.http_status::text, 'none'), count(*) FROM kds_bridge_kitchendeliveryattempt a "
             "JOIN kds_bridge_kitchendelivery d ON d.id = a.delivery_id WHERE d.order_id = ANY(%s::uuid[]) "
             "GROUP BY 1", (ids,))})
    drain: dict[str, Any] = {}
    if "end" in outage:
        t_end = outage["end"]
        backlog = [r for r in rows if r[2] <= t_end and (r[3] is None or r[3] > t_end)]
        last = max((r[3] for r in backlog if r[3] is not None), default=None)
        drain = {"backlog_at_recovery": len(backlog),
                 "drain_after_recovery_s": (last - t_end) if last is not None and len(backlog) else 0.0,
                 "backlog_delivered_after_recovery": summary([r[3] - t_end for r in backlog if r[3] is not None]),
                 "undrained": sum(1 for r in backlog if r[3] is None)}
    last_delivered = max((r[3] for r in rows if r[3] is not None), default=t_placed)
    # Confirmed -> in Rista (the delivery row is written in the confirming transaction), by when the order was
    # paid: well before the outage (random failures only: its retries, <= ~25 s, end before it), during the
    # outage (and in the minute before it), and after Rista came back (behind the backlog).
    by_phase: dict[str, list[float]] = {"before": [], "during": [], "after": []}
    for r in rows:
        if r[3] is None:
            continue
        if "start" not in outage or r[2] < outage["start"] - 60:
            by_phase["before"].append(r[3] - r[2])
        elif r[2] <= outage.get("end", t_drained):
            by_phase["during"].append(r[3] - r[2])
        else:
            by_phase["after"].append(r[3] - r[2])
    # Gaps between one attempt's end and the next attempt's start, per delivery: the backoff (<= the cap)
    # plus however long the task waited for a free worker process.
    gaps: list[float] = []
    durations: list[float] = []
    first_wait: dict[str, list[float]] = {"before": [], "during": [], "after": []}  # confirmed -> 1st attempt
    last_end: dict[str, float] = {}
    for delivery, started, finished, created, number in db_rows(
            ctx, "SELECT a.delivery_id::text, extract(epoch from a.started_at)::float8, "
                 "extract(epoch from a.finished_at)::float8, extract(epoch from d.created_at)::float8, a.number "
                 "FROM kds_bridge_kitchendeliveryattempt a "
                 "JOIN kds_bridge_kitchendelivery d ON d.id = a.delivery_id WHERE d.order_id = ANY(%s::uuid[]) "
                 "ORDER BY a.delivery_id, a.number", (ids,)):
        if delivery in last_end:
            gaps.append(started - last_end[delivery])
        last_end[delivery] = finished or started
        if finished:
            durations.append(finished - started)
        if number == 1:
            phase = ("before" if "start" not in outage or created < outage["start"] - 60 else
                     "during" if created <= outage.get("end", t_drained) else "after")
            first_wait[phase].append(started - created)
    logs = {name: st.log_summary(f"{name}-{st.phase}") for name in ("web", "worker", "beat")}

    def delta(key: str) -> int:
        return int(stats1["requests"].get(key, 0)) - int(stats0["requests"].get(key, 0))

    cpu = {k: cpu1.get(k, 0.0) - cpu0.get(k, 0.0) for k in cpu1}
    cpu_paying = {k: cpu_placed.get(k, 0.0) - cpu0.get(k, 0.0) for k in cpu_placed}
    cores = os.cpu_count() or 1
    result = {
        "orders": n, "placed_and_paid": len(paid), "confirmed": orders.get("CONFIRMED", 0),
        "order_statuses": dict(orders), "paying_s": t_placed - t0, "paid_per_s": len(paid) / (t_placed - t0),
        "callback_statuses": dict(callback_statuses),
        "deliveries": dict(deliveries), "all_delivered": drained, "sales_received": received,
        "duplicate_sales_stored": dup_stored, "missing": len(missing), "missing_ids": missing[:20],
        "sale_posts": delta("sale_post"), "sale_lookups": delta("sale_get"),
        "rista_dedupe_absorbed": int(stats1["sale_duplicates"]) - int(stats0["sale_duplicates"]),
        "rista_dedupe_absorbed_mine": absorbed,
        "failures_injected_random": served, "outage": outage, "drain": drain,
        "drain_after_last_paid_s": last_delivered - t_placed, "wait_total_s": t_drained - t_placed,
        "attempts_hist": dict(sorted(attempts_hist.items())), "attempt_outcomes": dict(outcomes),
        "attempt_http": dict(http_codes), "invoice_mismatch": invoice_mismatch,
        "cpu_s": {k: round(v, 1) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])},
        "cpu_paying_s": {k: round(v, 1) for k, v in sorted(cpu_paying.items(), key=lambda kv: -kv[1])},
        "machine_busy_paying_pct": 100 * sum(cpu_paying.values()) / ((t_placed - t0) * cores),
        "steps": {k: summary(v) for k, v in steps.items()},
        "server_steps": {k: summary(v) for k, v in server.items()},
        "confirmed_to_delivered": {k: summary(v) for k, v in by_phase.items()},
        "retry_gaps": summary(gaps), "logs": logs, "attempt_duration": summary(durations),
        "first_attempt_wait": {k: summary(v) for k, v in first_wait.items()},
        "wall_s": t_drained - t0, "chaos_problems": chaos.problems, "rate_limited_retries": ctx.api.rate_limited,
    }
    log(f"   paid {len(paid)}, confirmed {result['confirmed']}, sales {received}, duplicates stored {dup_stored}, "
        f"missing {len(missing)}, POST /sale {result['sale_posts']}, lookups {result['sale_lookups']}, "
        f"absorbed by Rista dedupe {result['rista_dedupe_absorbed']}")
    return result


# --- rendering ----------------------------------------------------------------------------------------------
def f_ms(x: float) -> str:
    if x is None or math.isnan(x):
        return "-"
    return f"{x * 1000:.1f}" if x < 1 else f"{x * 1000:,.0f}"


def f_s(x: float) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.2f}"


def load_note(*parts: tuple[str, dict[str, Any] | None]) -> str:
    """How busy the machine was: our processes, and everyone else (flagged when that skews the figures)."""
    bits = []
    for label, part in parts:
        load = (part or {}).get("load")
        if load:
            flag = " (!) figures suspect" if load["other_pct"] > QUIET_PCT else ""
            bits.append(f"{label + ': ' if label else ''}ours {load['ours_pct']:.0f}%, "
                        f"other processes {load['other_pct']:.0f}%{flag}")
    return "- Machine use (share of all cores) during the measurement: " + "; ".join(bits) if bits else ""


def render(data: dict[str, Any]) -> str:
    out: list[str] = []
    w = data.get("webhook")
    if w:
        b, first, dup = w["burst"], w["replay_first"], w["replay_dup"]
        rows = [
            ["sandbox burst: every customer pays at once (16 threads); sandbox sends callbacks one at a time",
             str(b["paid"]), "1 (sandbox)", f"{b['callbacks_per_s']:.0f}", f_ms(b["sandbox_observed"]["p50"]),
             f_ms(b["sandbox_observed"]["p99"]), f_ms(b["sandbox_observed"]["max"]), "sandbox",
             ", ".join(f"{k}: {v}" for k, v in b["http_statuses"].items())],
            ["  same callbacks, server time (gunicorn %(D)s)", str(b["server"]["n"]), "", "",
             f_ms(b["server"]["p50"]), f_ms(b["server"]["p99"]), f_ms(b["server"]["max"]), "server", ""],
            ["signed v2 callbacks, first delivery", str(first["requests"]), str(w["concurrency"]),
             f"{first['rps']:.0f}", f_ms(first["client"]["p50"]), f_ms(first["client"]["p99"]),
             f_ms(first["client"]["max"]), "client", ", ".join(f"{k}: {v}" for k, v in first["answers"].items())],
            ["  same, server time", str(first["server"]["n"]), "", "", f_ms(first["server"]["p50"]),
             f_ms(first["server"]["p99"]), f_ms(first["server"]["max"]), "server", ""],
            ["signed v2 callbacks, duplicates (each replayed twice)", str(dup["requests"]), str(w["concurrency"]),
             f"{dup['rps']:.0f}", f_ms(dup["client"]["p50"]), f_ms(dup["client"]["p99"]), f_ms(dup["client"]["max"]),
             "client", ", ".join(f"{k}: {v}" for k, v in dup["answers"].items())],
            ["  same, server time", str(dup["server"]["n"]), "", "", f_ms(dup["server"]["p50"]),
             f_ms(dup["server"]["p99"]), f_ms(dup["server"]["max"]), "server", ""],
        ]
        out.append(table("1. PhonePe webhook under concurrent callbacks (POST /api/v1/payment/webhook)",
                         ["scenario", "callbacks", "concurrency", "req/s", "p50 ms", "p99 ms", "max ms",
                          "measured by", "answers"], rows))
        out.append("")
        out.append(f"- Burst: {b['confirmed']}/{b['orders']} orders CONFIRMED. Replays: {w['replay_confirmed']}/"
                   f"{w['replay_orders']} CONFIRMED; {first['confirmed_before']} were already confirmed by the "
                   f"reconciler when the replay started ({first['age_at_start_s']:.0f} s after the first initiation).")
        for label, r in (("first delivery", first), ("duplicate", dup)):
            cpu = r.get("cpu_ms_per_request", {})
            top = sorted(((k, v) for k, v in cpu.items() if v >= 0.05), key=lambda kv: -kv[1])
            out.append(f"- CPU per {label} (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in top)
                       + " (worker: the kitchen sends the confirmations triggered)" * (label == "first delivery"))
        out.append(load_note(("burst", b), ("first deliveries", first), ("duplicates", dup)))
        out.append("")
    c = data.get("confirm")
    if c:
        rows = []
        d = c["delivered"]["latency"]
        rows.append(["callback delivered", str(d["n"]), f_s(d["p50"]), f_s(d["p99"]), f_s(d["max"]), "-", "-", "-",
                     "poll every 50 ms"])
        for key in ("dropped", "dropped_lowered"):
            r = c.get(key)
            if not r:
                continue
            how = "as configured" if key == "dropped" else "lowered"
            for group, label in (("before", f"paid before the first check (< {r['first_check']} s)"),
                                 ("after", "paid after it")):
                g = r["groups"][group]
                if not g["lat"]["n"]:
                    continue
                rows.append([f"callback dropped, first check {r['first_check']} s ({how}): {label}",
                             str(g["lat"]["n"]), f_s(g["lat"]["p50"]), f_s(g["lat"]["p99"]), f_s(g["lat"]["max"]),
                             f_s(g["wait"]["mean"]), f_s(g["lag"]["p50"]), f_s(g["lag"]["max"]),
                             "poll every 100 ms"])
            lat = r["latency"]
            rows.append([f"  all dropped ({how}; paid {r['pay_delays_s'][0]:.0f}-{r['pay_delays_s'][1]:.0f} s "
                         "after the QR was shown)", str(lat["n"]), f_s(lat["p50"]), f_s(lat["p99"]), f_s(lat["max"]),
                         f_s(r["schedule_wait"]["mean"]), f_s(r["reconciler_lag"]["p50"]),
                         f_s(r["reconciler_lag"]["max"]), ""])
        out.append(table("2. Customer paid in the PhonePe sandbox -> CONFIRMED on GET /orders/{id}/status (seconds)",
                         ["case", "orders", "p50 s", "p99 s", "max s", "schedule: mean wait for the next check s",
                          "lag after that check p50 s", "lag max s", "notes"], rows))
        out.append("")
        out.append(load_note(("delivered", c["delivered"]), ("dropped", c.get("dropped")),
                             ("dropped, lowered", c.get("dropped_lowered"))))
        out.append("")
    k = data.get("kitchen")
    if k:
        rows = []
        for key, label in (("callback_to_sale", "PhonePe callback sent -> sale received by Rista"),
                           ("pay_to_sale", "customer pays (control call) -> sale received"),
                           ("answer_to_sale", "our webhook answered -> sale received (negative: sale first)")):
            s = k[key]
            target = f"p99 < {TARGET_KITCHEN_P99_S:.0f} s" if key == "callback_to_sale" else ""
            met = ("met" if s["p99"] < TARGET_KITCHEN_P99_S else "NOT met") if target else ""
            rows.append([label, str(s["n"]), f_ms(s["p50"]), f_ms(s["p90"]), f_ms(s["p99"]), f_ms(s["max"]), target,
                         met])
        out.append(table(f"3. Payment callback -> sale in the Rista sandbox ({k['paid']} orders at "
                         f"{k['rate_per_s']:.1f} orders/s; ms)",
                         ["interval", "orders", "p50 ms", "p90 ms", "p99 ms", "max ms", "target", "result"], rows))
        out.append("")
        out.append(f"- Missing from Rista: {k['missing']}; deliveries {k['deliveries']}; callback answers "
                   f"{k['callback_statuses']}.")
        if "pg_sessions_per_order" in k:
            out.append(f"- Per paid order, all processes: {k['pg_sessions_per_order']:.2f} new PostgreSQL sessions, "
                       f"{k['pg_commits_per_order']:.1f} commits (pg_stat_database).")
        out.append(load_note(("", k)))
        out.append("")
    s = data.get("soak")
    if s:
        out.extend(render_soak(s))
    retries = {k: v for k, v in data.get("client_retries", {}).items() if v}
    if retries:
        out.append("Client retries (the sandboxes' listen backlog is 5): "
                   + ", ".join(f"{k}: {v}" for k, v in retries.items()))
    if data.get("errors"):
        out.append(f"Errors ({len(data['errors'])}):")
        out.extend(f"- {e}" for e in data["errors"][:20])
    return "\n".join(out)


STEP_NAMES = (("place", "POST /orders"), ("initiate", "POST /payment/initiate (calls PhonePe pay)"),
              ("pay", "sandbox pay -> callback answered (queued behind other callbacks)"))


def render_soak(s: dict[str, Any]) -> list[str]:
    o, dr, fi = s["outage"], s["drain"], s["failures_injected_random"]
    backlog = dr.get("backlog_delivered_after_recovery") or summary([])
    ok = s["duplicate_sales_stored"] == 0 and s["missing"] == 0 and s["confirmed"] == s["placed_and_paid"]
    rows = [
        ["orders placed, initiated and paid (sandbox callback answered)", f"{s['placed_and_paid']} of {s['orders']}"],
        ["orders CONFIRMED", str(s["confirmed"])],
        ["paying rate (12 kiosk threads)", f"{s['paid_per_s']:.1f} orders/s over {s['paying_s']:.0f} s "
                                           f"(machine {s['machine_busy_paying_pct']:.0f}% busy)"],
        ["Rista outage (every sale request answered 503)",
         f"{o.get('end', 0) - o.get('start', 0):.1f} s, from paid order #{o.get('at_order', '-')}"],
        ["random failures Rista served outside the outage",
         f"{fi.get('error', 0)} x 500 (nothing stored) + {fi.get('store_then_error', 0)} x stored-then-500"],
        ["sales received in Rista (distinct orders)", str(s["sales_received"])],
        ["DUPLICATE SALES STORED (sales per orderTransactionId > 1; must be 0)", str(s["duplicate_sales_stored"])],
        ["PAID ORDERS MISSING IN RISTA (must be 0)", str(s["missing"])],
        ["raw POST /v1/sale requests", str(s["sale_posts"])],
        ["GET /v1/sale lookups (every retry looks up first)", str(s["sale_lookups"])],
        ["duplicate POST attempts absorbed by Rista's dedupe (nothing stored)", str(s["rista_dedupe_absorbed"])],
        ["resends avoided: the lookup found a sale stored by a failed POST",
         str(sum(v for k, v in s["attempt_outcomes"].items() if k.startswith("duplicate_found")))],
        ["our invoice number differs from Rista's sale", str(s["invoice_mismatch"])],
        ["backlog (paid, not in Rista) when Rista came back", str(dr.get("backlog_at_recovery", "-"))],
        ["backlog in Rista after recovery: p50 / p90 / all", f"{f_s(backlog['p50'])} / {f_s(backlog['p90'])} / "
                                                              f"{dr.get('drain_after_recovery_s', 0):.1f} s"],
        ["last sale delivered, after the last order was paid", f"{s['drain_after_last_paid_s']:.1f} s"],
        ["one attempt (claim, lookup, POST, record): p50 / p99 / max",
         f"{f_ms(s['attempt_duration']['p50'])} / {f_ms(s['attempt_duration']['p99'])} / "
         f"{f_ms(s['attempt_duration']['max'])} ms"] if "attempt_duration" in s else ["", ""],
        ["between two attempts of one delivery (backoff + waiting for a worker): p50 / p99 / max",
         f"{f_s(s['retry_gaps']['p50'])} / {f_s(s['retry_gaps']['p99'])} / {f_s(s['retry_gaps']['max'])} s"],
        ["final delivery states", ", ".join(f"{k}: {v}" for k, v in s["deliveries"].items())],
        ["exactly once", "yes" if ok else "NO"],
    ]
    env = ", ".join(f"{k}={v}" for k, v in s.get("env", {}).items())
    out = [table(f"4. Soak: Rista failing 20% of sale requests at random + down 30 s in the middle ({env})",
                 ["measure", "value"], rows), "", load_note(("", s)), ""]
    cd, fw = s["confirmed_to_delivered"], s.get("first_attempt_wait", {})
    empty = summary([])
    out.append(table("4b. Confirmed -> sale in Rista during the soak, by when the order was paid (s); and how long "
                     "its first attempt waited for a worker",
                     ["paid", "orders", "p50", "p90", "p99", "max", "1st attempt wait p50", "p99"],
                     [[label, str(cd[k]["n"]), f_s(cd[k]["p50"]), f_s(cd[k]["p90"]), f_s(cd[k]["p99"]),
                       f_s(cd[k]["max"]), f_s(fw.get(k, empty)["p50"]), f_s(fw.get(k, empty)["p99"])]
                      for k, label in (
                         ("before", "more than 60 s before the outage (20% random failures only)"),
                         ("during", "in the minute before or during the outage"),
                         ("after", "after Rista came back (behind the backlog)"))]))
    out.append("")
    out.append(table("4c. Kitchen delivery attempts per order (soak)", ["attempts", "orders"],
                     [[k, str(v)] for k, v in s["attempts_hist"].items()]))
    out.append("")
    out.append(table("4d. Attempt outcomes (soak; one row per claimed send)", ["outcome", "attempts"],
                     [[k, str(v)] for k, v in sorted(s["attempt_outcomes"].items(), key=lambda kv: -kv[1])]))
    out.append("")
    st, sv = s["steps"], s.get("server_steps", {})
    empty = summary([])
    out.append(table("4e. Each order's steps during the soak (ms): as the client saw them, and our server time "
                     "(gunicorn %(D)s; for pay: our webhook)",
                     ["step", "n", "client p50", "client p99", "client max", "server p50", "server p99"],
                     [[name, str(st[key]["n"]), f_ms(st[key]["p50"]), f_ms(st[key]["p99"]), f_ms(st[key]["max"]),
                       f_ms(sv.get(key, empty)["p50"]), f_ms(sv.get(key, empty)["p99"])]
                      for key, name in STEP_NAMES]))
    out.append("")
    paying, total = s["cpu_paying_s"], s["cpu_s"]
    out.append(table("4f. CPU seconds by process during the soak", ["process", "while paying", "share",
                                                                      "whole soak", "share"],
                     [[k, f"{paying.get(k, 0):.1f}", f"{100 * paying.get(k, 0) / max(1e-9, sum(paying.values())):.0f}%",
                       f"{v:.1f}", f"{100 * v / max(1e-9, sum(total.values())):.0f}%"] for k, v in total.items()]))
    out.append("")
    logs = s.get("logs", {})
    rows = [[f"{proc}: {k}", str(v)] for proc, summary_ in logs.items() for k, v in sorted(summary_["counts"].items())]
    rows += [[f"{proc}: ERROR {k}", str(v)] for proc, summary_ in logs.items() for k, v in summary_["errors"].items()]
    if not any(summary_["errors"] for summary_ in logs.values()):
        rows.append(["errors logged by web, worker or beat (other than the alerts)", "0"])
    out.append(table("4g. What the app logged during the soak (worker: one line per task run)", ["event", "count"],
                     rows))
    out.append("")
    return out


def machine_text(info: dict[str, Any], plan_name: str) -> str:
    return (f"{info['date']} | {info['cores']} cores, {info['cpu_model']}, {info['memory_gb']} GB | "
            f"Python {info['python']}, Django {info['django']}, gunicorn {info['gunicorn']} (gthread "
            f"{GUNICORN_WORKERS}x{GUNICORN_THREADS}), Celery {celery_version()} ({CELERY_POOL} -c "
            f"{CELERY_CONCURRENCY}) + beat, PostgreSQL {info.get('postgresql', '?')}, Redis {info.get('redis', '?')}"
            f" | {plan_name} run, kiosk pool {KIOSK_POOL}")


def celery_version() -> str:
    try:
        from importlib.metadata import version

        return version("celery")
    except Exception:
        return "?"


# --- main ---------------------------------------------------------------------------------------------------
def run(stack: Stack, services: tuple[str, str], plan: Plan, only: set[str]) -> dict[str, Any]:
    st = PkStack(stack, *services)
    st.start_sandboxes()
    log("migrating")
    st.migrate()
    keys = st.create_kiosks()
    log(f"{len(keys)} kiosks created")
    data: dict[str, Any] = {"plan": plan.__dict__, "started": dt.datetime.now().astimezone().isoformat()}
    ctx = Ctx(st, keys)
    ctx.quiet_budget = [plan.quiet_budget_s if QUIET_BUDGET is None else float(QUIET_BUDGET)]
    ctx.quiet_wait = plan.quiet_wait_s
    try:
        wait_quiet(st, ctx.quiet_budget, "the first section", plan.quiet_wait_s * 2)
        st.start_app()
        ctx.api.prepare_carts()
        if "webhook" in only:
            data["webhook"] = measured(ctx, "1 webhook", lambda: section_webhook(ctx, plan))
        if "confirm" in only:
            data["confirm"] = {
                "delivered": measured(ctx, "2a confirm", lambda: section_confirm_delivered(ctx, plan)),
                "dropped": measured(ctx, "2b reconciler", lambda: section_confirm_dropped(
                    ctx, plan.dropped_orders, DEFAULT_FIRST_CHECK, plan.dropped_beyond_s))}
        if "kitchen" in only:
            data["kitchen"] = measured(ctx, "3 kitchen", lambda: section_kitchen(ctx, plan))
        st.check_alive()
        if "confirm" in only and plan.dropped_lowered:
            st.stop_app()
            st.start_app({"PAYMENT_RECONCILE_FIRST_CHECK": str(LOWERED_FIRST_CHECK)})
            data["confirm"]["dropped_lowered"] = measured(
                ctx, "2b reconciler, lowered",
                lambda: section_confirm_dropped(ctx, plan.dropped_orders, LOWERED_FIRST_CHECK, plan.dropped_beyond_s))
        if "soak" in only:
            st.stop_app()
            st.start_app(SOAK_ENV)
            data["soak"] = measured(ctx, "4 soak", lambda: section_soak(ctx, plan))
            data["soak"]["env"] = SOAK_ENV
        st.check_alive()
    except BaseException:
        STOP.set()
        raise
    finally:
        data["errors"] = ctx.errors
        data["client_retries"] = {"GET after a connection reset": ctx.http.get_retries,
                                  "PhonePe control call after a connection reset": ctx.phonepe.connection_retries}
        st.stop_app()
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.payments_kitchen", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (about 3 minutes)")
    parser.add_argument("--only", default="webhook,confirm,kitchen,soak",
                        help="comma-separated sections (default: all)")
    args = parser.parse_args(argv)
    install_signal_handlers()
    services = require_services()
    plan = QUICK if args.quick else FULL
    info = machine_info()
    for key in ("generator", "duration_s", "warmup_s", "wrk_threads"):  # about bench.common's wrk scenarios
        info.pop(key, None)
    info["gunicorn_config"] = {"worker_class": "gthread", "workers": GUNICORN_WORKERS, "threads": GUNICORN_THREADS}
    info["celery"] = {"version": celery_version(), "pool": CELERY_POOL, "concurrency": CELERY_CONCURRENCY}
    t0 = time.time()
    with interrupt_message(), Stack() as stack:
        data = run(stack, services, plan, set(args.only.split(",")))
    data["wall_s"] = time.time() - t0
    print()
    print(machine_text(info, "quick" if args.quick else "full"))
    print()
    print(render(data))
    print(f"\nTotal wall time {data['wall_s']:.0f} s.")
    path = write_result("payments-kitchen", {"machine": info, "quick": args.quick, **data})
    log(f"results written to {path.relative_to(ROOT)}")
    return 1 if data["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
