"""The Celery app: Redis broker, JSON only, nothing acknowledged before it is done."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kiosk_project.settings.local")

app = Celery("kiosk_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
