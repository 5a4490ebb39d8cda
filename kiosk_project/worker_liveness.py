"""Is the Celery worker alive, meaning connected to the broker with its event loop turning?

The worker's consumer touches a heartbeat file (WORKER_HEARTBEAT_FILE) every
WORKER_HEARTBEAT_EVERY_SECONDS, from a timer that exists only while the consumer is connected
(Celery cancels a connection's timers when it is lost, and this step re-arms on reconnect). So the
file goes stale when the process is dead, wedged, or has been unable to reach the broker for a while.

Who reads it:
* `python manage.py worker_alive` (exit 0/1), docker compose's healthcheck for the worker;
* `make run` (scripts/run.py), which restarts a worker whose heartbeat is stale or which exited;
* the worker itself: a watchdog thread ends a worker whose heartbeat has been stale for
  WORKER_HEARTBEAT_MAX_AGE_SECONDS, so that a supervisor that only restarts on exit (docker's
  `restart: unless-stopped`) replaces a wedged worker too.
Orders are not at risk meanwhile: the outbox sweeper re-sends whatever a dead worker held.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from celery import bootsteps
from django.conf import settings

log = logging.getLogger(__name__)

TERMINATE_GRACE_SECONDS = 30.0  # after asking the worker to stop, how long before it is ended for sure


def heartbeat_path() -> Path:
    return Path(settings.WORKER_HEARTBEAT_FILE)


def heartbeat_age(path: Path | None = None, now: float | None = None) -> float | None:
    """Seconds since the worker last beat, or None if it never did (no file)."""
    try:
        beat = (path or heartbeat_path()).stat().st_mtime
    except FileNotFoundError:
        return None
    return max(0.0, (now or time.time()) - beat)


def worker_is_alive(path: Path | None = None, max_age: float | None = None) -> tuple[bool, str]:
    """(alive, why) for the liveness check; `max_age` defaults to WORKER_HEARTBEAT_MAX_AGE_SECONDS."""
    limit = settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS if max_age is None else max_age
    path = path or heartbeat_path()
    age = heartbeat_age(path)
    if age is None:
        return False, f"no heartbeat at {path}: the worker has not connected to the broker (yet)"
    if age > limit:
        return False, f"last heartbeat {age:.0f} s ago (limit {limit:.0f} s): the worker is dead, wedged or offline"
    return True, f"last heartbeat {age:.1f} s ago"


def _touch(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as exc:  # never let the heartbeat itself break the worker
        log.warning("worker heartbeat not written", extra={"path": str(path), "error": str(exc)})


class Heartbeat(bootsteps.StartStopStep):
    """Consumer step: touch the heartbeat file while connected (armed again after each reconnect)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None
        self.path = heartbeat_path()

    def start(self, parent: Any) -> None:
        _touch(self.path)
        self.tref = parent.timer.call_repeatedly(settings.WORKER_HEARTBEAT_EVERY_SECONDS, _touch, (self.path,))
        _Watchdog.ensure_running(self.path)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    shutdown = stop


class _Watchdog(threading.Thread):
    """Ends this worker process once its own heartbeat is stale (it cannot help itself any more)."""

    _running: _Watchdog | None = None
    _lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        super().__init__(name="worker-liveness-watchdog", daemon=True)
        self.path = path

    @classmethod
    def ensure_running(cls, path: Path) -> None:
        with cls._lock:
            if cls._running is None or not cls._running.is_alive():
                cls._running = cls(path)
                cls._running.start()

    def run(self) -> None:
        limit = settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS
        while True:
            time.sleep(min(settings.WORKER_HEARTBEAT_EVERY_SECONDS, limit / 4))
            age = heartbeat_age(self.path)
            if age is not None and age > limit:
                log.critical("ALERT: worker heartbeat stale; stopping this worker so that it is replaced",
                             extra={"heartbeat_age": round(age), "limit": limit, "pid": os.getpid()})
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(TERMINATE_GRACE_SECONDS)
                os._exit(70)
