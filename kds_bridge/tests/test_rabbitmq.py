"""Production's broker, RabbitMQ, with real `celery worker` processes: queues, isolation, kills, restarts.

The suite's RabbitMQ (RABBITMQ_URL: `make test` starts a private node) is the broker of most tests here;
the restart test gets a node of its own, since it stops it. This process publishes to RabbitMQ as well
(`use_broker`): orders placed through the kiosk API and confirmed here enqueue their kitchen send there.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Iterator
from datetime import timedelta

import kombu
import pytest
from django.conf import settings
from django.utils import timezone

from kds_bridge.models import DeliveryStatus, KitchenDelivery
from kds_bridge.services import lease_seconds
from kds_bridge.tests.conftest import (
    confirm,
    control,
    fault,
    kill_worker,
    orders_through_restarts,
    sale_post_in_flight,
    sale_posts,
    stats,
)
from orders.models import Order, OrderStatus
from payments.models import Payment
from payments.tests.helpers import INITIATE, reference_of
from testing.realworker import ROOT, use_broker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUEUES = ("payments", "kitchen", "menu")
SLACK = 10.0  # what a busy 2-core machine may add to a bound: process start-up, the re-send, scheduling


def _testservices():
    spec = importlib.util.spec_from_file_location("testservices", ROOT / "scripts" / "testservices.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def depth(url: str, queue: str) -> int:
    """Messages ready in `queue` (not those a worker holds unacknowledged)."""
    with kombu.Connection(url, connect_timeout=5) as conn:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count


def purge(url: str) -> None:
    from kiosk_project.celery import app

    with kombu.Connection(url, connect_timeout=5) as conn:
        for queue in app.amqp.queues.values():
            bound = queue(conn.default_channel)
            bound.declare()
            bound.purge()


@pytest.fixture
def rabbitmq_url() -> Iterator[str]:
    url = os.environ.get("RABBITMQ_URL", "")
    if not url:
        pytest.fail("RABBITMQ_URL is unset: run the suite with `make test` (it starts a RabbitMQ node)")
    purge(url)  # nothing left over from an earlier test
    with use_broker(url):
        yield url
    purge(url)


@pytest.fixture
def celery(celery_procs, rabbitmq_url):
    celery_procs.env_extra["CELERY_BROKER_URL"] = rabbitmq_url
    return celery_procs


def delivered(order_id) -> bool:
    return KitchenDelivery.objects.get(order_id=order_id).status == DeliveryStatus.DELIVERED


# --- routing, and one worker for everything --------------------------------------------------------------

def test_each_task_lands_on_its_queue_and_a_worker_without_q_consumes_them_all(celery, rabbitmq_url, place_order,
                                                                                rista):
    from backoffice.tasks import problems_notify_task
    from catalog.tasks import catalog_refresh_task
    from payments.tasks import payments_reconcile_task

    order_id = place_order()["order_id"]
    confirm(order_id)  # the kitchen send, published on commit
    catalog_refresh_task.delay(settings.KIOSK_BRANCH_CODE, settings.KIOSK_DEFAULT_CHANNEL)
    payments_reconcile_task.delay()
    problems_notify_task.delay()
    assert {q: depth(rabbitmq_url, q) for q in QUEUES} == {"payments": 2, "kitchen": 1, "menu": 1}

    worker = celery.worker()  # `celery -A kiosk_project worker`, no -Q: make run's and a one-box install's
    wait_for(lambda: all(depth(rabbitmq_url, q) == 0 for q in QUEUES), 60, "every queue drained", celery)
    wait_for(lambda: delivered(order_id), 45, "the order in the kitchen", celery)
    log = worker.log_path.read_text()
    for name in ("kds_bridge.tasks.kitchen_send_task", "catalog.tasks.catalog_refresh_task",
                 "payments.tasks.payments_reconcile_task", "backoffice.tasks.problems_notify_task"):
        wait_for(lambda name=name: f"Task {name}[" in worker.log_path.read_text()
                 and "succeeded" in worker.log_path.read_text(), 30, f"{name} run", celery)
    assert "Unrecoverable error" not in log
    assert [s["sourceInfo"]["orderTransactionId"] for s in rista.sales] == [order_id]


# --- a kitchen backlog never delays a payment's confirmation -----------------------------------------------

def _paid_without_callback(place_order, kiosk_client, phonepe) -> tuple[str, str]:
    """An order whose PhonePe payment succeeded but whose callback was lost: only the reconciler (a task on
    the payments queue) can confirm it. Its status check is made due now."""
    order = place_order()
    resp = kiosk_client.post(INITIATE, {"order_id": order["order_id"], "amount": order["total_amount_include_tax"]},
                             format="json")
    assert resp.status_code == 201, resp.content
    payment_id = resp.json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.set_callback(reference, "drop")
    phonepe.pay(reference)
    Payment.objects.filter(pk=payment_id).update(next_check_at=timezone.now() - timedelta(seconds=1))
    return order["order_id"], payment_id


def phonepe_env() -> dict[str, str]:
    """The worker's PhonePe settings: the sandbox the `phonepe` fixture pointed this process at."""
    names = ("PHONEPE_API", "PHONEPE_BASE_URL", "PHONEPE_OAUTH_URL", "PHONEPE_CLIENT_ID", "PHONEPE_CLIENT_SECRET",
             "PHONEPE_CLIENT_VERSION", "PHONEPE_WEBHOOK_USERNAME", "PHONEPE_WEBHOOK_PASSWORD",
             "PHONEPE_MERCHANT_ID", "PHONEPE_SALT_KEY", "PHONEPE_SALT_INDEX")
    return {name: str(getattr(settings, name)) for name in names}


BACKLOG = 30


def test_the_payments_worker_confirms_while_the_kitchen_queue_holds_a_backlog(
        celery, rabbitmq_url, place_order, kiosk_client, phonepe, rista, settings):
    """Rista hangs (every sale POST waits out our read timeout): the kitchen worker crawls through its
    queue and retries pile up. A payment whose callback was lost is confirmed by the payments worker's
    reconciler while the kitchen queue still holds the backlog, the order asserted, not a time.

    With one queue for everything (before issue 13) the reconcile message sat behind the backlog: FIFO.
    """
    from payments.tasks import payments_reconcile_task

    settings.ORDER_RATE_LIMIT_PER_MINUTE = 0  # one kiosk places them all
    celery.env_extra.update(phonepe_env())
    fault(rista, mode="timeout", delay=30, count=100_000, routes=["sale_post"])  # each POST: the 2 s read timeout
    for _ in range(BACKLOG):
        confirm(place_order()["order_id"])
    assert depth(rabbitmq_url, "kitchen") == BACKLOG
    kitchen = celery.worker(queues="kitchen", concurrency=1)
    payments = celery.worker(queues="payments", concurrency=1)
    wait_for(lambda: sale_posts(rista) >= 1, 30, "the kitchen worker at work", celery)

    order_id, payment_id = _paid_without_callback(place_order, kiosk_client, phonepe)
    payments_reconcile_task.delay()  # what beat publishes every 3 s
    wait_for(lambda: Order.objects.get(pk=order_id).status == OrderStatus.CONFIRMED, 60, "the confirmation", celery)
    backlog_left = depth(rabbitmq_url, "kitchen")
    posts = sale_posts(rista)
    assert backlog_left >= BACKLOG - posts - 1 > 0, (backlog_left, posts)  # most of the backlog still waits
    reconcile, send = "Task payments.tasks.payments_reconcile_task[", "Task kds_bridge.tasks.kitchen_send_task["
    assert reconcile in payments.log_path.read_text()
    assert reconcile not in kitchen.log_path.read_text()  # each queue to its own worker
    assert send not in payments.log_path.read_text()
    assert Payment.objects.get(pk=payment_id).status == "SUCCEEDED"


# --- a killed worker's unacknowledged messages ---------------------------------------------------------------

@pytest.mark.parametrize("kill", ["main_process", "main_process_and_pool"])
def test_rabbitmq_redelivers_a_killed_worker_s_unacked_message_at_once(celery, rabbitmq_url, place_order, rista,
                                                                       kill):
    """The worker dies while its POST is in flight. RabbitMQ sees the connection close and puts the
    unacknowledged message back at once (no visibility timeout, unlike Redis); a replacement worker gets
    it, finds the dead sender's lease, waits for it to end and looks the sale up: one sale, no second
    POST. No beat runs, so the sweeper plays no part. Bound from the kill: the lease + SLACK."""
    worker = celery.worker()
    order_id = sale_post_in_flight(celery, rista, place_order)
    killed_at = kill_worker(worker, kill)
    replacement = celery.worker()
    wait_for(lambda: "kds_bridge.tasks.kitchen_send_task[" in replacement.log_path.read_text(), 30,
             "the message redelivered to the replacement", celery)
    redelivered_s = time.monotonic() - killed_at
    bound = lease_seconds() + SLACK
    wait_for(lambda: delivered(order_id), bound - (time.monotonic() - killed_at), "delivery within the bound", celery)
    assert redelivered_s < SLACK, redelivered_s
    assert "kitchen delivery swept" not in celery.logs()  # the broker brought it back, not the sweeper
    (sale,) = rista.sales
    assert KitchenDelivery.objects.get(order_id=order_id).rista_invoice_number == sale["invoiceNumber"]
    assert sale_posts(rista) == 1 and stats(rista)["sale_duplicates"] == 0


# --- a RabbitMQ restart under load ---------------------------------------------------------------------------

ORDERS = 36
RESTARTS = 3
OUTAGE_SECONDS = 3.0


@pytest.fixture
def private_rabbitmq() -> Iterator:
    node = _testservices().RabbitMQ()
    node.start()
    try:
        yield node
    finally:
        node.close()


def test_every_paid_order_reaches_rista_once_through_rabbitmq_restarts_under_load(
        celery_procs, private_rabbitmq, place_order, rista, settings):
    """RabbitMQ is stopped (SIGTERM, as `docker restart` does) and started again three times while orders
    are paid and the worker holds unacknowledged retries. Queues are durable and messages persistent, so
    what was queued survives; what could not be published while it was down, the outbox sweeper sends.
    The worker reconnects by itself; Rista's merge on orderTransactionId is off, so a second POST shows."""
    settings.ORDER_RATE_LIMIT_PER_MINUTE = 0
    celery_procs.env_extra.update({"CELERY_BROKER_URL": private_rabbitmq.url, "KDS_SWEEP_EVERY_SECONDS": "1",
                                   "KDS_SWEEP_AFTER_SECONDS": "2", "WORKER_HEARTBEAT_EVERY_SECONDS": "0.5"})
    celery = celery_procs
    control(rista, "POST", "/_control/dedupe", enabled=False)
    fault(rista, mode="error", status=503, count=100_000, routes=["sale_post"])  # retries pile up meanwhile
    with use_broker(private_rabbitmq.url):
        worker = celery.worker("--without-gossip", "--without-mingle", concurrency=4)  # compose's flags
        celery.beat()

        def restart() -> None:
            private_rabbitmq.stop()
            time.sleep(OUTAGE_SECONDS)
            private_rabbitmq.start()

        order_ids = orders_through_restarts(place_order, restart, orders=ORDERS, restarts=RESTARTS, timeout=60,
                                            what="restart", celery=celery)
        control(rista, "DELETE", "/_control/faults")  # Rista answers again

        def open_deliveries() -> int:
            return KitchenDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).count()

        wait_for(lambda: open_deliveries() == 0 or not worker.alive(), 120, "every order delivered", celery)
    assert worker.alive(), f"the worker died:\n{worker.output()}"
    assert not any("Unrecoverable error" in p.log_path.read_text() for p in celery.procs)
    assert "Connection to broker lost" in worker.log_path.read_text()  # it did see the restarts
    sales = rista.sales
    assert sorted(s["sourceInfo"]["orderTransactionId"] for s in sales) == sorted(order_ids)  # each exactly once
