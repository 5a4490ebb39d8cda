"""Database connections in Celery workers live across tasks, as they live across requests in gunicorn.

Celery's Django fixup closes every connection before and after every task, and in a prefork worker
with psycopg's pool (`DB_POOL=true`, as docker compose runs) it closes the whole pool too: each task
then opens new PostgreSQL sessions (three per kitchen send were measured: connection set-up, TLS
when used, authentication, and a backend process each time). We keep the fixup's full close where it
is needed, once per process (the worker's start and each pool child's start after the fork, so no
socket is shared with the parent), and treat a task boundary the way Django treats a request
boundary: `close_if_unusable_or_obsolete()`, which keeps a healthy connection, closes one that had an
error and is no longer usable or one older than CONN_MAX_AGE, and re-arms CONN_HEALTH_CHECKS so the
next task checks its connection before using it. With the pool (CONN_MAX_AGE=0) the connection goes
back to the pool after each task, which keeps its sessions open.
"""

from __future__ import annotations

from typing import Any

from celery.fixups.django import DjangoWorkerFixup
from django.db import connections


def close_unusable_connections() -> None:
    """What Django does at the end of a request, for every connection this process opened."""
    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()


def _on_task_boundary(self: DjangoWorkerFixup, sender: Any = None, **kwargs: Any) -> None:
    if sender is not None and getattr(sender.request, "is_eager", False):
        return  # an eager task runs inside the caller's request or test: its connection is not ours
    close_unusable_connections()


def _on_task_postrun(self: DjangoWorkerFixup, sender: Any = None, **kwargs: Any) -> None:
    _on_task_boundary(self, sender, **kwargs)
    if sender is None or not getattr(sender.request, "is_eager", False):
        self.close_cache()


def install() -> None:
    """Replace the fixup's per-task handlers (its signals are connected to these bound methods when the
    worker starts, so this must run before: kiosk_project.celery calls it at import)."""
    DjangoWorkerFixup.on_task_prerun = _on_task_boundary  # type: ignore[method-assign]
    DjangoWorkerFixup.on_task_postrun = _on_task_postrun  # type: ignore[method-assign]
