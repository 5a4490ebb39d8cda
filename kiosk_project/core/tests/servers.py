"""Our code under a real WSGI server in its own process, for what the test client cannot show:
chunked request bodies, and a database going away under a running server."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict[str, str] | None = None, *, threads: int = 4, log_path: Path | None = None,
             ready_timeout: float = 60.0) -> Iterator[str]:
    """gunicorn (one gthread worker) running kiosk_project.wsgi with the test settings; yields its base URL."""
    port = free_port()
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kiosk_project.settings.test", "PYTHONUNBUFFERED": "1",
                **(env or {})}
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "kiosk_project.wsgi", "-b", f"127.0.0.1:{port}", "--workers", "1",
         "--worker-class", "gthread", "--threads", str(threads), "--timeout", "60"],
        cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            assert proc.poll() is None, f"gunicorn exited with {proc.returncode}"
            with contextlib.suppress(requests.RequestException):
                requests.get(url + "/api/v1/nothing", timeout=2)
                break
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if log_path:
            out.close()  # type: ignore[union-attr]


def _testservices():  # scripts/ is not a package: load the helpers `make test` itself uses
    import importlib.util

    spec = importlib.util.spec_from_file_location("testservices", ROOT / "scripts" / "testservices.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


class PrivatePostgres:
    """A throwaway PostgreSQL of this test's own, to pause (it hangs: connections open, nothing answers),
    resume, stop (connections refused) and start again. Only ever signals the processes it started."""

    def __init__(self) -> None:
        import shutil
        import tempfile

        self.ts = _testservices()
        self.bindir = self.ts.pg_bindir()
        assert self.bindir, "PostgreSQL binaries not found (make test installs them)"
        self.tmp = tempfile.mkdtemp(prefix="kiosk-outage-pg-")
        self.data = os.path.join(self.tmp, "data")
        self.sock = os.path.join(self.tmp, "sock")
        os.makedirs(self.sock)
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            user = "postgres" if self.ts._user_exists("postgres") else "nobody"
            shutil.chown(self.tmp, user)
            shutil.chown(self.sock, user)
            self.prefix = ["runuser", "-u", user, "--"]
        self.port = free_port()
        subprocess.run([*self.prefix, f"{self.bindir}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--no-sync", "--locale=C"], check=True, stdout=subprocess.DEVNULL)
        self.proc: subprocess.Popen | None = None
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*self.prefix, f"{self.bindir}/postgres", "-D", self.data, "-p", str(self.port), "-k", self.sock,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.tmp, "pg.log"), "a"))  # noqa: SIM115
        self.ts.wait_port(self.port, self.proc, "private postgres")
        deadline = time.monotonic() + 30
        while subprocess.run([f"{self.bindir}/pg_isready", "-h", "127.0.0.1", "-p", str(self.port)],
                             stdout=subprocess.DEVNULL).returncode != 0:
            assert time.monotonic() < deadline, "private postgres does not accept logins"
            time.sleep(0.1)

    def _cluster_pids(self) -> list[int]:
        """The postmaster, its children (backends, background workers) and the runuser wrapping it."""
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        children = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                        children.append(int(entry))
        wrapper = [self.proc.pid] if self.proc is not None and self.proc.pid != postmaster else []
        return [postmaster, *children, *wrapper]

    def pause(self) -> None:
        import signal

        self._paused = self._cluster_pids()
        for pid in self._paused:
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        import signal

        for pid in reversed(getattr(self, "_paused", [])):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self._paused = []

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.resume()
            self.ts._stop_postgres(self.proc, self.data)
        self.proc = None

    def close(self) -> None:
        import shutil

        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


class PrivateRedis:
    """A Redis of this test's own on a fixed port, to stop and start again empty (no persistence)."""

    def __init__(self) -> None:
        import shutil
        import tempfile

        self.ts = _testservices()
        self.binary = shutil.which("redis-server")
        assert self.binary, "redis-server not found (make test installs it)"
        self.tmp = tempfile.mkdtemp(prefix="kiosk-metrics-redis-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.tmp, "--loglevel", "warning"],
                                     stdout=subprocess.DEVNULL)
        self.ts.wait_port(self.port, self.proc, "private redis")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def close(self) -> None:
        import shutil

        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
