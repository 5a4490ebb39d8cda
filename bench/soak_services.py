"""Private PostgreSQL, Redis and RabbitMQ servers for the fault soak, which it stops and starts again on purpose.

Unlike scripts/testservices.py (servers that live as long as one command), these belong to the soak:
`restart(down_for)` is an outage. Both listen on 127.0.0.1 only, keep their data in a temp directory
(Redis with AOF, as docker-compose.yml runs it; PostgreSQL with fsync off, as the tests do), and
are stopped by `close()`, which the soak runs on every exit path.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Any

from bench.common import ROOT, free_port


def _testservices() -> Any:
    """scripts/testservices.py (not a package): its PostgreSQL discovery and root handling."""
    spec = importlib.util.spec_from_file_location("kiosk_testservices", ROOT / "scripts" / "testservices.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wait_port(port: int, proc: subprocess.Popen[bytes], name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not start within {timeout:.0f} s")


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="kiosk-soak-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _testservices().apt_install("redis-server")
            binary = shutil.which("redis-server")
        assert binary
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "yes", "--dir", self.dir, "--loglevel", "warning"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_port(self.port, self.proc, "redis")
        time.sleep(0.2)  # it accepts connections a moment before it has loaded its AOF

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def restart(self, down_for: float) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivatePostgres:
    def __init__(self) -> None:
        ts = _testservices()
        bindir = ts.pg_bindir()
        if bindir is None:
            ts.apt_install("postgresql")
            bindir = ts.pg_bindir()
        assert bindir, "initdb not found"
        self.bindir = bindir
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="kiosk-soak-pg-")
        self.data, self.sock = os.path.join(self.tmp, "data"), os.path.join(self.tmp, "sock")
        os.makedirs(self.sock)
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            user = "postgres" if ts._user_exists("postgres") else "nobody"
            shutil.chown(self.tmp, user)
            shutil.chown(self.sock, user)
            self.prefix = ["runuser", "-u", user, "--"]
        subprocess.run([*self.prefix, f"{bindir}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E",
                        "UTF8", "--no-sync", "--locale=C"], check=True, stdout=subprocess.DEVNULL)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*self.prefix, f"{self.bindir}/postgres", "-D", self.data, "-p", str(self.port), "-k", self.sock,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=300"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_port(self.port, self.proc, "postgres")
        time.sleep(0.3)  # accepting TCP slightly precedes accepting logins

    def stop(self) -> None:
        """Fast shutdown, sent to the postmaster itself (runuser does not forward signals)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as pidfile:
                os.kill(int(pidfile.readline()), signal.SIGINT)
        except (OSError, ValueError):
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self, down_for: float) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)



class PrivateRabbitMQ:
    """scripts/testservices.py's private RabbitMQ node (durable queues, persistent messages), restartable."""

    def __init__(self) -> None:
        self.node = _testservices().RabbitMQ()

    @property
    def url(self) -> str:
        return str(self.node.url)

    def start(self) -> None:
        self.node.start()

    def restart(self, down_for: float) -> None:
        self.node.stop()  # SIGTERM: a clean shutdown, as `docker restart` does
        time.sleep(down_for)
        self.node.start()

    def close(self) -> None:
        self.node.close()
