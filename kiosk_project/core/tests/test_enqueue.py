"""A broker outage at publish time must not fail the request that committed the work."""

from __future__ import annotations

import socket

import pytest
from celery import Celery

from kiosk_project.core import metrics
from kiosk_project.core.tasks import enqueue_or_log


@pytest.fixture
def task_on_a_dead_broker(monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery lets it override the broker given here
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = Celery("dead", broker=f"redis://127.0.0.1:{port}/0", set_as_current=False)
    app.conf.broker_connection_timeout = 0.5
    app.conf.task_publish_retry_policy = {"max_retries": 0}

    @app.task(name="tests.noop", shared=False)
    def noop(value: str) -> None:  # pragma: no cover (never runs)
        pass

    return noop


def test_a_failed_publish_is_counted_and_logged_not_raised(task_on_a_dead_broker, caplog):
    assert enqueue_or_log(task_on_a_dead_broker, "x", metric="test.enqueue_failed", recovered_by="the sweeper",
                          order_id="o-1") is False
    assert metrics.get("test.enqueue_failed") == 1
    record = next(r for r in caplog.records if "not enqueued" in r.getMessage())
    assert record.order_id == "o-1" and "the sweeper" in record.getMessage()
