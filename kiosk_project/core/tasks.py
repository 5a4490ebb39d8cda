"""Publishing Celery tasks from on-commit hooks without ever failing the request."""

from __future__ import annotations

import logging
from typing import Any

from kiosk_project.core import metrics
from kiosk_project.core.logging import log_context

log = logging.getLogger(__name__)


def enqueue_or_log(task: Any, *args: Any, metric: str, recovered_by: str, order_id: str | None = None) -> bool:
    """`task.delay(*args)`; a broker failure is counted and logged, never raised.

    Callers only use this for work that a periodic job (`recovered_by`) finds again
    from the database, so a lost publish delays the work instead of losing it.
    """
    try:
        task.delay(*args)
        return True
    except Exception as exc:
        metrics.incr(metric)
        with log_context(order_id=order_id or ""):
            log.warning("task %s not enqueued; %s will pick it up", task.name, recovered_by,
                        extra={"task_args": [str(a) for a in args], "error": f"{type(exc).__name__}: {exc}"[:300]})
        return False
