"""The whole stack for `bench.payments_kitchen`, as production runs it, on loopback.

PostgreSQL + Redis come from the caller (scripts/testservices.py). This starts
the Rista and PhonePe sandboxes, the API under gunicorn (gthread, production
settings, an access log with each request's server-side time), one Celery
worker and celery beat. The app processes can be restarted with other settings
(`start_app(extra_env)` / `stop_app()`); the sandboxes and the database live for
the whole run. Every process runs in its own process group and is stopped by
`common.Stack.close()`, on errors and Ctrl-C too.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.common import PRODUCTION_ENV, PY, Stack, app_env, free_port, manage, say, wait_http

GUNICORN_WORKERS = int(os.environ.get("BENCH_PK_WEB_WORKERS", "2"))
GUNICORN_THREADS = int(os.environ.get("BENCH_PK_WEB_THREADS", "8"))
CELERY_POOL = os.environ.get("BENCH_PK_CELERY_POOL", "prefork")
CELERY_CONCURRENCY = int(os.environ.get("BENCH_PK_CELERY_CONCURRENCY", "2"))
KIOSK_POOL = int(os.environ.get("BENCH_PK_KIOSKS", "100"))

ACCESS_FORMAT = "%(m)s %(U)s %(s)s %(D)s"  # method, path, status, server time in microseconds


@dataclass
class AccessLine:
    method: str
    path: str
    status: int
    micros: int


@dataclass
class PkStack:
    stack: Stack
    database_url: str
    redis_url: str
    api_port: int = field(default_factory=free_port)
    rista: str = ""
    phonepe: str = ""
    phase: int = 0
    app_procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    access_log: Path | None = None
    app_extra: dict[str, str] = field(default_factory=dict)
    worker_concurrency: int = CELERY_CONCURRENCY
    worker_flags: tuple[str, ...] = ("--without-mingle", "--without-gossip", "--without-heartbeat")
    workers_started: int = 0
    # One worker per entry: (queues for -Q, "" for every queue; its concurrency, 0 for worker_concurrency).
    # The default is one worker for everything; docker compose's layout is a worker per queue.
    worker_queues: tuple[tuple[str, int], ...] = (("", 0),)
    queue_of: dict[int, tuple[str, int]] = field(default_factory=dict)  # worker pid -> its entry above

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self, **extra: str) -> dict[str, str]:
        env = app_env(database_url=self.database_url, redis_url=self.redis_url, rista_url=self.rista,
                      public_url=self.api, **extra)
        env.update({"PHONEPE_BASE_URL": self.phonepe, "PHONEPE_OAUTH_URL": self.phonepe})
        return env

    # -- sandboxes --------------------------------------------------------------------------------------------
    def start_sandboxes(self) -> None:
        rista_port, phonepe_port = free_port(), free_port()
        self.rista, self.phonepe = f"http://127.0.0.1:{rista_port}", f"http://127.0.0.1:{phonepe_port}"
        # Both read their credentials from the same variables the app does.
        env = {**os.environ, **PRODUCTION_ENV, "PYTHONUNBUFFERED": "1",
               "PHONEPE_SANDBOX_WEBHOOK_URL": f"{self.api}/api/v1/payment/webhook"}
        proc = self.stack.start("rista", [PY, "-m", "sandbox.rista", "--port", str(rista_port),
                                          "--webhook-url", f"{self.api}/api/v1/catalog/refresh"], env)
        wait_http(f"{self.rista}/_control/stats", proc, name="rista", stack=self.stack, timeout=30)
        proc = self.stack.start("phonepe", [PY, "-m", "sandbox.phonepe", "--port", str(phonepe_port)], env)
        wait_http(f"{self.phonepe}/_control/config", proc, name="phonepe", stack=self.stack, timeout=30)

    # -- database and kiosks ------------------------------------------------------------------------------
    def migrate(self) -> None:
        manage(self.env(), "migrate", "--noinput", "-v", "0", timeout=300)

    def create_kiosks(self, n: int = KIOSK_POOL) -> list[str]:
        """The first with `manage.py create_kiosk --json`; the rest the same way in one process.

        Payment initiation is limited to 30 per minute per kiosk (PAYMENT_INITIATE_RATE_LIMIT_PER_MINUTE,
        not an environment variable), so thousands of orders in minutes need a pool of kiosks, as a
        restaurant with many screens has. One `manage.py shell` does what create_kiosk does, n - 1 times.
        """
        stamp = f"{time.strftime('%H%M%S')}-{os.getpid()}"
        env = self.env()
        first = json.loads(manage(env, "create_kiosk", f"pk-{stamp}-0", "--json", "--prefix", "P")
                           .strip().splitlines()[-1])["key"]
        code = (
            "import json\n"
            "from django.conf import settings\n"
            "from kiosk_project.core.models import KioskDevice\n"
            "keys = []\n"
            f"for i in range(1, {n}):\n"
            f"    d = KioskDevice(name=f'pk-{stamp}-{{i}}', branch_code=settings.KIOSK_BRANCH_CODE,\n"
            "                    channel=settings.KIOSK_DEFAULT_CHANNEL, allowed_order_modes=['takeaway', 'dine_in'],\n"
            "                    order_prefix='P')\n"
            "    keys.append(d.issue_key())\n"
            "    d.save()\n"
            "print('PK_KEYS ' + json.dumps(keys))\n"
        )
        out = manage(env, "shell", "-c", code)
        line = next(ln for ln in out.splitlines() if ln.startswith("PK_KEYS "))
        return [first, *json.loads(line.removeprefix("PK_KEYS "))]

    def db(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.database_url, autocommit=True, connect_timeout=5)

    # -- the application ------------------------------------------------------------------------------------
    def start_app(self, extra: dict[str, str] | None = None) -> None:
        """gunicorn + one Celery worker + celery beat, all with the same settings (+ `extra`)."""
        self.phase += 1
        self.app_extra = dict(extra or {})
        env = self.env(**self.app_extra)
        self.access_log = self.stack.logdir / f"access-{self.phase}.log"
        web = self.stack.start(f"web-{self.phase}", [
            PY, "-m", "gunicorn", "kiosk_project.wsgi:application", "--bind", f"127.0.0.1:{self.api_port}",
            "--worker-class", "gthread", "--workers", str(GUNICORN_WORKERS), "--threads", str(GUNICORN_THREADS),
            "--keep-alive", "5", "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning",
            "--reuse-port", "--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT], env)
        beat = self.stack.start(f"beat-{self.phase}", [
            PY, "-m", "celery", "-A", "kiosk_project", "beat", "-l", "WARNING",
            "--schedule", str(self.stack.logdir / f"celerybeat-schedule-{self.phase}")], env)
        self.app_procs = [beat, *(self.start_worker(*entry) for entry in self.worker_queues), web]
        wait_http(f"{self.api}/health", web, name=f"web-{self.phase}", stack=self.stack, timeout=90)
        if beat.poll() is not None:
            raise RuntimeError(f"celery beat exited:\n{self.stack.tail(f'beat-{self.phase}')}")
        say(f"app phase {self.phase} up: gunicorn gthread {GUNICORN_WORKERS}x{GUNICORN_THREADS}, celery "
            f"{CELERY_POOL} -c {self.worker_concurrency}, beat" + (f"; {self.app_extra}" if self.app_extra else ""))

    def start_worker(self, queues: str = "", concurrency: int = 0) -> subprocess.Popen[bytes]:
        """One Celery worker with the app's settings (-Q `queues` if given); returns once it is consuming."""
        self.workers_started += 1
        name = f"worker-{self.phase}" + (f"-{self.workers_started}" if self.workers_started > 1 else "")
        worker = self.stack.start(name, [
            PY, "-m", "celery", "-A", "kiosk_project", "worker", "-P", CELERY_POOL, "-c",
            str(concurrency or self.worker_concurrency), *self.worker_flags, *(["-Q", queues] if queues else []),
            "-l", "INFO", "-n", f"pk{self.phase}-{self.workers_started}-{os.getpid()}@%h"],
            self.env(**self.app_extra))
        self.queue_of[worker.pid] = (queues, concurrency)
        deadline = time.monotonic() + 60
        while b" ready." not in self.stack.log_path(name).read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{self.stack.tail(name)}")
            time.sleep(0.1)
        return worker

    def replace_worker(self, dead: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        """What a supervisor does for a worker that died: start another (the dead one is reaped)."""
        self.stack.stop(dead)
        worker = self.start_worker(*self.queue_of.get(dead.pid, ("", 0)))
        self.app_procs = [worker if p is dead else p for p in self.app_procs]
        return worker

    @property
    def worker(self) -> subprocess.Popen[bytes]:
        return self.app_procs[1]

    @property
    def workers(self) -> list[subprocess.Popen[bytes]]:
        return self.app_procs[1:-1]

    def worker_for(self, queue: str) -> subprocess.Popen[bytes]:
        """The worker consuming `queue`: the one started with it in -Q, else the one consuming everything."""
        for proc in self.workers:
            if queue in self.queue_of.get(proc.pid, ("", 0))[0].split(","):
                return proc
        return self.worker

    def stop_app(self) -> None:
        for proc in self.app_procs:
            self.stack.stop(proc)
        self.app_procs = []

    def check_alive(self) -> None:
        for proc in self.app_procs:
            if proc.poll() is not None:
                raise RuntimeError(f"an app process exited with code {proc.returncode} (pid {proc.pid})")

    def access_mark(self) -> int:
        assert self.access_log is not None
        return self.access_log.stat().st_size if self.access_log.exists() else 0

    def access_since(self, mark: int) -> list[AccessLine]:
        assert self.access_log is not None
        time.sleep(0.2)  # let the last lines reach the file
        with self.access_log.open("rb") as f:
            f.seek(mark)
            text = f.read().decode(errors="replace")
        lines = []
        for raw in text.splitlines():
            parts = raw.split()
            if len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit():
                lines.append(AccessLine(parts[0], parts[1], int(parts[2]), int(parts[3])))
        return lines

    def log_summary(self, name: str) -> dict[str, Any]:
        """What one app process logged (JSON lines): kitchen task results, sweeps, alerts, errors."""
        path = self.stack.log_path(name)
        counts: dict[str, int] = {}
        errors: dict[str, int] = {}
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            return {"counts": counts, "errors": errors}

        def bump(table: dict[str, int], key: str) -> None:
            table[key] = table.get(key, 0) + 1

        for raw in lines:
            try:
                rec = json.loads(raw)
            except ValueError:
                if "Traceback" in raw or raw.startswith(("ERROR", "CRITICAL")):
                    bump(errors, raw[:120])
                continue
            if not isinstance(rec, dict):
                continue
            msg, level = str(rec.get("msg", "")), str(rec.get("level", ""))
            data = rec.get("data")
            if not isinstance(data, dict):
                data = {}
            if "kitchen_send_task" in msg:
                if msg.endswith(" received"):
                    bump(counts, "send task runs")
                elif " succeeded in " in msg:
                    bump(counts, f"send task returned {data.get('return_value', '?')}")
                elif " retry: " in msg:
                    bump(counts, "send task re-scheduled (retry)")
            elif msg == "kitchen delivery swept":
                bump(counts, "deliveries re-enqueued by the sweeper")
            elif msg.startswith("ALERT:"):
                bump(counts, msg)
            if level in ("ERROR", "CRITICAL") and not msg.startswith("ALERT:"):
                bump(errors, msg[:160])
        return {"counts": counts, "errors": errors}

    def proc_cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by each process tree this benchmark depends on.

        The processes it started (web, worker, beat, rista, phonepe), PostgreSQL and Redis (children
        of scripts/testservices.py, our parent) and this process itself ("bench client").
        """
        table = _proc_table()
        out: dict[str, float] = {}
        for name, proc in self.stack.procs:
            key = name.split("-")[0]
            out[key] = out.get(key, 0.0) + _tree_cpu(table, proc.pid)
        parent = os.getppid()
        if _is_testservices(parent):
            for pid, (ppid, _) in table.items():
                if ppid != parent or pid == os.getpid():
                    continue
                try:
                    comm = Path(f"/proc/{pid}/comm").read_text().strip()
                except OSError:
                    continue
                key = "postgres" if "postgres" in comm or comm == "runuser" else "redis" if "redis" in comm else comm
                out[key] = out.get(key, 0.0) + _tree_cpu(table, pid)
        out["bench client"] = table.get(os.getpid(), (0, 0.0))[1]
        return out


_CLK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, CPU seconds used so far)."""
    table: dict[int, tuple[int, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        rest = raw[raw.rindex(")") + 2:].split()
        table[int(entry.name)] = (int(rest[1]), (int(rest[11]) + int(rest[12])) / _CLK)
    return table


def _tree_cpu(table: dict[int, tuple[int, float]], root: int) -> float:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, frontier = 0.0, [root]
    while frontier:
        pid = frontier.pop()
        total += table.get(pid, (0, 0.0))[1]
        frontier.extend(children.get(pid, []))
    return total


def _is_testservices(pid: int) -> bool:
    try:
        return b"testservices" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _machine_busy_s() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / _CLK  # minus idle and iowait


@dataclass
class Meter:
    """CPU used by the machine and by our processes between two instants; `other_pct` is everyone else.

    This machine is shared: other benchmarks or test runs on its 2 cores skew every figure, so each
    section records how busy the rest of the machine was (and waits, bounded, for it to quieten first).
    """

    at: float
    busy: float
    ours: dict[str, float]

    @classmethod
    def take(cls, stack: PkStack) -> Meter:
        return cls(time.monotonic(), _machine_busy_s(), stack.proc_cpu_seconds())

    def until(self, later: Meter) -> dict[str, Any]:
        elapsed = max(1e-9, later.at - self.at)
        ours = {k: later.ours.get(k, 0.0) - self.ours.get(k, 0.0) for k in later.ours}
        used = sum(v for v in ours.values() if v > 0)
        other = max(0.0, (later.busy - self.busy) - used)
        return {"seconds": elapsed, "ours_cpu_s": {k: round(v, 2) for k, v in ours.items()},
                "ours_pct": 100 * used / (elapsed * CORES), "other_pct": 100 * other / (elapsed * CORES)}


QUIET_PCT = 10.0  # other processes above this share of the machine make a figure suspect


def wait_quiet(stack: PkStack, budget: list[float], what: str, limit: float) -> float:
    """Wait (at most `limit` s, and within what is left of budget[0]) until others use < QUIET_PCT."""
    started = time.monotonic()
    pct = 0.0
    while True:
        before = Meter.take(stack)
        time.sleep(0.5)
        pct = before.until(Meter.take(stack))["other_pct"]
        spent = time.monotonic() - started
        if pct <= QUIET_PCT or spent >= min(limit, budget[0]):
            break
    budget[0] = max(0.0, budget[0] - (time.monotonic() - started - 0.5))
    if time.monotonic() - started > 1.0:
        say(f"waited {time.monotonic() - started:.0f} s for other processes to quieten before {what} (now {pct:.0f}%)")
    return pct
