"""`python manage.py worker_alive [--max-age S] [--file PATH]`: exit 0 if the Celery worker is alive.

Docker compose's healthcheck for the worker and `make run`'s supervisor use it. The worker touches
its heartbeat file while it is connected to the broker (kiosk_project/worker_liveness.py).
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kiosk_project.worker_liveness import worker_is_alive


class Command(BaseCommand):
    help = "Exit 0 if the Celery worker's heartbeat is fresh, 1 (with the reason) if not."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--max-age", type=float, default=None, help="default: WORKER_HEARTBEAT_MAX_AGE_SECONDS")
        parser.add_argument("--file", default=None, help="default: WORKER_HEARTBEAT_FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        alive, why = worker_is_alive(Path(options["file"]) if options["file"] else None, options["max_age"])
        if not alive:
            raise CommandError(f"worker not alive: {why}")
        self.stdout.write(f"worker alive: {why}")
