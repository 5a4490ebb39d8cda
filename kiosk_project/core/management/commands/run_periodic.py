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
        app.loader.import_default_modules()
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
            app.tasks[task_name].apply(throw=True)
        except Exception:
            log.exception("periodic job %s failed", name)
        finally:
            close_old_connections()
