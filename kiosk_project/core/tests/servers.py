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
