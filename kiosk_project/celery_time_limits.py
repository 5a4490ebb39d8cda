"""A pool child acts on a soft time limit only while it runs a task.

Celery's prefork pool enforces time limits from the parent: a thread there compares each job's start
with the clock and signals the child (SIGUSR1: SoftTimeLimitExceeded raised wherever the child is).
The parent learns that a job has finished only when its event loop reads the child's result, and
while the consumer reconnects to a lost broker that loop does not turn. After a broker outage longer
than a task's soft limit, the parent therefore signals children whose tasks finished long ago: the
exception lands in billiard's own code between tasks, the child exits ("Pool process error:
SoftTimeLimitExceeded()"), and if it was writing its result the frame on the result pipe is torn,
the parent unpickles garbage and the whole worker dies ("UnicodeDecodeError ... in _recv_message"),
with nothing left to consume until a supervisor restarts it. Seen in
kds_bridge/tests/test_broker_restart.py on a loaded machine (soft limit 7 s there, 19 s in
production: an outage longer than that does it in production too); reproduced with a plain Celery
app, a 3 s soft limit and a 10 s Redis outage.

The guard: in each child, the first task wraps billiard's SIGUSR1 handler so that it raises only while
a task is between task_prerun and task_postrun; a stray signal outside is logged and ignored. Hard
limits are unchanged (the parent kills the child: its pipe ends with EOF, which the parent handles).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from billiard.pool import soft_timeout_sighandler
from celery.signals import task_postrun, task_prerun

log = logging.getLogger(__name__)

_SIGNAL = getattr(signal, "SIGUSR1", None)
_state = {"in_task": False, "guarded": False}


def _guarded(previous: Callable[[int, FrameType | None], Any]) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        if _state["in_task"]:
            previous(signum, frame)  # billiard's: raises SoftTimeLimitExceeded inside the task
            return
        log.warning("soft time limit signal outside a task ignored (the parent was behind, e.g. after a broker "
                    "outage)")

    return handler


def _on_prerun(**_: Any) -> None:
    if _SIGNAL is not None and not _state["guarded"]:
        previous = signal.getsignal(_SIGNAL)
        # Only billiard's handler in a pool child (installed after the child's initializer, hence here):
        # an eager task in a web process must leave gunicorn's SIGUSR1 (reopen the logs) alone.
        if previous is soft_timeout_sighandler:
            signal.signal(_SIGNAL, _guarded(previous))
        _state["guarded"] = True
    _state["in_task"] = True


def _on_postrun(**_: Any) -> None:
    _state["in_task"] = False


def install() -> None:
    task_prerun.connect(_on_prerun, weak=False, dispatch_uid="kiosk-soft-limit-prerun")
    task_postrun.connect(_on_postrun, weak=False, dispatch_uid="kiosk-soft-limit-postrun")
