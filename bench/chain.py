"""`python -m bench.chain` (make bench-chain): a 100-branch chain on one box.

100 branches x 4 kiosks, as the kiosk screen behaves at the peak: every kiosk polls its current order's
status every 3 s, revalidates its menu every 15 s (If-None-Match, alternating its two channels), and
places one order every 2 minutes. Each branch has its own catalog (a price differs), on two channels,
so 100 ETags and 200 (branch, channel) menus live in every web process.

Open loop: requests are sent at their scheduled time whatever the server's latency (a slow server gets
late requests, not fewer), by BENCH_CHAIN_CLIENTS threads with one keep-alive connection each.
Reported per endpoint: p50/p99; for the web processes: CPU ms per request and share of the 2 cores,
resident memory per process before and after the menus were loaded; PostgreSQL + Redis CPU; Rista calls
per minute during the run (and the beat budget). Then the same load with twice the web processes.

Knobs: BENCH_CHAIN_BRANCHES (100), BENCH_CHAIN_KIOSKS (4 per branch), BENCH_CHAIN_SECONDS (60 measured,
after 10 s warm-up), BENCH_CHAIN_CLIENTS (48), BENCH_WORKERS / BENCH_THREADS (2 / 4).
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    PRODUCTION_ENV,
    PY,
    THREADS,
    WORKERS,
    CpuSnapshot,
    Stack,
    app_env,
    free_port,
    install_signal_handlers,
    interrupt_message,
    machine_info,
    machine_line,
    manage,
    request,
    require_services,
    say,
    start_gunicorn,
    table,
    wait_http,
    write_result,
)

BRANCHES = int(os.environ.get("BENCH_CHAIN_BRANCHES", "100"))
KIOSKS = int(os.environ.get("BENCH_CHAIN_KIOSKS", "4"))
SECONDS = float(os.environ.get("BENCH_CHAIN_SECONDS", "60"))
WARMUP = 10.0
CLIENTS = int(os.environ.get("BENCH_CHAIN_CLIENTS", "48"))
POLL_EVERY, MENU_EVERY, ORDER_EVERY = 3.0, 15.0, 120.0
CHANNELS = ("Takeaway", "Dine In")
CART = {"items": [{"item_sku_id": "1", "quantity": 2}, {"item_sku_id": "9", "quantity": 1}], "order_mode": "takeaway"}

SETUP = """
import json, sys
from kiosk_project.core.models import Branch, KioskDevice
codes, per = json.loads(sys.argv[1]), int(sys.argv[2])
for n, code in enumerate(codes):
    Branch.objects.update_or_create(code=code, defaults=dict(display_name=f"Branch {n + 1}",
        invoice_prefix=f"C{n + 1:03d}", channels=["Takeaway", "Dine In"]))
keys = {}
KioskDevice.objects.all().delete()
for code in codes:
    for k in range(per):
        d = KioskDevice(name=f"{code}-k{k + 1}", branch_code=code, channel="Takeaway",
                        allowed_order_modes=["takeaway", "dine_in"])
        keys[d.name] = (code, d.issue_key())
        d.save()
print(json.dumps(keys))
"""


def codes() -> list[str]:
    return [f"CH{n:03d}" for n in range(1, BRANCHES + 1)]


@dataclass
class Kiosk:
    code: str
    key: str
    order_id: str | None = None
    etags: dict[str, str] = field(default_factory=dict)
    menus: int = 0


@dataclass
class Sample:
    endpoint: str
    status: int
    ms: float
    late_ms: float


class Client(threading.Thread):
    """One connection; takes due events from the shared queue and records what happened."""

    def __init__(self, base: str, events: queue.Queue[tuple[float, str, Kiosk] | None], out: list[Sample],
                 lock: threading.Lock) -> None:
        super().__init__(daemon=True)
        self.port = int(base.rsplit(":", 1)[1])
        self.events, self.out, self.lock = events, out, lock
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def _send(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> tuple[int, dict, bytes]:
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    return 599, {}, b""
        return 599, {}, b""

    def run(self) -> None:
        while True:
            item = self.events.get()
            if item is None:
                return
            due, what, kiosk = item
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            late = max(0.0, time.monotonic() - due) * 1000
            auth = {"Authorization": f"Kiosk {kiosk.key}"}
            started = time.perf_counter()
            if what == "status":
                if kiosk.order_id is None:
                    continue
                status, _, _ = self._send("GET", f"/api/v1/orders/{kiosk.order_id}/status", auth, None)
            elif what == "menu":
                channel = CHANNELS[kiosk.menus % 2]
                kiosk.menus += 1
                headers = {**auth, **({"If-None-Match": kiosk.etags[channel]} if channel in kiosk.etags else {})}
                status, got, _ = self._send("GET", "/api/v1/catalog?channel=" + channel.replace(" ", "%20"),
                                            headers, None)
                if "etag" in got:
                    kiosk.etags[channel] = got["etag"]
            else:
                body = json.dumps(CART).encode()
                status, _, raw = self._send("POST", "/api/v1/orders", {
                    **auth, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}, body)
                if status == 201:
                    kiosk.order_id = json.loads(raw)["order_id"]
            ms = (time.perf_counter() - started) * 1000
            with self.lock:
                self.out.append(Sample(what, status, ms, late))


def schedule(kiosks: list[Kiosk], start: float, length: float) -> list[tuple[float, str, Kiosk]]:
    rng = random.Random(7)
    events = []
    for kiosk in kiosks:
        for every, what in ((POLL_EVERY, "status"), (MENU_EVERY, "menu"), (ORDER_EVERY, "order")):
            t = rng.uniform(0, every)
            while t < length:
                events.append((start + t, what, kiosk))
                t += every
    events.sort(key=lambda e: e[0])
    return events


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def rss_mb(root: int) -> list[float]:
    """Resident memory of the gunicorn workers (children of the master)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry.name}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(root):
            found.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sorted(found)


def rista_calls(rista: str) -> int:
    return sum(request("GET", f"{rista}/_control/stats").json()["requests"].values())


def service_pids() -> set[int]:
    """PostgreSQL and Redis started by scripts/testservices.py (our parent)."""
    parent, found = os.getppid(), set()
    snap = CpuSnapshot.take()
    frontier = [p for p, (ppid, _) in snap.procs.items() if ppid == parent and p != os.getpid()]
    while frontier:
        pid = frontier.pop()
        found.add(pid)
        frontier.extend(p for p, (ppid, _) in snap.procs.items() if ppid == pid)
    return found


def measure(stack: Stack, env: dict[str, str], keys: dict[str, tuple[str, str]], rista: str, *,
            workers: int) -> dict[str, Any]:
    proc, base = start_gunicorn(stack, f"web-{workers}", "kiosk_project.wsgi:application", env,
                                ready_path="/health/ready", workers=workers, threads=THREADS)
    before_rss = rss_mb(proc.pid)
    kiosks = [Kiosk(code=code, key=key) for code, key in keys.values()]
    samples: list[Sample] = []
    lock = threading.Lock()
    events: queue.Queue[tuple[float, str, Kiosk] | None] = queue.Queue()
    clients = [Client(base, events, samples, lock) for _ in range(CLIENTS)]
    for client in clients:
        client.start()
    # Every kiosk opens its menu and places its first order (what a morning looks like), then the loop.
    start = time.monotonic() + 1
    for n, kiosk in enumerate(kiosks):
        events.put((start + n * 0.02, "menu", kiosk))
        events.put((start + n * 0.02 + 0.01, "order", kiosk))
    loop_start = start + len(kiosks) * 0.02 + 1
    plan = schedule(kiosks, loop_start, WARMUP + SECONDS)
    for item in plan:
        events.put(item)
    measured_from = loop_start + WARMUP
    while time.monotonic() < measured_from:
        time.sleep(0.05)
    with lock:
        samples.clear()
    services = service_pids()
    cpu0, calls0 = CpuSnapshot.take(), rista_calls(rista)
    while time.monotonic() < measured_from + SECONDS:
        time.sleep(0.1)
    cpu1, calls1 = CpuSnapshot.take(), rista_calls(rista)
    for _ in clients:
        events.put(None)
    after_rss = rss_mb(proc.pid)
    elapsed = cpu1.at - cpu0.at
    with lock:
        measured = list(samples)
    web_ms = cpu1.tree_ms(cpu0, proc.pid)
    svc_ms = sum(cpu1.tree_ms(cpu0, pid) for pid in services if pid in cpu0.procs)
    by = {}
    for endpoint in ("status", "menu", "order"):
        rows = [s for s in measured if s.endpoint == endpoint]
        by[endpoint] = {"requests": len(rows), "per_s": len(rows) / elapsed,
                        "p50_ms": pct([s.ms for s in rows], 50), "p99_ms": pct([s.ms for s in rows], 99),
                        "errors": sum(1 for s in rows if s.status not in (200, 201, 304)),
                        "not_modified": sum(1 for s in rows if s.status == 304)}
    total = len(measured)
    stack.stop(proc)
    return {"workers": workers, "threads": THREADS, "seconds": elapsed, "requests": total,
            "per_s": total / elapsed, "endpoints": by,
            "web_cpu_ms_per_request": web_ms / max(1, total), "web_cpu_share_of_2_cores": web_ms / 1000 / elapsed / 2,
            "services_cpu_share_of_2_cores": svc_ms / 1000 / elapsed / 2,
            "late_p99_ms": pct([s.late_ms for s in measured], 99),
            "rss_mb_before": before_rss, "rss_mb_after": after_rss,
            "rista_calls_per_min": (calls1 - calls0) / elapsed * 60,
            "other_load_pct": cpu1.other_pct(cpu0)}


def report(runs: list[dict[str, Any]], info: dict[str, Any], budget: float) -> str:
    out = [machine_line(info), ""]
    for run in runs:
        title = (f"{BRANCHES} branches x {KIOSKS} kiosks, {run['workers']} web processes x {run['threads']} "
                 f"threads: {run['per_s']:.0f} req/s for {run['seconds']:.0f} s")
        rows = [[name, f"{e['per_s']:.1f}", f"{e['p50_ms']:.1f}", f"{e['p99_ms']:.1f}", str(e["errors"]),
                 f"{e['not_modified']}"] for name, e in run["endpoints"].items()]
        out.append(table(title, ["endpoint", "req/s", "p50 ms", "p99 ms", "errors", "304s"], rows))
        out.append(f"- web CPU: {run['web_cpu_ms_per_request']:.2f} ms per request, "
                   f"{100 * run['web_cpu_share_of_2_cores']:.0f}% of the 2 cores; PostgreSQL + Redis "
                   f"{100 * run['services_cpu_share_of_2_cores']:.0f}%; other load {run['other_load_pct']:.0f}%")
        out.append(f"- resident memory per web process: {', '.join(f'{m:.0f}' for m in run['rss_mb_before'])} MB "
                   f"at start, {', '.join(f'{m:.0f}' for m in run['rss_mb_after'])} MB with "
                   f"{BRANCHES} x {len(CHANNELS)} menus served")
        out.append(f"- Rista calls during the run: {run['rista_calls_per_min']:.1f}/min (menus fresh, no worker); "
                   f"beat's staggered refresh budget: {budget:.0f}/min")
        out.append(f"- schedule kept: p99 lateness {run['late_p99_ms']:.1f} ms (over 100 ms: the generator or "
                   "the server fell behind, and the latencies include that queueing)\n")
    return "\n".join(out)


def main() -> int:
    install_signal_handlers()
    database_url, redis_url = require_services()
    info = machine_info()
    with Stack() as stack, interrupt_message():
        port = free_port()
        env_rista = {**os.environ, **{k: PRODUCTION_ENV[k] for k in ("RISTA_API_KEY", "RISTA_SECRET_KEY")}}
        branch_codes = codes()
        rp = stack.start("rista", [PY, "-m", "sandbox.rista", "--port", str(port), "--webhook-url", "",
                                   "--branch", ",".join(branch_codes)], env_rista)
        rista = f"http://127.0.0.1:{port}"
        wait_http(f"{rista}/_control/stats", rp, name="rista", stack=stack, timeout=30)
        for n, code in enumerate(branch_codes):  # every branch its own catalog: a price differs
            request("POST", f"{rista}/_control/items/1", body=json.dumps({"price": 100 + n, "branch": code}).encode(),
                    headers={"Content-Type": "application/json"})
        env = app_env(database_url=database_url, redis_url=redis_url, rista_url=rista,
                      public_url="http://127.0.0.1:9", KIOSK_BRANCH_CODE=branch_codes[0],
                      KIOSK_CHANNELS=",".join(CHANNELS))
        say("migrating")
        manage(env, "migrate", "--noinput")
        keys = json.loads(manage(env, "shell", "-c", SETUP.replace("sys.argv[1]", repr(json.dumps(branch_codes)))
                                 .replace("sys.argv[2]", str(KIOSKS))).strip().splitlines()[-1])
        say(f"{len(branch_codes)} branches, {len(keys)} kiosks; filling {len(branch_codes) * len(CHANNELS)} menus")
        started = time.monotonic()
        manage(env, "refresh_catalog", "--all", timeout=900)
        say(f"menus filled in {time.monotonic() - started:.0f} s")
        budget = 2 * len(branch_codes) * len(CHANNELS) / (300 / 60)  # 2 calls per refresh, every 300 s
        runs = []
        for workers in (WORKERS, 2 * WORKERS):
            say(f"load with {workers} web processes: {SECONDS:.0f} s measured after {WARMUP:.0f} s")
            runs.append(measure(stack, env, keys, rista, workers=workers))
            say(json.dumps({k: v for k, v in runs[-1].items() if k != "endpoints"}))
        text = report(runs, info, budget)
        print(text)
        path = write_result("chain", {"machine": info, "branches": len(branch_codes), "kiosks": len(keys),
                                      "runs": runs, "rista_budget_per_min": budget})
        say(f"results written to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
