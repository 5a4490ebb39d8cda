"""`make soak` (python -m bench.soak [--quick] [--only NAMES]): the fault soak of the money and kitchen path.

Production's stack on loopback, with faults injected while kiosks place and customers pay orders:
a private PostgreSQL and a private Redis (cache and broker, AOF as in docker-compose.yml) that the
soak restarts, gunicorn (gthread 2x8, production settings), one Celery worker (prefork -c 4, the
worker flags of docker-compose.yml) with celery beat, and the Rista and PhonePe sandboxes. The Rista
sandbox's merge on orderTransactionId is switched off, so a second POST of one order would be a
second kitchen ticket and counts as a duplicate post.

Experiments, each on fresh orders (the stack lives through all of them):
  baseline          no fault
  worker_kills      SIGKILL a pool child, then the whole worker, then its main process only
                    (a supervisor starts a new worker after each whole-worker death, as compose does)
  redis_restart     Redis stopped and started again three times (down 1 s each, as a container restart)
  postgres_restart  PostgreSQL stopped and started again (10 s down; 5 s with --quick)
  rista_failing     30% of sale requests fail: 500s, stored-then-500s and sales stored late, after our
                    read timeout; Rista recovers when the orders stop
  webhook_abuse     every genuine PhonePe callback replayed 10 times, and forged "paid" callbacks
                    (bad signature, and a good one for orders nobody paid) while orders flow
  rista_outage      issue 13's run: Rista failing 20% of sale requests throughout, and down (every sale
                    request 503) for 30 s from 20% of the orders; the kitchen worker SIGKILLed (with
                    its pool, then its main process only) and the payments worker's main process SIGKILLed
                    during it, each replaced; 1 order in 10 has its PhonePe callback dropped (only the
                    reconciler, a task on the payments queue, can confirm it). Reports the confirmation
                    latency of the orders paid during the outage (target p99 < 1 s). `--orders 2000`.
  rabbitmq_restart  (--broker rabbitmq) RabbitMQ stopped and started again three times (down 1 s each)

--broker rabbitmq: Celery on a private RabbitMQ node (production's broker, as docker-compose.yml), with a
worker per queue (payments -c 2, kitchen -c 4, menu -c 1); Redis stays the cache. Default: Redis is the
broker too, with one worker for every queue (the simple modes).
Per experiment: placed, paid, confirmed, sales in Rista, duplicate posts, missing (paid, not in
Rista), paid-but-unconfirmed, and the drain time (end of the load and of the fault -> every paid
order in the kitchen). It must end with 0 missing, 0 duplicate posts, 0 paid-but-unconfirmed and a
drain under 60 s everywhere; the exit status says whether it did. Figures: docs/performance-payments-kitchen.md.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    PRODUCTION_ENV,
    ROOT,
    Stack,
    install_signal_handlers,
    interrupt_message,
    machine_info,
    say,
    table,
    write_result,
)
from bench.pk_client import BenchError, Http, KioskApi, PhonePe, Placed, Rista, RistaChaos, summary
from bench.pk_stack import PkStack
from bench.soak_services import PrivatePostgres, PrivateRabbitMQ, PrivateRedis

EXPERIMENTS = ("baseline", "worker_kills", "redis_restart", "postgres_restart", "rista_failing", "webhook_abuse",
               "rista_outage", "rabbitmq_restart")
DEFAULT_EXPERIMENTS = EXPERIMENTS[:6]
# docker-compose.yml's workers: (queues, concurrency).
COMPOSE_WORKERS = (("payments", 2), ("kitchen", 4), ("menu", 1))
RISTA_OUTAGE_S = 30.0
DROP_CALLBACK_EVERY = 10  # rista_outage: one order in 10 is confirmed by the reconciler
DRAIN_TARGET_S = 60.0
LATENCY_P99_TARGET_S = 1.0  # rista_outage: confirmation of the orders paid while Rista is down
WORKER_FLAGS = ("--without-gossip", "--without-mingle")  # docker-compose.yml's worker
READ_TIMEOUT_S = 5.0  # RISTA_READ_TIMEOUT's default: late stores come after it
WEBHOOK_PATH = "/api/v1/payment/webhook"
_STARTED = time.monotonic()
# Processes the soak starts mid-run (a replacement worker) are started from this one long-lived thread:
# bench.common asks Linux to SIGTERM a child when the *thread* that started it ends (PR_SET_PDEATHSIG).
SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spawner")


def log(msg: str) -> None:
    say(f"{time.monotonic() - _STARTED:5.0f}s {msg}")


@dataclass(frozen=True)
class Plan:
    orders: int  # per experiment
    threads: int  # kiosk threads placing and paying
    postgres_down_s: float
    drain_timeout_s: float


FULL = Plan(orders=int(os.environ.get("BENCH_SOAK_ORDERS", 300)), threads=8, postgres_down_s=10.0,
            drain_timeout_s=240.0)
QUICK = Plan(orders=int(os.environ.get("BENCH_SOAK_ORDERS", 60)), threads=6, postgres_down_s=5.0,
             drain_timeout_s=150.0)


@dataclass
class Soak:
    stack: PkStack
    pg: PrivatePostgres
    redis: PrivateRedis
    api: KioskApi
    phonepe: PhonePe
    rista: Rista
    http: Http
    plan: Plan
    rabbitmq: PrivateRabbitMQ | None = None


@dataclass
class Run:
    """One experiment's orders, and what happened to the load while it ran."""

    placed: list[Placed] = field(default_factory=list)
    paid: list[Placed] = field(default_factory=list)
    failed_requests: collections.Counter[str] = field(default_factory=collections.Counter)
    notes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    fault_ended: float = 0.0
    drop_callback_every: int = 0  # 0: every callback delivered
    outage: list[float] = field(default_factory=list)  # [start, end] of a Rista outage (epoch s)
    timers: list[threading.Timer] = field(default_factory=list)


# --- load ---------------------------------------------------------------------------------------------------
def load(soak: Soak, run: Run, triggers: list[tuple[float, Callable[[], None]]]) -> float:
    """Place and pay `plan.orders` orders from `plan.threads` kiosk threads, while one controller thread
    runs each trigger, in order, once that share of the orders is paid (the load goes on meanwhile; a
    trigger whose moment never came runs after the load). Returns when the load ended."""
    n, deadline = soak.plan.orders, time.time() + 600
    attempts = iter(range(4 * n))
    in_flight = [0]  # orders started and not failed: never more than n
    load_done = threading.Event()

    def controller() -> None:
        for share, action in sorted(triggers, key=lambda t: t[0]):
            while len(run.paid) < share * n and not load_done.is_set():
                time.sleep(0.05)
            action()
            run.fault_ended = max(run.fault_ended, time.time())

    def kiosk() -> None:
        try:
            while time.time() < deadline:
                with run.lock:
                    i = next(attempts, None) if in_flight[0] < n else None
                    if i is None:
                        return
                    in_flight[0] += 1
                try:
                    placed = soak.api.place_and_initiate(i, deadline)
                except Exception as exc:
                    _count_failure(run, "place or initiate", exc, in_flight)
                    continue
                with run.lock:
                    run.placed.append(placed)
                try:
                    if run.drop_callback_every and i % run.drop_callback_every == 0:
                        soak.phonepe.set_callback(placed.ref, "drop")
                        placed.extra["callback_dropped"] = True
                    placed.extra["t_pay"] = time.time()
                    soak.phonepe.pay(placed.ref)
                except Exception as exc:
                    _count_failure(run, "pay", exc, in_flight)
                    continue
                with run.lock:
                    run.paid.append(placed)
        finally:
            soak.http.close_thread()

    control = threading.Thread(target=controller, name="faults", daemon=True)
    control.start()
    threads = [threading.Thread(target=kiosk, daemon=True) for _ in range(soak.plan.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=700)
    ended = time.time()
    load_done.set()
    control.join(timeout=300)
    run.fault_ended = max(run.fault_ended, ended)
    return ended


def _count_failure(run: Run, step: str, exc: Exception, in_flight: list[int]) -> None:
    with run.lock:
        run.failed_requests[step] += 1
        in_flight[0] -= 1  # someone else places one in its stead
    time.sleep(0.3)  # the service is down or failing: do not spin


# --- faults ---------------------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def kill_pool_child(soak: Soak, run: Run) -> None:
    children = _children(soak.stack.worker_for("kitchen").pid)
    if children:
        os.kill(children[0], signal.SIGKILL)
        run.notes.append(f"SIGKILL pool child {children[0]}")


def kill_worker(soak: Soak, run: Run, *, main_only: bool, queue: str = "") -> None:
    worker = soak.stack.worker_for(queue) if queue else soak.stack.worker
    if main_only:
        os.kill(worker.pid, signal.SIGKILL)
    else:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    SPAWNER.submit(soak.stack.replace_worker, worker).result()  # what compose's restart policy (or make run) does
    run.notes.append(f"SIGKILL {queue + ' ' if queue else ''}worker {'main process' if main_only else 'and its pool'} "
                     f"{worker.pid}; replaced")


def restart_rabbitmq(soak: Soak, run: Run, down_for: float) -> None:
    assert soak.rabbitmq is not None
    soak.rabbitmq.restart(down_for)
    run.notes.append(f"RabbitMQ down {down_for:.0f} s")


def rista_outage(chaos: RistaChaos, run: Run, seconds: float) -> None:
    """Rista down (every sale request 503) for `seconds`, ended by a timer: the load goes on meanwhile."""
    started = chaos.begin_outage()
    run.outage[:] = [started, started + seconds]

    def end() -> None:
        run.outage[1] = chaos.end_outage()
        run.fault_ended = max(run.fault_ended, run.outage[1])

    timer = threading.Timer(seconds, end)
    timer.daemon = True
    timer.start()
    run.notes.append(f"Rista down {seconds:.0f} s")
    run.timers.append(timer)


def restart_redis(soak: Soak, run: Run, down_for: float) -> None:
    soak.redis.restart(down_for)
    run.notes.append(f"Redis down {down_for:.0f} s")


def restart_postgres(soak: Soak, run: Run, down_for: float) -> None:
    soak.pg.restart(down_for)
    run.notes.append(f"PostgreSQL down {down_for:.0f} s")


def experiment_faults(name: str, soak: Soak, run: Run, chaos: RistaChaos | None = None,
                      ) -> list[tuple[float, Callable[[], None]]]:
    if name == "rista_outage":
        assert chaos is not None
        return [(0.2, lambda: rista_outage(chaos, run, RISTA_OUTAGE_S)),
                (0.25, lambda: kill_worker(soak, run, main_only=False, queue="kitchen")),
                (0.3, lambda: kill_worker(soak, run, main_only=True, queue="payments")),
                (0.35, lambda: kill_worker(soak, run, main_only=True, queue="kitchen"))]
    if name == "rabbitmq_restart":
        return [(share, lambda: restart_rabbitmq(soak, run, 1.0)) for share in (0.25, 0.5, 0.75)]
    if name == "worker_kills":
        # The kitchen's worker (with --broker rabbitmq, the one on the kitchen queue): it holds the sends.
        return [(0.25, lambda: kill_pool_child(soak, run)),
                (0.5, lambda: kill_worker(soak, run, main_only=False, queue="kitchen")),
                (0.75, lambda: kill_worker(soak, run, main_only=True, queue="kitchen"))]
    if name == "redis_restart":
        return [(share, lambda: restart_redis(soak, run, 1.0)) for share in (0.25, 0.5, 0.75)]
    if name == "postgres_restart":
        return [(0.5, lambda: restart_postgres(soak, run, soak.plan.postgres_down_s))]
    return []


class Abuser:
    """Replays genuine PhonePe callbacks 10 times each and forges "paid" callbacks, while orders flow."""

    REPLAYS = 10

    def __init__(self, soak: Soak, run: Run) -> None:
        self.soak, self.run = soak, run
        self.stop = threading.Event()
        self.answers: collections.Counter[str] = collections.Counter()
        self.unpaid: list[Placed] = []
        self.thread = threading.Thread(target=self._loop, name="abuser", daemon=True)

    def start(self) -> None:
        api = self.soak.api
        self.unpaid = [api.place_and_initiate(10_000 + i, time.time() + 60) for i in range(5)]  # nobody pays these
        self.thread.start()

    def _post(self, body: bytes, headers: dict[str, str], label: str) -> None:
        try:
            r = self.soak.http.call("POST", f"{self.soak.stack.api}{WEBHOOK_PATH}", raw=body, headers=headers)
            self.answers[f"{label}: {r.status}"] += 1
        except Exception as exc:
            self.answers[f"{label}: {type(exc).__name__}"] += 1

    def _loop(self) -> None:
        pp, done = self.soak.phonepe, 0
        try:
            while not self.stop.is_set():
                with self.run.lock:
                    todo = self.run.paid[done:]
                    done += len(todo)
                for placed in todo:
                    body, headers = pp.signed_webhook(pp.order_status(placed.ref))
                    for _ in range(self.REPLAYS):
                        self._post(body, headers, "replayed genuine callback")
                for placed in self.unpaid:  # "it was paid", says the forger
                    status = pp.order_status(placed.ref)
                    forged = {**status, "state": "COMPLETED"}
                    body, headers = pp.signed_webhook(forged)
                    self._post(body, {**headers, "Authorization": "0" * 64}, "forged, bad signature")
                    self._post(body, headers, "forged state, good signature")
                self.stop.wait(0.5)
        finally:
            self.soak.http.close_thread()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=120)


# --- one experiment --------------------------------------------------------------------------------------
def experiment(soak: Soak, name: str) -> dict[str, Any]:
    run = Run()
    log(f"{name}: {soak.plan.orders} orders from {soak.plan.threads} kiosk threads")
    chaos = abuser = None
    if name in ("rista_failing", "rista_outage"):
        rate = 0.3 if name == "rista_failing" else 0.2
        chaos = RistaChaos(soak.rista, rate, store_share=0.25, late_share=0.25, late_delay=READ_TIMEOUT_S + 2)
        chaos.start()
    if name == "rista_outage":
        run.drop_callback_every = DROP_CALLBACK_EVERY
    if name == "webhook_abuse":
        abuser = Abuser(soak, run)
        abuser.start()
    workers_before = {w.pid: w for w in soak.stack.workers}
    started = time.time()
    try:
        ended = load(soak, run, experiment_faults(name, soak, run, chaos))
    finally:
        for timer in run.timers:  # an outage still under way ends now, as it would have
            timer.join(timeout=RISTA_OUTAGE_S + 30)
        if chaos is not None:
            served = chaos.served_failures()
            chaos.stop()  # Rista recovers with the end of the load
            run.notes.append(f"Rista failures served: {served}")
            run.fault_ended = time.time()
        if abuser is not None:
            abuser.finish()
    drain_from = max(ended, run.fault_ended)
    ids = [p.order_id for p in run.paid]
    drained = _wait_drained(soak, ids, soak.plan.drain_timeout_s)
    drain_s = (drained - drain_from) if drained else float("nan")
    result = _measure(soak, name, run, ids)
    result.update({"drain_s": drain_s, "load_s": ended - started, "failed_requests": dict(run.failed_requests),
                   "notes": run.notes})
    if abuser is not None:
        unpaid = [p.order_id for p in abuser.unpaid]
        in_rista = _sales_by_order(soak)
        result["abuse"] = {"answers": dict(abuser.answers), "unpaid_in_rista": sum(1 for o in unpaid if o in in_rista),
                           "unpaid_confirmed": _count(soak, "SELECT count(*) FROM orders_order WHERE "
                                                            "id = ANY(%s::uuid[]) AND status = 'CONFIRMED'", unpaid)}
    current = {w.pid for w in soak.stack.workers}
    died = any(pid in current and w.poll() is not None for pid, w in workers_before.items())
    result["worker_died_unplanned"] = died
    if name == "rista_outage":
        result["latency"] = _confirmation_latency(soak, run)
    log(f"   {name}: paid {result['paid']}, confirmed {result['confirmed']}, sales {result['sales']}, duplicate posts "
        f"{result['duplicate_posts']}, missing {result['missing']}, drain {drain_s:.1f} s"
        + (" - THE WORKER DIED" if died else ""))
    return result


def _confirmation_latency(soak: Soak, run: Run) -> dict[str, Any]:
    """Seconds from the customer's payment to the order CONFIRMED (our confirmed_at), for the orders paid
    while Rista was down and for all; the callback-dropped ones separately, as the reconciler's lag after
    the status check PhonePe's schedule allows (first check PAYMENT_RECONCILE_FIRST_CHECK after the QR)."""
    with soak.stack.db() as conn:
        rows = conn.execute("SELECT o.id::text, extract(epoch FROM o.confirmed_at), extract(epoch FROM d.delivered_at) "
                            "FROM orders_order o LEFT JOIN kds_bridge_kitchendelivery d ON d.order_id = o.id "
                            "WHERE o.id = ANY(%s::uuid[]) AND o.confirmed_at IS NOT NULL",
                            ([p.order_id for p in run.paid],)).fetchall()
    confirmed = {oid: float(at) for oid, at, _ in rows}
    delivered = {oid: float(at) for oid, _, at in rows if at is not None}
    first_check = float(os.environ.get("PAYMENT_RECONCILE_FIRST_CHECK", 25))
    start, end = run.outage if len(run.outage) == 2 else (0.0, 0.0)
    webhook: list[float] = []
    during: list[float] = []
    reconciler: list[float] = []
    kitchen_after: list[float] = []  # paid after Rista came back: confirmed -> in Rista (behind the backlog)
    for p in run.paid:
        at = confirmed.get(p.order_id)
        if at is None:
            continue
        if end and p.extra["t_pay"] > end and p.order_id in delivered:
            kitchen_after.append(delivered[p.order_id] - at)
        if p.extra.get("callback_dropped"):
            reconciler.append(at - max(p.extra["t_pay"], p.t_initiated + first_check))
            continue
        webhook.append(at - p.extra["t_pay"])
        if start <= p.extra["t_pay"] <= end:
            during.append(at - p.extra["t_pay"])
    return {"during_outage": summary(during), "all_webhook": summary(webhook), "reconciler_lag": summary(reconciler),
            "kitchen_after_outage": summary(kitchen_after)}


def _wait_drained(soak: Soak, ids: list[str], timeout: float) -> float | None:
    """When every paid order was CONFIRMED and DELIVERED (epoch s), or None if that did not happen in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            open_ = _count(soak, "SELECT count(*) FROM orders_order o LEFT JOIN kds_bridge_kitchendelivery d "
                                 "ON d.order_id = o.id WHERE o.id = ANY(%s::uuid[]) AND (o.status <> 'CONFIRMED' "
                                 "OR d.status IS DISTINCT FROM 'DELIVERED')", ids)
        except Exception:  # PostgreSQL may still be coming back
            open_ = -1
        if open_ == 0:
            return time.time()
        time.sleep(0.25)
    log(f"WARNING not drained within {timeout:.0f} s")
    return None


def _count(soak: Soak, sql: str, ids: list[str]) -> int:
    with soak.stack.db() as conn:
        row = conn.execute(sql, (ids,)).fetchone()
        return int(row[0]) if row else 0


def _sales_by_order(soak: Soak) -> dict[str, int]:
    counts: dict[str, int] = collections.Counter()
    for sale in soak.rista.sales():
        counts[str((sale.get("sourceInfo") or {}).get("orderTransactionId"))] += 1
    return counts


def _measure(soak: Soak, name: str, run: Run, ids: list[str]) -> dict[str, Any]:
    sales = _sales_by_order(soak)
    confirmed = _count(soak, "SELECT count(*) FROM orders_order WHERE id = ANY(%s::uuid[]) AND status = 'CONFIRMED'",
                       ids)
    unpaid = [p.order_id for p in run.placed if p not in run.paid]
    return {
        "experiment": name, "placed": len(run.placed), "paid": len(run.paid), "confirmed": confirmed,
        "sales": sum(1 for i in ids if sales.get(i)),
        "duplicate_posts": sum(sales.get(i, 0) - 1 for i in ids if sales.get(i, 0) > 1),
        "missing": sum(1 for i in ids if not sales.get(i)),
        "paid_unconfirmed": len(ids) - confirmed,
        "unpaid_in_rista": sum(1 for i in unpaid if sales.get(i)),
        "rista_stats": {k: v for k, v in soak.rista.stats().items() if k in ("requests", "sale_duplicates")},
    }


# --- output ---------------------------------------------------------------------------------------------------
def passed(r: dict[str, Any]) -> bool:
    return (r["missing"] == 0 and r["duplicate_posts"] == 0 and r["paid_unconfirmed"] == 0
            and r["drain_s"] == r["drain_s"] and r["drain_s"] < DRAIN_TARGET_S and not r["worker_died_unplanned"]
            and r["unpaid_in_rista"] == 0 and r.get("abuse", {}).get("unpaid_confirmed", 0) == 0
            and not r.get("latency", {}).get("during_outage", {}).get("p99", 0) >= LATENCY_P99_TARGET_S)


def render(results: list[dict[str, Any]]) -> str:
    rows = [[r["experiment"], str(r["placed"]), str(r["paid"]), str(r["confirmed"]), str(r["sales"]),
             str(r["duplicate_posts"]), str(r["missing"]), str(r["paid_unconfirmed"]),
             f"{r['drain_s']:.1f}" if r["drain_s"] == r["drain_s"] else "NOT DRAINED",
             "pass" if passed(r) else "FAIL"] for r in results]
    out = [table(f"Fault soak (targets: 0 missing, 0 duplicate posts, 0 paid-but-unconfirmed, drain < "
                 f"{DRAIN_TARGET_S:.0f} s)",
                 ["experiment", "placed", "paid", "confirmed", "sales", "duplicate posts", "missing",
                  "paid-but-unconfirmed", "drain s", "result"], rows), ""]
    for r in results:
        bits = [f"load {r['load_s']:.0f} s"]
        if r["failed_requests"]:
            bits.append("requests that failed during the fault: " + ", ".join(
                f"{k} {v}" for k, v in r["failed_requests"].items()))
        bits += r["notes"]
        if "abuse" in r:
            bits.append("webhook answers: " + ", ".join(f"{k} x{v}" for k, v in sorted(r["abuse"]["answers"].items())))
            bits.append(f"unpaid orders confirmed by forged callbacks: {r['abuse']['unpaid_confirmed']}, "
                        f"in Rista: {r['abuse']['unpaid_in_rista']}")
        if "latency" in r:
            lat = r["latency"]
            for key, what in (("during_outage", "paid while Rista was down"), ("all_webhook", "all, by callback"),
                              ("reconciler_lag", "callback dropped: after the check was due"),
                              ("kitchen_after_outage", "paid after Rista came back: confirmed -> in Rista")):
                v = lat[key]
                bits.append(f"{'latency' if key.startswith('kitchen') else 'confirmation latency'}, {what}: "
                            f"n {v['n']}, p50 {v['p50'] * 1000:.0f} ms, "
                            f"p99 {v['p99'] * 1000:.0f} ms, max {v['max'] * 1000:.0f} ms")
        if r["worker_died_unplanned"]:
            bits.append("THE WORKER DIED on its own")
        out.append(f"- {r['experiment']}: " + "; ".join(bits))
    return "\n".join(out)


# --- main -------------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 orders per experiment, shorter outages")
    parser.add_argument("--only", default="", help="comma-separated experiments (default: the first six; "
                        "with --broker rabbitmq also rista_outage and rabbitmq_restart)")
    parser.add_argument("--broker", choices=("redis", "rabbitmq"), default="redis",
                        help="Celery's broker: Redis (one worker) or RabbitMQ (a worker per queue, as compose)")
    parser.add_argument("--orders", type=int, default=0, help="orders per experiment (default 300, quick 60)")
    args = parser.parse_args(argv)
    rabbit = args.broker == "rabbitmq"
    default = EXPERIMENTS if rabbit else DEFAULT_EXPERIMENTS
    names = [n for n in (args.only or ",".join(default)).split(",") if n]
    unknown = set(names) - set(EXPERIMENTS)
    if unknown:
        parser.error(f"unknown experiments: {', '.join(sorted(unknown))}")
    if "rabbitmq_restart" in names and not rabbit:
        parser.error("rabbitmq_restart needs --broker rabbitmq")
    plan = QUICK if args.quick else FULL
    if args.orders:
        plan = Plan(orders=args.orders, threads=plan.threads, postgres_down_s=plan.postgres_down_s,
                    drain_timeout_s=plan.drain_timeout_s)
    install_signal_handlers()
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)  # the soak's own servers, never someone else's
    info = machine_info()
    results: list[dict[str, Any]] = []
    t0 = time.time()
    pg, redis = PrivatePostgres(), PrivateRedis()
    rabbitmq = PrivateRabbitMQ() if rabbit else None
    with interrupt_message(), contextlib.ExitStack() as cleanup:
        cleanup.callback(pg.close)
        cleanup.callback(redis.close)
        if rabbitmq is not None:
            cleanup.callback(rabbitmq.close)
            starting = threading.Thread(target=rabbitmq.start)  # several seconds: meanwhile, the others
            starting.start()
        pg.start()
        redis.start()
        if rabbitmq is not None:
            starting.join()
        stack = cleanup.enter_context(Stack())
        st = PkStack(stack, pg.url, redis.url(0), worker_concurrency=4, worker_flags=WORKER_FLAGS,
                     worker_queues=COMPOSE_WORKERS if rabbit else (("", 0),))
        st.start_sandboxes()
        log("migrating")
        st.migrate()
        keys = st.create_kiosks()
        st.start_app({"CELERY_BROKER_URL": rabbitmq.url if rabbitmq is not None else redis.url(1)})
        http = Http()
        env = PRODUCTION_ENV
        soak = Soak(stack=st, pg=pg, redis=redis, api=KioskApi(http, st.api, keys), rista=Rista(http, st.rista),
                    phonepe=PhonePe(http, st.phonepe, client_id=env["PHONEPE_CLIENT_ID"],
                                    client_secret=env["PHONEPE_CLIENT_SECRET"],
                                    client_version=env["PHONEPE_CLIENT_VERSION"],
                                    webhook_user=env["PHONEPE_WEBHOOK_USERNAME"],
                                    webhook_password=env["PHONEPE_WEBHOOK_PASSWORD"]),
                    http=http, plan=plan, rabbitmq=rabbitmq)
        soak.api.prepare_carts()
        r = http.call("POST", f"{st.rista}/_control/dedupe", body={"enabled": False})
        if r.status != 200:
            raise BenchError(f"cannot switch the Rista sandbox's merge off: {r.brief()}")
        for name in names:
            results.append(experiment(soak, name))
        st.stop_app()
    print()
    print(f"{info['date']} | {info['cores']} cores, {info['cpu_model']} | Python {info['python']}, "
          f"Django {info['django']} | {'quick' if args.quick else 'full'} soak, {plan.orders} orders per experiment"
          f" | broker {args.broker}"
          f" | code {info.get('code', '?')}")
    print()
    print(render(results))
    ok = all(passed(r) for r in results)
    print(f"\nTotal wall time {time.time() - t0:.0f} s. {'All targets met.' if ok else 'TARGETS NOT MET.'}")
    path = write_result("soak", {"machine": info, "quick": args.quick, "broker": args.broker, "plan": plan.__dict__,
                                 "results": results})
    log(f"results written to {path.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
