"""End to end with real Celery worker processes on the real Redis broker.

The worker is `celery -A kiosk_project worker -P prefork -c 1`, started as a
subprocess against this test's PostgreSQL database, the suite's Redis and the
Rista sandbox. No beat runs and the test never calls the sweeper unless it says
so, so each test proves exactly one recovery mechanism.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from kds_bridge.models import DeliveryStatus, KitchenDelivery, KitchenDeliveryAttempt
from kds_bridge.tasks import kitchen_sweep_task
from kds_bridge.tests.conftest import backdate, confirm, fault, sale_posts, stats
from orders.models import KitchenStatus, Order

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BROKER_VISIBILITY_TIMEOUT = 5  # seconds: lets a fresh worker restore a dead worker's unacked message quickly


class Worker:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kiosk_project", "worker", "-P", "prefork", "-c", "1",
             "--without-mingle", "--without-gossip", "--without-heartbeat", "-Q", "celery", "-l", "INFO",
             "-n", f"kds-test-{uuid.uuid4().hex[:8]}@%h"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while b" ready." not in self.log_path.read_bytes():
            assert self.proc.poll() is None, f"worker exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"worker not ready:\n{self.output()}"
            time.sleep(0.1)

    def kill_all(self) -> None:
        """SIGKILL the worker and its pool children at once: the machine lost the process."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        self.kill_all()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()  # no leftover messages (or unacked ones) from earlier tests
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def start_worker(transactional_db, rista, broker, tmp_path) -> Iterator[Callable[[], Worker]]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kiosk_project.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": os.environ["REDIS_URL"],
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_BROKER_VISIBILITY_TIMEOUT": str(BROKER_VISIBILITY_TIMEOUT),
        "RISTA_BASE_URL": rista.url + "/v1",
        "RISTA_API_KEY": settings.RISTA_API_KEY,  # the `rista` fixture pointed settings at the sandbox
        "RISTA_SECRET_KEY": settings.RISTA_SECRET_KEY,
        "PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL,
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    workers: list[Worker] = []

    def start() -> Worker:
        worker = Worker(env, tmp_path / f"worker{len(workers)}.log")
        workers.append(worker)
        worker.wait_ready()
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()


def wait_for(condition: Callable[[], bool], timeout: float, what: str, workers: list[Worker]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(w.output() for w in workers)
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.05)


def delivery_of(order_id) -> KitchenDelivery:
    return KitchenDelivery.objects.get(order_id=order_id)


def test_a_real_worker_delivers_a_paid_order(start_worker, place_order, rista):
    worker = start_worker()
    order_id = place_order()["order_id"]
    confirm(order_id)
    wait_for(lambda: delivery_of(order_id).status == DeliveryStatus.DELIVERED, 45, "delivery", [worker])
    assert len(rista.sales) == 1 and sale_posts(rista) == 1
    assert rista.sales[0]["sourceInfo"]["orderTransactionId"] == order_id
    assert Order.objects.get(pk=order_id).kitchen_status == KitchenStatus.SENT


@pytest.mark.parametrize("kill", ["pool_child", "whole_worker"])
def test_a_worker_killed_mid_send_is_redelivered_and_rista_gets_one_sale(start_worker, place_order, rista, kill):
    """SIGKILL while the POST is in flight (Rista is slow: the request has arrived, no answer yet).

    pool_child: the prefork child dies; its parent re-queues the message at once
    (task_acks_late + task_reject_on_worker_lost). whole_worker: parent and child
    die; a replacement worker started after the broker's visibility timeout
    restores the unacknowledged message from Redis. Either way the redelivered task finds the dead sender's
    lease, waits for it to expire, looks the sale up (the killed POST did reach
    Rista) and records it without posting again. Neither beat nor the sweeper runs.
    """
    worker = start_worker()
    fault(rista, mode="slow", delay=3, routes=["sale_post"])  # the client read timeout is 2 s: kill before
    order_id = place_order()["order_id"]
    confirm(order_id)
    wait_for(lambda: stats(rista)["requests"].get("sale_post", 0) == 1, 20, "the POST to arrive", [worker])
    sending = delivery_of(order_id)
    assert sending.status == DeliveryStatus.SENDING
    sender_pid = int(sending.claimed_by.rsplit(":", 1)[1])
    assert sender_pid != worker.proc.pid  # the prefork child was sending
    workers = [worker]
    if kill == "pool_child":
        os.kill(sender_pid, signal.SIGKILL)
    else:
        worker.kill_all()
        # kombu restores unacked messages older than the visibility timeout when a worker starts
        # (then only every ~100 s): the replacement comes up after the timeout, as one would.
        time.sleep(BROKER_VISIBILITY_TIMEOUT + 1)
        workers.append(start_worker())

    wait_for(lambda: delivery_of(order_id).status == DeliveryStatus.DELIVERED, 90, "recovery", workers)
    delivery = delivery_of(order_id)
    attempts = list(KitchenDeliveryAttempt.objects.filter(delivery=delivery).order_by("number")
                    .values_list("outcome", "looked_up", "worker"))
    assert [(outcome, looked) for outcome, looked, _ in attempts] == [
        ("interrupted", False), ("duplicate_found", True)]
    assert attempts[1][2] != sending.claimed_by  # finished by another process
    (sale,) = rista.sales
    assert delivery.rista_invoice_number == sale["invoiceNumber"]
    assert sale_posts(rista) == 1 and stats(rista)["sale_duplicates"] == 0
    assert Order.objects.get(pk=order_id).kitchen_status == KitchenStatus.SENT


def test_a_lost_enqueue_is_recovered_by_the_sweeper_task(start_worker, place_order, rista, broker):
    order_id = place_order()["order_id"]
    confirm(order_id)  # published while no worker runs...
    broker.flushdb()  # ...and lost: the broker forgot it (or the web process died before publishing)
    worker = start_worker()
    time.sleep(1)
    assert delivery_of(order_id).status == DeliveryStatus.PENDING and rista.sales == []

    backdate(order_id, settings.KDS_SWEEP_AFTER_SECONDS + 1)
    kitchen_sweep_task.delay()  # what beat does every 10 s; the worker runs the sweep, then the send
    wait_for(lambda: delivery_of(order_id).status == DeliveryStatus.DELIVERED, 45, "sweeper recovery", [worker])
    assert len(rista.sales) == 1 and sale_posts(rista) == 1
