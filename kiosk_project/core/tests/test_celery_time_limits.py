"""kiosk_project/celery_time_limits.py: a soft-time-limit signal counts only while a task runs.

Run in a subprocess each (a pool child's state: billiard's SIGUSR1 handler installed, our guard armed by
the first task), with real signals sent to itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import os, signal
from billiard.exceptions import SoftTimeLimitExceeded
from billiard.pool import soft_timeout_sighandler
from celery.signals import task_postrun, task_prerun
from kiosk_project import celery_time_limits

signal.signal(signal.SIGUSR1, {handler})  # what the pool child (or gunicorn) installed
celery_time_limits.install()

def deliver():
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        return "nothing"
    except SoftTimeLimitExceeded:
        return "soft limit"

task_prerun.send(sender=None, task_id="1", task=None)
inside = deliver()
task_postrun.send(sender=None, task_id="1", task=None)
between = deliver()
task_prerun.send(sender=None, task_id="2", task=None)
inside_again = deliver()
print(inside, "|", between, "|", inside_again)
"""


def run(handler: str) -> str:
    result = subprocess.run([sys.executable, "-c", CHILD.format(handler=handler)], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_in_a_pool_child_the_signal_raises_inside_a_task_and_is_ignored_between_tasks():
    assert run("soft_timeout_sighandler") == "soft limit | nothing | soft limit"


def test_another_processs_sigusr1_handler_is_left_alone():
    """An eager task in a gunicorn process: gunicorn's SIGUSR1 (reopen the logs) keeps working."""
    out = run("lambda signum, frame: print('reopened logs', end=' ')")
    assert out == "reopened logs " * 3 + "nothing | nothing | nothing"  # all three reached it, between tasks too
