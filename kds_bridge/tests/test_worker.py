"""End to end with real Celery worker processes on the real Redis broker.

Workers are `celery -A kiosk_project worker -P prefork -c 1` subprocesses against this test's
PostgreSQL database, the suite's Redis and the Rista sandbox (testing/realworker.py).
Beat runs only where a test says so, so each test proves one recovery mechanism.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.conf import settings

from kds_bridge.models import DeliveryStatus, KitchenDelivery, KitchenDeliveryAttempt
from kds_bridge.services import lease_seconds
from kds_bridge.tasks import kitchen_sweep_task
from kds_bridge.tests.conftest import backdate, confirm, kill_worker, sale_post_in_flight, sale_posts, stats
from orders.models import KitchenStatus, Order
from testing.realworker import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The sweeper's timing for the tests with beat (production: every 5 s, overdue after 10 s).
SWEEP_EVERY, SWEEP_AFTER = 1.0, 2.0
# What a busy 2-core machine may add to a bound: process start-up, the re-send itself, scheduling.
SLACK = 10.0


@pytest.fixture
def celery(celery_procs, broker):
    return celery_procs


def delivery_of(order_id) -> KitchenDelivery:
    return KitchenDelivery.objects.get(order_id=order_id)


def delivered(order_id) -> bool:
    return delivery_of(order_id).status == DeliveryStatus.DELIVERED


def test_a_real_worker_delivers_a_paid_order(celery, place_order, rista):
    celery.worker()
    order_id = place_order()["order_id"]
    confirm(order_id)
    wait_for(lambda: delivered(order_id), 45, "delivery", celery)
    assert len(rista.sales) == 1 and sale_posts(rista) == 1
    assert rista.sales[0]["sourceInfo"]["orderTransactionId"] == order_id
    assert Order.objects.get(pk=order_id).kitchen_status == KitchenStatus.SENT


def test_a_pool_child_killed_mid_send_is_redelivered_at_once_and_rista_gets_one_sale(celery, place_order, rista):
    """SIGKILL the prefork child while its POST is in flight (Rista is slow: the request has arrived).

    Its parent re-queues the message at once (task_acks_late + task_reject_on_worker_lost); the
    redelivered task finds the dead sender's lease, waits for it to expire, looks the sale up (the
    killed POST did reach Rista) and records it without posting again. Neither beat nor the sweeper runs.
    """
    worker = celery.worker()
    order_id = sale_post_in_flight(celery, rista, place_order)
    sending = delivery_of(order_id)
    assert sending.status == DeliveryStatus.SENDING
    sender_pid = int(sending.claimed_by.rsplit(":", 1)[1])
    assert sender_pid != worker.pid  # the prefork child was sending
    os.kill(sender_pid, signal.SIGKILL)

    wait_for(lambda: delivered(order_id), 90, "recovery", celery)
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


@pytest.mark.parametrize("kill", ["main_process", "main_process_and_pool"])
def test_a_killed_worker_s_order_is_re_sent_by_the_sweeper_within_the_bound(celery, place_order, rista, kill):
    """The worker dies while its POST is in flight; its message stays unacknowledged in Redis for the
    broker's visibility timeout (an hour, as in production). The outbox row and the sweeper deliver
    the order anyway, within the bound docs/kitchen.md states:

        lease (9 s here: it outlives the send's hard time limit) + one sweep period (1 s here)
        + the re-send, from the kill; or, if the sender lived on to record a retry, the retry's due
        time + KDS_SWEEP_AFTER_SECONDS + one sweep period, which is shorter.
    """
    celery.env_extra.update({"KDS_SWEEP_EVERY_SECONDS": str(SWEEP_EVERY), "KDS_SWEEP_AFTER_SECONDS": str(SWEEP_AFTER),
                             "CELERY_BROKER_VISIBILITY_TIMEOUT": "3600"})
    worker = celery.worker()
    celery.beat()
    order_id = sale_post_in_flight(celery, rista, place_order)
    killed_at = kill_worker(worker, kill)
    celery.worker()  # a replacement, at once (kombu would restore the unacked message only after an hour)

    bound = lease_seconds() + SWEEP_EVERY + SLACK
    wait_for(lambda: delivered(order_id), bound - (time.monotonic() - killed_at), "redelivery within the bound",
             celery)
    assert "kitchen delivery swept" in celery.logs()  # the sweeper, not the broker, brought it back
    (sale,) = rista.sales
    assert delivery_of(order_id).rista_invoice_number == sale["invoiceNumber"]
    assert sale_posts(rista) == 1 and stats(rista)["sale_duplicates"] == 0  # found by the lookup, not re-posted


def test_a_lost_enqueue_is_recovered_by_the_sweeper_task(celery, place_order, rista, broker):
    order_id = place_order()["order_id"]
    confirm(order_id)  # published while no worker runs...
    broker.flushdb()  # ...and lost: the broker forgot it (or the web process died before publishing)
    celery.worker()
    assert delivery_of(order_id).status == DeliveryStatus.PENDING and rista.sales == []

    backdate(order_id, settings.KDS_SWEEP_AFTER_SECONDS + 1)
    kitchen_sweep_task.delay()  # what beat does every few seconds; the worker runs the sweep, then the send
    wait_for(lambda: delivered(order_id), 45, "sweeper recovery", celery)
    assert len(rista.sales) == 1 and sale_posts(rista) == 1


def _worker_sessions(application_name: str) -> set[tuple[int, object]]:
    """The worker's PostgreSQL sessions now: (backend pid, when it started)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE application_name = %s",
                       [application_name])
        return set(cursor.fetchall())


@pytest.mark.parametrize("pool", [False, True], ids=["persistent", "psycopg-pool"])
def test_a_worker_keeps_its_database_sessions_across_tasks(celery, place_order, rista, pool):
    """Celery's Django fixup closed every connection (and, with the pool in a prefork child, the whole
    pool) around every task: each kitchen send opened new PostgreSQL sessions. Now the sessions that
    served the first order serve the next five (kiosk_project/celery_connections.py)."""
    name = f"kds-worker-{'pool' if pool else 'persistent'}"
    celery.env_extra.update({"PGAPPNAME": name, "DB_POOL": "true" if pool else "false"})
    celery.worker()

    def deliver_one() -> None:
        order_id = place_order()["order_id"]
        confirm(order_id)
        wait_for(lambda: delivered(order_id), 45, "delivery", celery)

    deliver_one()
    after_first = _worker_sessions(name)
    assert after_first, "the worker keeps a database session between tasks"
    for _ in range(5):
        deliver_one()
    assert _worker_sessions(name) == after_first  # the same sessions: none closed, none opened
    assert len(rista.sales) == 6
