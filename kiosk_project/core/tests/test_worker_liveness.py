"""The worker liveness check (`manage.py worker_alive`) and `make run`'s use of it to replace a worker.

The heartbeat a real worker writes, and a wedged or cut-off worker being noticed, are tested with real
worker processes in kds_bridge/tests/test_broker_restart.py.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[3]


def test_worker_alive_needs_a_fresh_heartbeat(tmp_path):
    beat = tmp_path / "worker.heartbeat"
    with pytest.raises(CommandError, match="no heartbeat"):
        call_command("worker_alive", "--file", str(beat))
    beat.touch()
    call_command("worker_alive", "--file", str(beat), "--max-age", "30")
    old = time.time() - 120
    os.utime(beat, (old, old))
    with pytest.raises(CommandError, match="last heartbeat 120 s ago"):
        call_command("worker_alive", "--file", str(beat), "--max-age", "60")


def _run_py():
    spec = importlib.util.spec_from_file_location("kiosk_run", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_run_replaces_a_worker_that_exited_or_whose_heartbeat_is_stale(tmp_path):
    run = _run_py()
    beat = tmp_path / "worker.heartbeat"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kiosk_project.settings.test", "WORKER_HEARTBEAT_FILE": str(beat)}
    supervisor = run.Supervised([sys.executable, str(ROOT / "manage.py")], env)
    supervisor.STARTUP_GRACE = supervisor.CHECK_EVERY = 0.0
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        beat.touch()
        assert not supervisor.needs_restart(worker)  # alive and beating
        old = time.time() - 600
        os.utime(beat, (old, old))
        assert supervisor.needs_restart(worker) and "last heartbeat" in supervisor.reason  # wedged
        worker.kill()
        worker.wait(timeout=10)
        assert supervisor.needs_restart(worker) and "exited" in supervisor.reason  # dead
    finally:
        if worker.poll() is None:
            worker.kill()
