"""The Celery app: RabbitMQ (production) or Redis broker, JSON only, nothing acknowledged before it is done."""

import os
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler

from kiosk_project import celery_connections, celery_time_limits

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kiosk_project.settings.local")

celery_connections.install()  # connections kept across tasks (see the module)
celery_time_limits.install()  # a stray soft-time-limit signal between tasks is ignored (see the module)
app = Celery("kiosk_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The worker's liveness heartbeat (kiosk_project/worker_liveness.py), read by `manage.py worker_alive`.
app.steps["consumer"].add("kiosk_project.worker_liveness:Heartbeat")


class Scheduler(PersistentScheduler):
    """beat's default scheduler, keeping its file where CELERY_BEAT_SCHEDULE_FILENAME says (default
    .run/celerybeat-schedule, out of the checkout), creating the folder on first start."""

    def setup_schedule(self) -> None:
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()
