"""Run the beat schedule in-process: the periodic jobs of `make run`'s embedded mode.

With no broker there is no Celery worker or beat, but the reconciler, the
expiry job and the kitchen sweeper must still run, or a demo would lose
payments whose callback was dropped. This runs each CELERY_BEAT_SCHEDULE entry
at its interval, one at a time. With a broker, use `celery beat` instead.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from kiosk_project.celery import app

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the periodic jobs (CELERY_BEAT_SCHEDULE) in this process, for the embedded mode."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run every job once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        app.loader.import_default_modules()  # (re-applies LOGGING, which resets celery.* levels: quiet after it)
        # Celery logs every task's result at INFO ("succeeded in 0.01s: {...}"): every 3 s here, burying
        # make run's banner. This process says something only when a job did something (see _run).
        logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
        schedule = {name: entry for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
                    if entry["task"] in app.tasks}
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            if name not in schedule:
                log.warning("periodic job %s skipped: task %s is not installed", name, entry["task"])
        running = True

        def stop(*_: object) -> None:
            nonlocal running
            running = False

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        due = {name: time.monotonic() + 2.0 for name in schedule}  # let the web server start first
        if options["once"]:
            due = dict.fromkeys(schedule, 0.0)
        while running:
            now = time.monotonic()
            for name, entry in schedule.items():
                if due[name] <= now:
                    self._run(name, entry["task"])
                    due[name] = time.monotonic() + float(entry["schedule"])
            if options["once"]:
                return
            time.sleep(min(1.0, max(0.1, min(due.values(), default=now + 1) - time.monotonic())))

    def _run(self, name: str, task_name: str) -> None:
        close_old_connections()
        try:
            result = app.tasks[task_name].apply(throw=True).result
        except Exception:
            log.exception("periodic job %s failed", name)
        else:
            if _did_something(result):
                log.info("periodic job %s: %s", name, _summary(result))
        finally:
            close_old_connections()


def _did_something(result: Any) -> bool:
    """A job's result counts something (a number, a list, a dict of those) that is not zero or empty."""
    if isinstance(result, dict):
        return any(_did_something(value) for value in result.values())
    if isinstance(result, bool):
        return result
    if isinstance(result, (int, float)):
        return result != 0
    if isinstance(result, (list, tuple)):
        return len(result) > 0
    return False  # strings ("ok <etag>") and None: routine


def _summary(result: Any) -> str:
    if isinstance(result, dict):
        return " ".join(f"{key}={value}" for key, value in result.items() if _did_something(value))
    return str(result)
