"""Shared plumbing for the benchmarks: processes, servers, the load generator, tables, results.

Every process started here runs in its own session (process group) and is
stopped by `Stack.close()` (SIGTERM to the group, then SIGKILL), which runs on
normal exit, on errors, on Ctrl-C and on SIGTERM. Every load run is bounded by
a duration (wrk's -d, or a deadline in the Python generator) and a wall-clock
timeout. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
RESULTS_DIR = ROOT / "bench" / "results"

# Knobs (environment variables), documented in docs/performance.md.
DURATION = float(os.environ.get("BENCH_DURATION", "10"))  # seconds per measured scenario
WARMUP = float(os.environ.get("BENCH_WARMUP", "2"))  # seconds of unmeasured load before each scenario
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "2"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))  # gunicorn processes
THREADS = int(os.environ.get("BENCH_THREADS", "4"))  # gunicorn gthread threads per process
# SO_REUSEPORT: one listening socket per worker, so the kernel spreads connections over the workers.
# Without it, gthread workers race for accept() and keep-alive clients stick to whichever won (often
# 28 of 32 connections on one worker, i.e. one core): results then swing 2x from run to run.
REUSE_PORT = os.environ.get("BENCH_REUSE_PORT", "1") != "0"
FORCE_PYTHON = os.environ.get("BENCH_GENERATOR", "").lower() == "python"
REPEAT = max(1, int(os.environ.get("BENCH_REPEAT", "1")))  # measurements per scenario (noisy machines)
KEEP_LOGS = os.environ.get("BENCH_KEEP_LOGS", "") == "1"  # keep server logs (a temp dir) for debugging

# Local values for everything production.py insists on (nothing here is a real secret).
WEBHOOK_SECRET = "bench-rista-webhook-secret"
PRODUCTION_ENV = {
    "SECRET_KEY": "bench-only-secret-key-not-used-anywhere-else-0123456789",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    # The sandbox is started with the same two values (it reads them from the environment).
    "RISTA_API_KEY": "bench-rista-api-key",
    "RISTA_SECRET_KEY": "bench-rista-secret-key-at-least-32-bytes-long",
    "RISTA_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "PHONEPE_API": "v2",
    "PHONEPE_BASE_URL": "http://127.0.0.1:9",  # never called by the benchmarked endpoints
    "PHONEPE_OAUTH_URL": "http://127.0.0.1:9",
    "PHONEPE_CLIENT_ID": "BENCHCLIENT",
    "PHONEPE_CLIENT_SECRET": "bench-client-secret",
    "PHONEPE_CLIENT_VERSION": "1",
    "PHONEPE_WEBHOOK_USERNAME": "bench-webhook-user",
    "PHONEPE_WEBHOOK_PASSWORD": "bench-webhook-pass",
    "KDS_WEBHOOK_SECRET": "bench-kds-secret",
    # Production settings against the local sandboxes (as docker compose runs them): PhonePe's URL is this
    # machine's, which production otherwise refuses (deploy_checks).
    "ALLOW_SANDBOX_CREDENTIALS": "true",
    "LOG_LEVEL": "WARNING",
    # Benchmarks measure throughput, not the per-kiosk limits: 0 = unlimited.
    "ORDER_RATE_LIMIT_PER_MINUTE": "0",
    "QUOTE_RATE_LIMIT_PER_MINUTE": "0",
}


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- signals and processes -------------------------------------------------------------------------
class Stopped(KeyboardInterrupt):
    """SIGTERM/SIGHUP arrived: unwind like Ctrl-C so every finally block runs."""


def _raise_stopped(signum: int, frame: Any) -> None:
    raise Stopped(f"signal {signum}")


def install_signal_handlers() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_stopped)


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when this process dies, however it dies.

    `scripts/testservices.py` SIGKILLs its command on Ctrl-C, before our finally
    blocks can run; this makes the servers we started go away even then.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


class Stack:
    """The processes one benchmark started; `close()` stops them all (reverse order)."""

    def __init__(self) -> None:
        self.logdir = Path(tempfile.mkdtemp(prefix="kiosk-bench-"))
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def log_path(self, name: str) -> Path:
        return self.logdir / f"{name}.log"

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.log_path(name), "ab")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent())
        log.close()  # the child keeps its own descriptor
        self.procs.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
        # Anything left in the group (a worker that outlived its master) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        self.procs = [(n, p) for n, p in self.procs if p is not proc]

    def close(self) -> None:
        # Ignore further Ctrl-C while cleaning up, so cleanup itself is not interrupted.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for _name, proc in reversed(list(self.procs)):
                self.stop(proc)
        finally:
            signal.signal(signal.SIGINT, previous)
        if KEEP_LOGS:
            say(f"server logs kept in {self.logdir}")
        else:
            shutil.rmtree(self.logdir, ignore_errors=True)

    def tail(self, name: str, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# --- HTTP helpers (setup and checks only; the load itself is wrk) ------------------------------
@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None,
            timeout: float = 15) -> Reply:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", "benchmarks only talk to 127.0.0.1"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def wait_http(url: str, proc: subprocess.Popen[bytes], *, name: str, stack: Stack, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode}:\n{stack.tail(name)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if request("GET", url, timeout=2).status < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer {url} within {timeout:.0f}s:\n{stack.tail(name)}")


# --- the application under test ------------------------------------------------------------------
def require_services() -> tuple[str, str]:
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url.startswith("redis://"):
        sys.exit("[bench] needs PostgreSQL and Redis: run `make bench` / `make bench-catalog`, or "
                 "`.venv/bin/python scripts/testservices.py -- .venv/bin/python -m bench.run` "
                 "(it starts throwaway servers), or set DATABASE_URL=postgres://... and REDIS_URL=redis://...")
    for url in (database_url, redis_url):
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
            sys.exit(f"[bench] refusing a non-loopback service URL: {urlsplit(url).hostname}")
    return database_url, redis_url


def app_env(*, database_url: str, redis_url: str, rista_url: str, public_url: str,
            settings_module: str = "kiosk_project.settings.production", **extra: str) -> dict[str, str]:
    env = {**os.environ, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": settings_module,
           "DATABASE_URL": database_url, "REDIS_URL": redis_url, "RISTA_BASE_URL": f"{rista_url}/v1",
           "PUBLIC_BASE_URL": public_url, "PYTHONUNBUFFERED": "1"}
    env.setdefault("CELERY_BROKER_URL", redis_url.rsplit("/", 1)[0] + "/1")
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    done = subprocess.run([PY, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def start_rista(stack: Stack) -> str:
    port = free_port()
    env = {**os.environ, **{k: PRODUCTION_ENV[k] for k in ("RISTA_API_KEY", "RISTA_SECRET_KEY")}}
    proc = stack.start("rista", [PY, "-m", "sandbox.rista", "--port", str(port), "--webhook-url", ""], env)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/_control/stats", proc, name="rista", stack=stack, timeout=30)
    return url


def gunicorn_config() -> dict[str, Any]:
    return {"worker_class": "gthread", "workers": WORKERS, "threads": THREADS, "keepalive_s": 5,
            "reuse_port": REUSE_PORT, "access_log": False, "log_level": "warning"}


Server = tuple[subprocess.Popen[bytes], str]  # a gunicorn master and its base URL


def start_gunicorn(stack: Stack, name: str, app: str, env: dict[str, str], *, ready_path: str,
                   workers: int = WORKERS, threads: int = THREADS,
                   access_log: tuple[Path, str] | None = None) -> Server:
    """`access_log`: (file, format), so a baseline logs each request as the server it is compared with does."""
    port = free_port()
    logging = ["--access-logfile", str(access_log[0]), "--access-logformat", access_log[1]] if access_log else []
    proc = stack.start(name, [PY, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
                              "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads),
                              "--keep-alive", "5", "--log-level", "warning", "--graceful-timeout", "3",
                              "--timeout", "60", *(["--reuse-port"] if REUSE_PORT else []), *logging], env)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + ready_path, proc, name=name, stack=stack, timeout=90)
    return proc, base


# --- load generation -------------------------------------------------------------------------------
@dataclass
class Load:
    """One measured scenario.

    `lua` (optional) is a wrk script fragment defining `request()`; it may use the
    global `tid` (a per-thread number from 1) and `init(args)`, whose last argument
    is a nonce unique to each wrk invocation (warm-up and measurement differ).
    `py_request` builds the same requests for the Python fallback:
    (nonce, worker, n) -> (method, path, headers, body).
    """

    name: str
    url: str
    connections: int
    headers: dict[str, str] = field(default_factory=dict)
    lua: str = ""
    lua_args: list[str] = field(default_factory=list)
    count_statuses: bool = False
    py_request: Callable[[str, int, int], tuple[str, str, dict[str, str], bytes | None]] | None = None
    duration: float = DURATION
    warmup: float = WARMUP


@dataclass
class Result:
    name: str
    generator: str
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors + timeouts + non-2xx/3xx answers
    statuses: dict[str, int] = field(default_factory=dict)
    server_cpu_ms: float | None = None  # CPU time of the gunicorn processes per request
    other_cpu_pct: float | None = None  # share of the machine used by processes this benchmark did not start
    repeats: list[dict[str, Any]] = field(default_factory=list)  # every measurement, with BENCH_REPEAT > 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_LUA_DONE = r"""
local bench_threads = {}
local bench_next_tid = 0
function setup(thread)
  bench_next_tid = bench_next_tid + 1
  thread:set("tid", bench_next_tid)
  table.insert(bench_threads, thread)
end
statuses = {}
function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(bench_threads) do
    local s = t:get("statuses")
    if s then for k, v in pairs(s) do counts[tostring(k)] = (counts[tostring(k)] or 0) + v end end
  end
  local parts = {}
  for k, v in pairs(counts) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ",")))
end
"""

_LUA_COUNT = r"""
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if headers["Idempotent-Replayed"] then statuses["replayed"] = (statuses["replayed"] or 0) + 1 end
end
"""


def have_wrk() -> bool:
    return not FORCE_PYTHON and shutil.which("wrk") is not None


def generator_name() -> str:
    if have_wrk():
        version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        return version.split(" Copyright")[0].strip() or "wrk"
    return "python (threads + http.client)"


def warn_if_no_wrk() -> None:
    if FORCE_PYTHON:
        say("BENCH_GENERATOR=python: using the Python load generator")
    elif shutil.which("wrk") is None:
        say("wrk is not installed (Debian/Ubuntu: `apt-get install wrk`; macOS: `brew install wrk`); "
            "falling back to the slower Python load generator, which competes with the server for CPU")


def run_load(load: Load, stack: Stack, server: subprocess.Popen[bytes] | None = None) -> Result:
    """Warm up, then measure (REPEAT times, keeping the least disturbed measurement).

    With `server` (a gunicorn master), also its CPU time per request.
    """
    measured: list[Result] = []
    for rep in range(REPEAT):
        wait_quiet(load.name)
        if rep == 0 and load.warmup > 0:
            _run(load, stack, load.warmup, warmup=True)
        before = CpuSnapshot.take()
        result = _run(load, stack, load.duration, warmup=False)
        after = CpuSnapshot.take()
        if server is not None and result.requests:
            result.server_cpu_ms = round(after.tree_ms(before, server.pid) / result.requests, 3)
        result.other_cpu_pct = round(after.other_pct(before), 1)
        say(f"{load.name}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
            f"errors {result.errors}" + (f", statuses {result.statuses}" if result.statuses else "")
            + (f", server CPU {result.server_cpu_ms:.2f} ms/req" if result.server_cpu_ms is not None else "")
            + f", other load {result.other_cpu_pct:.0f}%")
        measured.append(result)
    # The least disturbed run; among runs on a quiet machine, the median throughput.
    quiet = sorted((r for r in measured if (r.other_cpu_pct or 0) <= BUSY_PCT), key=lambda r: r.rps)
    best = quiet[len(quiet) // 2] if quiet else min(measured, key=lambda r: r.other_cpu_pct or 0)
    if len(measured) > 1:
        best.repeats = [{"rps": round(r.rps, 1), "p50_ms": r.p50_ms, "p99_ms": r.p99_ms,
                         "server_cpu_ms": r.server_cpu_ms, "other_cpu_pct": r.other_cpu_pct} for r in measured]
        say(f"{load.name}: kept {best.rps:,.0f} req/s (other load {best.other_cpu_pct:.0f}%) of "
            + ", ".join(f"{r.rps:,.0f}" for r in measured))
    if (best.other_cpu_pct or 0) > BUSY_PCT:
        say(f"WARNING: other processes used {best.other_cpu_pct:.0f}% of the machine during {load.name}; "
            "its figures are lower than on a quiet machine")
    return best


# --- CPU accounting (Linux /proc) ------------------------------------------------------------------
BUSY_PCT = 10.0  # other processes above this share of the machine make a row suspect
QUIET_WAIT = float(os.environ.get("BENCH_QUIET_WAIT", "10"))  # max seconds to wait for a quiet machine
QUIET_BUDGET = float(os.environ.get("BENCH_QUIET_BUDGET", str(30 * REPEAT)))  # ... in total per run
_quiet_spent = 0.0


def wait_quiet(name: str) -> None:
    """Wait (bounded) until other processes leave the machine alone, so they do not skew a scenario."""
    global _quiet_spent
    deadline = time.monotonic() + max(0.0, min(QUIET_WAIT, QUIET_BUDGET - _quiet_spent))
    started = time.monotonic()
    pct = 0.0
    while True:
        before = CpuSnapshot.take()
        time.sleep(0.5)
        pct = CpuSnapshot.take().other_pct(before)
        if pct <= BUSY_PCT or time.monotonic() >= deadline:
            break
    waited = time.monotonic() - started - 0.5
    _quiet_spent += max(0.0, waited)
    if waited > 0.2:
        say(f"waited {waited:.0f} s for other processes to quieten down before {name} (now {pct:.0f}%)")
_CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class CpuSnapshot:
    """Busy CPU time of the whole machine and of every process (ticks), at one instant."""

    at: float
    busy: int
    procs: dict[int, tuple[int, int]]  # pid -> (ppid, utime + stime)
    reaped: float  # CPU seconds of our children that have exited (wrk)

    @classmethod
    def take(cls) -> CpuSnapshot:
        busy = 0
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
            # user + nice + system: time that processes account for in /proc/PID/stat too (irq and softirq
            # time, e.g. loopback traffic, belongs to no process; steal is the hypervisor's)
            busy = fields[0] + fields[1] + fields[2]
        procs: dict[int, tuple[int, int]] = {}
        with contextlib.suppress(OSError):
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                with contextlib.suppress(OSError, ValueError, IndexError):
                    raw = Path(f"/proc/{entry.name}/stat").read_text()
                    rest = raw[raw.rindex(")") + 2:].split()  # fields after "(comm)"
                    procs[int(entry.name)] = (int(rest[1]), int(rest[11]) + int(rest[12]))
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(time.monotonic(), busy, procs, usage.ru_utime + usage.ru_stime)

    def _descendants(self, root: int) -> set[int]:
        found, frontier = {root}, [root]
        while frontier:
            parent = frontier.pop()
            for pid, (ppid, _) in self.procs.items():
                if ppid == parent and pid not in found:
                    found.add(pid)
                    frontier.append(pid)
        return found

    def _used(self, before: CpuSnapshot, pids: set[int]) -> int:
        return sum(self.procs[p][1] - before.procs.get(p, (0, 0))[1] for p in pids if p in self.procs)

    def tree_ms(self, before: CpuSnapshot, root: int) -> float:
        return self._used(before, self._descendants(root)) * 1000 / _CLK

    def other_pct(self, before: CpuSnapshot) -> float:
        """Machine CPU used by processes outside this benchmark's tree (and its services' parent)."""
        elapsed = self.at - before.at
        if elapsed <= 0 or not self.busy:
            return 0.0
        root = os.getppid() if _is_testservices(os.getppid()) else os.getpid()
        ours = self._used(before, self._descendants(root)) + (self.reaped - before.reaped) * _CLK
        other_ticks = max(0, (self.busy - before.busy) - ours)
        return 100 * other_ticks / (elapsed * _CLK * (os.cpu_count() or 1))


def _is_testservices(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return b"testservices" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


_invocations = 0


def _run(load: Load, stack: Stack, duration: float, *, warmup: bool) -> Result:
    global _invocations
    _invocations += 1
    nonce = f"{int(time.time()) % 100000}{os.getpid() % 1000}{'w' if warmup else 'm'}{_invocations}"
    if have_wrk():
        return _run_wrk(load, stack, duration, nonce)
    return _run_python(load, duration, nonce)


def _run_wrk(load: Load, stack: Stack, duration: float, nonce: str) -> Result:
    script = stack.logdir / f"load{_invocations}.lua"
    script.write_text(_LUA_DONE + (_LUA_COUNT if load.count_statuses else "") + load.lua)
    threads = max(1, min(WRK_THREADS, load.connections))
    argv = ["wrk", "-t", str(threads), "-c", str(load.connections), "-d", f"{max(1, round(duration))}s",
            "--timeout", "5s", "--latency", "-s", str(script)]
    for name, value in load.headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv += [load.url, "--", *load.lua_args, nonce]
    # wrk runs in its own session so Ctrl-C reaches us, not it; -d bounds it, the timeout backs that up.
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_die_with_parent())
    try:
        out, _ = proc.communicate(timeout=duration + 30)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    text = out.decode(errors="replace")
    line = next((ln for ln in text.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result for {load.name}:\n{text}")
    raw = json.loads(line.removeprefix("BENCH_RESULT "))
    seconds = raw["duration_us"] / 1e6
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    return Result(name=load.name, generator="wrk", connections=load.connections, seconds=round(seconds, 2),
                  requests=raw["requests"], rps=raw["requests"] / seconds if seconds else 0.0,
                  p50_ms=raw["p50_us"] / 1000, p90_ms=raw["p90_us"] / 1000, p99_ms=raw["p99_us"] / 1000,
                  max_ms=raw["max_us"] / 1000, errors=errors, statuses=dict(sorted(raw["statuses"].items())))


def _run_python(load: Load, duration: float, nonce: str) -> Result:
    """Fallback generator: one thread and one keep-alive connection per `connections`."""
    parts = urlsplit(load.url)
    assert parts.hostname == "127.0.0.1"
    default_path = parts.path + (f"?{parts.query}" if parts.query else "")
    max_requests = 5_000_000  # a hard cap besides the deadline
    latencies: list[list[float]] = [[] for _ in range(load.connections)]
    statuses: list[dict[str, int]] = [{} for _ in range(load.connections)]
    errors = [0] * load.connections
    start = time.perf_counter()
    deadline = start + duration

    def worker(w: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        n = 0
        try:
            while time.perf_counter() < deadline and n < max_requests:
                n += 1
                if load.py_request is not None:
                    method, path, headers, body = load.py_request(nonce, w, n)
                else:
                    method, path, headers, body = "GET", default_path, dict(load.headers), None
                t0 = time.perf_counter()
                try:
                    conn.request(method, path, body=body, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                except (OSError, http.client.HTTPException):
                    errors[w] += 1
                    conn.close()
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
                    continue
                latencies[w].append(time.perf_counter() - t0)
                key = str(resp.status)
                statuses[w][key] = statuses[w].get(key, 0) + 1
                if resp.getheader("Idempotent-Replayed"):
                    statuses[w]["replayed"] = statuses[w].get("replayed", 0) + 1
                if resp.status >= 400:
                    errors[w] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(load.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 30)
    seconds = time.perf_counter() - start
    merged = sorted(x for per in latencies for x in per)
    counts: dict[str, int] = {}
    for per in statuses:
        for k, v in per.items():
            counts[k] = counts.get(k, 0) + v

    def pct(p: float) -> float:
        return merged[min(len(merged) - 1, int(len(merged) * p / 100))] * 1000 if merged else 0.0

    return Result(name=load.name, generator="python", connections=load.connections, seconds=round(seconds, 2),
                  requests=len(merged), rps=len(merged) / seconds, p50_ms=pct(50), p90_ms=pct(90), p99_ms=pct(99),
                  max_ms=merged[-1] * 1000 if merged else 0.0, errors=sum(errors),
                  statuses=dict(sorted(counts.items())) if load.count_statuses else {})


# --- reporting ---------------------------------------------------------------------------------------
def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "?"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _mem_gb() -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def _server_versions() -> dict[str, str]:
    found: dict[str, str] = {}
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=3) as conn:
            found["postgresql"] = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    with contextlib.suppress(Exception):
        import redis

        found["redis"] = str(redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=2).info()["redis_version"])
    return found


def code_state() -> str:
    """The commit measured, and which tracked files differed from it (read-only git calls)."""
    with contextlib.suppress(Exception):
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                 capture_output=True, text=True, timeout=10).stdout.split("\n")
        files = sorted(line[3:] for line in changed if line.strip())
        return head + (f" + uncommitted changes in {', '.join(files)}" if files else "")
    return "?"


def machine_info() -> dict[str, Any]:
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "code": code_state(),
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": _mem_gb(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": _version("django"),
        "djangorestframework": _version("djangorestframework"),
        "gunicorn": _version("gunicorn"),
        "psycopg": _version("psycopg"),
        "django-redis": _version("django-redis"),
        **_server_versions(),
        "generator": generator_name(),
        "gunicorn_config": gunicorn_config(),
        "duration_s": DURATION,
        "warmup_s": WARMUP,
        "wrk_threads": WRK_THREADS,
        "repeat": REPEAT,
    }


def machine_line(info: dict[str, Any]) -> str:
    return (f"{info['date']} | {info['cores']} cores, {info['cpu_model']}, {info['memory_gb']} GB | "
            f"Python {info['python']}, Django {info['django']}, DRF {info['djangorestframework']}, "
            f"gunicorn {info['gunicorn']} (gthread {info['gunicorn_config']['workers']}x"
            f"{info['gunicorn_config']['threads']}), PostgreSQL {info.get('postgresql', '?')}, "
            f"Redis {info.get('redis', '?')} | load: {info['generator']}"
            + (f", {info['wrk_threads']} threads" if info["generator"].startswith("wrk") else "")
            + f", {info['duration_s']:g} s per scenario after {info['warmup_s']:g} s warm-up"
            + (f", {info['repeat']} measurements per scenario (least disturbed kept)" if info.get("repeat", 1) > 1
               else "")
            + f" | code: {info.get('code', '?')}")


def table(title: str, columns: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)]
    out = [f"### {title}", "",
           "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for row in rows:
        out.append("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(out)


def fmt_rps(x: float) -> str:
    return f"{x:,.0f}"


def fmt_ms(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


def fmt_cpu(r: dict[str, Any]) -> str:
    return "-" if r.get("server_cpu_ms") is None else f"{r['server_cpu_ms']:.2f}"


def disturbed(*rows: dict[str, Any]) -> bool:
    return any((r.get("other_cpu_pct") or 0) > BUSY_PCT for r in rows)


def verdict(ok: bool, *rows: dict[str, Any]) -> str:
    """"met" / "NOT met", qualified when other processes disturbed a row it depends on."""
    return ("met" if ok else "NOT met") + (" (disturbed)" if disturbed(*rows) else "")


def fmt_other(r: dict[str, Any]) -> str:
    pct = r.get("other_cpu_pct")
    return "-" if pct is None else f"{pct:.0f}%" + (" (!)" if pct > BUSY_PCT else "")


def write_result(kind: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"{kind}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


@contextlib.contextmanager
def interrupt_message() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        say("interrupted; everything this benchmark started has been stopped")
        raise SystemExit(130) from None


def bench_main(kind: str, run: Callable[[Stack, tuple[str, str]], dict[str, Any]],
               render: Callable[[dict[str, Any]], str]) -> int:
    """A benchmark program's whole life: services, a Stack stopped on every exit, the table, the JSON file."""
    install_signal_handlers()
    services = require_services()
    warn_if_no_wrk()
    info = machine_info()
    with interrupt_message(), Stack() as stack:
        data = run(stack, services)
    print()
    print(machine_line(info))
    print()
    print(render(data))
    path = write_result(kind, {"machine": info, kind: data})
    say(f"results written to {path.relative_to(ROOT)}")
    return 0
