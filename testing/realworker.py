"""Real Celery processes for the kitchen tests: workers, beat, and private brokers (Redis, RabbitMQ) to restart.

A worker is `celery -A kiosk_project worker -P prefork`, a subprocess against this test's PostgreSQL
database and the Rista sandbox, in its own process group. The suite's Redis is also the cache, so a
test that restarts the broker gets a private redis-server of its own (`PrivateRedis`) and points
both the subprocesses and this process's Celery app at it (`use_broker`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from testing.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORKER_FLAGS = ("--without-mingle", "--without-gossip", "--without-heartbeat")


class Proc:
    """A Celery subprocess (worker or beat) with its log file."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "kiosk_project", *argv], cwd=ROOT,
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_logged(self, text: bytes, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log_path.read_bytes():
            assert self.alive(), f"{self.log_path.name} exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"{self.log_path.name}: {text!r} not logged:\n{self.output()}"
            time.sleep(0.1)

    def kill_all(self) -> None:
        """SIGKILL the process and its children at once: the machine lost it."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


def suite_database_url() -> str:
    """This test's PostgreSQL database (the suite's, migrated), for a subprocess to use."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def worker_env(rista, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kiosk_project.settings.test",
        "DATABASE_URL": suite_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "RISTA_BASE_URL": rista.url + "/v1",
        "RISTA_API_KEY": settings.RISTA_API_KEY,  # the `rista` fixture pointed settings at the sandbox
        "RISTA_SECRET_KEY": settings.RISTA_SECRET_KEY,
        "PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL,
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


class Celery:
    """Start workers and beat; everything started is killed at the end of the test."""

    def __init__(self, rista, tmp_path: Path) -> None:
        self.rista, self.tmp_path = rista, tmp_path
        self.procs: list[Proc] = []
        self.env_extra: dict[str, str] = {"WORKER_HEARTBEAT_FILE": str(tmp_path / "worker.heartbeat")}

    def env(self) -> dict[str, str]:
        return worker_env(self.rista, **self.env_extra)

    def worker(self, *flags: str, concurrency: int = 1, default_flags: bool = True, queues: str = "") -> Proc:
        """`flags` replace DEFAULT_WORKER_FLAGS; `default_flags=False` starts Celery's own defaults.
        `queues` ("kitchen", "payments,menu") is passed as -Q; without it the worker consumes every queue."""
        flags = flags or (DEFAULT_WORKER_FLAGS if default_flags else ())
        proc = Proc(["worker", "-P", "prefork", "-c", str(concurrency), *flags, *(["-Q", queues] if queues else []),
                     "-l", "INFO", "-n", f"kds-test-{uuid.uuid4().hex[:8]}@%h"],
                    self.env(), self.tmp_path / f"worker{len(self.procs)}.log")
        self.procs.append(proc)
        proc.wait_logged(b" ready.")
        return proc

    def beat(self) -> Proc:
        proc = Proc(["beat", "-l", "INFO", "--schedule", str(self.tmp_path / "beat-schedule")], self.env(),
                    self.tmp_path / f"beat{len(self.procs)}.log")
        self.procs.append(proc)
        proc.wait_logged(b"beat: Starting")
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {p.log_path.name}\n{p.output()}" for p in self.procs)

    def close(self) -> None:
        for proc in self.procs:
            proc.stop()


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """The test broker (Redis), empty before and after: no leftover or unacked messages from other tests."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def celery_procs(transactional_db, rista, tmp_path) -> Iterator[Celery]:
    procs = Celery(rista, tmp_path)
    try:
        yield procs
    finally:
        procs.close()


@pytest.fixture
def start_worker(transactional_db, rista, tmp_path) -> Iterator[Callable[..., Proc]]:
    """`start_worker()`: a real worker on the suite's broker, started and ready (kiosk_screen's tests)."""
    procs = Celery(rista, tmp_path)
    try:
        yield procs.worker
    finally:
        procs.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str, celery: Celery | None = None) -> float:
    """Wait until `condition()`; fail with the processes' logs after `timeout`. Returns the seconds taken."""
    started = time.monotonic()
    wait_until(condition, timeout, what, logs=celery.logs if celery else None)
    return time.monotonic() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that the test may stop and start again.

    `persistence=False` is the harsh case: a restart loses every queued and unacknowledged message.
    """

    def __init__(self, workdir: Path, *, persistence: bool) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.persistence = persistence
        self.proc: subprocess.Popen[bytes] | None = None
        self.closed = False  # after the test: a restart still under way must not start it again

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if self.closed:
            return
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        persist = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistence else [
            "--appendonly", "no"]
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      *persist, "--dir", str(self.workdir), "--loglevel", "warning"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert self.proc.poll() is None and time.monotonic() < deadline, "private redis did not start"
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


@pytest.fixture
def private_redis(tmp_path, request) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path, persistence=getattr(request, "param", False))
    server.start()
    try:
        yield server
    finally:
        server.closed = True
        server.stop()


@contextlib.contextmanager
def use_broker(url: str) -> Iterator[None]:
    """Point this process's Celery app (the test's publishes) at another broker, and back afterwards."""
    from kiosk_project.celery import app

    def reset_pools() -> None:
        # Drop the app's references to its connection and producer pools; kombu keeps one pool per
        # broker URL (kombu.pools), so switching back finds the old one, open, again.
        app._after_fork()

    # broker_read_url/broker_write_url: Celery fills them in from broker_url once, at the first connection,
    # and publishes to broker_write_url from then on; left alone, this process kept publishing to the old one.
    names = ("broker_url", "broker_read_url", "broker_write_url", "broker_transport", "broker_transport_options")
    previous = {name: app.conf[name] for name in names}
    reset_pools()
    app.conf.broker_url = app.conf.broker_read_url = app.conf.broker_write_url = url
    if url.startswith("amqp"):  # the transport and its options follow the URL, as settings/base.py chooses them
        app.conf.broker_transport, app.conf.broker_transport_options = None, {"confirm_publish": True}
    try:
        yield
    finally:
        reset_pools()
        for name, value in previous.items():
            app.conf[name] = value
