"""Waiting for a condition and starting jobs together: the one copy every test module uses.

Tests wait for conditions (a callback arrived, a worker delivered), never for time: each waiter polls
its condition and ends as soon as it holds, with a deadline that only bounds a failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest


def poll(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.05) -> Any:
    """predicate()'s first truthy value, or its last (falsy) one after `timeout`: the caller asserts on it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def wait_until(check: Callable[[], Any], timeout: float, what: str, *, logs: Callable[[], str] | None = None,
               interval: float = 0.05) -> Any:
    """check()'s first truthy value; fails the test after `timeout`, with `logs()` (e.g. a worker's) if given."""
    value = poll(check, timeout, interval)
    if not value:
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{logs() if logs else ''}")
    return value


def run_together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Start every job at the same instant on its own thread (own DB connection); return results or errors."""
    from django.db import connection

    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = job()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results
