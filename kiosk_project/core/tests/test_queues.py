"""Every task has a queue of its own kind: payments, kitchen or menu (settings/base.py, CELERY_TASK_ROUTES).

On a real broker and a real worker: kds_bridge/tests/test_rabbitmq.py.
"""

from __future__ import annotations

from fnmatch import fnmatch

from django.conf import settings

from kiosk_project.celery import app

EXPECTED = {
    "payments.tasks.payments_reconcile_task": "payments",
    "payments.tasks.orders_expire_task": "payments",
    "payments.tasks.payments_refund_submit_task": "payments",
    "backoffice.tasks.problems_notify_task": "payments",
    "kds_bridge.tasks.kitchen_send_task": "kitchen",
    "kds_bridge.tasks.kitchen_sweep_task": "kitchen",
    "kds_bridge.tasks.kitchen_alert_check_task": "kitchen",
    "catalog.tasks.catalog_refresh_task": "menu",
    "catalog.tasks.catalog_refresh_all_task": "menu",
}


def our_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def test_the_three_queues():
    assert [q.name for q in settings.CELERY_TASK_QUEUES] == ["payments", "kitchen", "menu"]
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "payments"


def test_every_task_is_routed_explicitly_to_its_queue():
    """A new task must be given a route: falling into the default queue by accident is not a decision."""
    tasks = our_tasks()
    assert set(EXPECTED) <= set(tasks)
    for name in tasks:
        patterns = [p for p in settings.CELERY_TASK_ROUTES if fnmatch(name, p)]
        assert patterns, f"{name} has no route in CELERY_TASK_ROUTES"
        queue = app.amqp.router.route({}, name)["queue"].name
        assert queue == EXPECTED.get(name, queue), name
        assert queue in {q.name for q in settings.CELERY_TASK_QUEUES}


def test_the_beat_schedule_only_names_routed_tasks():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in EXPECTED, entry["task"]
