"""Sending a paid order to Rista: the outbox row, retries, lookups, rejections, leases, the sweeper, alerts.

Service level (no worker process): PostgreSQL, Redis and the Rista sandbox over HTTP are real.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kds_bridge.models import AttemptOutcome, DeliveryStatus, KitchenDelivery, KitchenDeliveryAttempt
from kds_bridge.payload import sale_build, sale_to_wire
from kds_bridge.recovery import kitchen_alert_check, kitchen_deliveries_sweep
from kds_bridge.services import BUSY, CLOSED, NOT_DUE, kitchen_delivery_create, kitchen_sale_send, lease_seconds
from kds_bridge.tasks import kitchen_send_task
from kds_bridge.tests.conftest import backdate, confirm, fault, make_due, sale_posts, settle, stats
from kiosk_project.core import metrics
from kiosk_project.integrations.rista import get_client
from orders.models import KitchenStatus, Order, OrderEvent
from payments.status_cache import CopyRebuild
from testing.waiting import run_together, wait_until


def send(delivery: KitchenDelivery):
    return kitchen_sale_send(delivery_id=delivery.pk)


def outcomes(delivery: KitchenDelivery) -> list[str]:
    return list(KitchenDeliveryAttempt.objects.filter(delivery=delivery).order_by("number")
                .values_list("outcome", flat=True))


def kitchen_events(order: Order) -> list[tuple[str, str]]:
    return list(OrderEvent.objects.filter(order=order, kind="kitchen").order_by("id")
                .values_list("from_status", "to_status"))


# --- the hand-off ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_nothing_unpaid_has_a_delivery(place_order):
    order_id = place_order()["order_id"]
    assert not KitchenDelivery.objects.filter(order_id=order_id).exists()


@pytest.mark.django_db
def test_confirming_writes_one_delivery_and_sends_it_after_commit(place_order, django_capture_on_commit_callbacks):
    order_id = place_order()["order_id"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert confirm(order_id)
    delivery = KitchenDelivery.objects.get(order_id=order_id)
    order = Order.objects.get(pk=order_id)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    assert delivery.source_invoice_number == f"BLR01-{order.business_day:%Y%m%d}-{order.order_number}"
    assert order.kitchen_status == KitchenStatus.NOT_SENT
    # The publish waits for the commit (beside it, the status document's rebuild: payments/status_cache.py).
    assert len([callback for callback in callbacks if not isinstance(callback, CopyRebuild)]) == 1

    # A replayed confirmation is refused upstream; a second hand-off for the same order returns the same row.
    with django_capture_on_commit_callbacks(execute=False) as again:
        assert not confirm(order_id)
        with transaction.atomic():
            assert kitchen_delivery_create(order_id=order_id).pk == delivery.pk
    assert again == [] and KitchenDelivery.objects.filter(order_id=order_id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_hand_off_refuses_to_run_outside_the_confirming_transaction(place_order):
    order_id = place_order()["order_id"]
    with pytest.raises(RuntimeError, match="inside the order-confirming transaction"):
        kitchen_delivery_create(order_id=order_id)
    assert not KitchenDelivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_publish_after_commit_puts_ids_only_on_the_real_broker(place_order):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("kitchen")
    order_id = place_order()["order_id"]
    confirm(order_id)
    delivery = KitchenDelivery.objects.get(order_id=order_id)
    messages = [json.loads(raw) for raw in broker.lrange("kitchen", 0, -1)]
    ours = [m for m in messages if m["headers"]["task"] == "kds_bridge.tasks.kitchen_send_task"]
    assert len(ours) == 1
    assert ours[0]["headers"]["argsrepr"] == repr((str(delivery.pk),))
    broker.delete("kitchen")


# --- sending -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_happy_path_delivers_once_and_marks_the_kitchen_sent(rista, paid_order):
    order, delivery = paid_order()
    result = send(delivery)
    assert result.outcome == AttemptOutcome.DELIVERED and result.retry_at is None
    delivery.refresh_from_db()
    order.refresh_from_db()
    (sale,) = rista.sales
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.rista_invoice_number == sale["invoiceNumber"] and delivery.delivered_at
    assert sale["sourceInfo"]["orderTransactionId"] == str(order.pk)
    assert sale["totalAmount"] == 324.5 and sale["billAmount"] == 324.5
    assert order.kitchen_status == KitchenStatus.SENT
    assert kitchen_events(order) == [("NOT_SENT", "SENT")]
    assert outcomes(delivery) == ["delivered"]

    assert send(delivery).outcome == CLOSED  # a repeated task is a no-op
    assert sale_posts(rista) == 1 and len(rista.sales) == 1


@pytest.mark.django_db
def test_a_dine_in_order_reaches_the_kitchen_on_the_dine_in_channel(rista, dine_in_menu, paid_order):
    order, delivery = paid_order({"items": [{"item_sku_id": "1", "quantity": 1}], "order_mode": "dine_in"})
    assert send(delivery).outcome == AttemptOutcome.DELIVERED
    (sale,) = rista.sales
    assert sale["channel"] == "Dine In" and sale["label"] == f"{order.order_number} Dine in"
    assert "delivery" not in sale  # Rista's delivery modes are Pickup | Delivery
    assert sale["charges"] == [] and sale["totalAmount"] == 115.5


@pytest.mark.django_db
def test_rista_failing_the_first_requests_retries_with_backoff_and_stores_one_sale(rista, paid_order, settings):
    # A 4 s base keeps the shortest wait (2 s) clear of the claim's 1 s slack, so "not due" is certain.
    settings.KDS_RETRY_BASE_DELAY = 4.0
    order, delivery = paid_order()
    fault(rista, mode="error", status=503, count=2, routes=["sale_post"])
    fault(rista, mode="error", status=429, count=1, routes=["sale_post"])
    fault(rista, mode="drop", count=1, routes=["sale_post"])
    waits = []
    for _ in range(4):
        before = timezone.now()
        result = send(delivery)
        assert result.outcome == AttemptOutcome.RETRY
        waits.append((result.retry_at - before).total_seconds())
        assert send(delivery).outcome == NOT_DUE  # nobody jumps the backoff
        make_due(delivery)
        settle(delivery)  # each failure stored nothing: no need to wait for a late store
    assert send(delivery).outcome == AttemptOutcome.DELIVERED

    base, cap = settings.KDS_RETRY_BASE_DELAY, settings.KDS_RETRY_MAX_DELAY
    for n, wait in enumerate(waits, start=1):
        step = min(cap, base * 2 ** (n - 1))
        assert step / 2 - 0.5 <= wait <= step + 0.5  # equal jitter: between half the step and the step
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 5
    assert outcomes(delivery) == ["retry", "retry", "retry", "retry", "delivered"]
    assert list(KitchenDeliveryAttempt.objects.filter(delivery=delivery).values_list("http_status", flat=True)) == [
        503, 503, 429, None, None]
    assert len(rista.sales) == 1 and stats(rista)["sale_duplicates"] == 0
    order.refresh_from_db()
    assert order.kitchen_status == KitchenStatus.SENT


@pytest.mark.django_db
@pytest.mark.parametrize("rule", [
    {"mode": "store_then_error", "status": 502},  # stored, then the client saw a 502
    {"mode": "timeout", "delay": 3},  # client read timeout (2 s in tests); Rista stores it late
], ids=["store_then_error", "timeout_after_storing"])
def test_an_ambiguous_failure_is_looked_up_not_resent(rista, paid_order, rule):
    order, delivery = paid_order()
    fault(rista, routes=["sale_post"], **rule)
    assert send(delivery).outcome == AttemptOutcome.RETRY
    wait_until(lambda: len(rista.sales) == 1, 10, "the late store of the timed-out request")
    make_due(delivery)

    assert send(delivery).outcome == AttemptOutcome.DUPLICATE_FOUND
    delivery.refresh_from_db()
    (sale,) = rista.sales
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.rista_invoice_number == sale["invoiceNumber"]
    assert sale_posts(rista) == 1  # the second attempt never posted: it looked first
    assert stats(rista)["sale_duplicates"] == 0
    assert list(KitchenDeliveryAttempt.objects.filter(delivery=delivery).values_list("outcome", "looked_up")) == [
        ("retry", False), ("duplicate_found", True)]
    order.refresh_from_db()
    assert order.kitchen_status == KitchenStatus.SENT


@pytest.mark.django_db
def test_a_failed_lookup_never_posts_blindly(rista, paid_order):
    _, delivery = paid_order()
    fault(rista, mode="store_then_error", status=500)
    fault(rista, mode="error", status=503, routes=["sale_get"])
    assert send(delivery).outcome == AttemptOutcome.RETRY
    make_due(delivery)
    assert send(delivery).outcome == AttemptOutcome.RETRY  # lookup failed: not knowing, we do not post
    assert sale_posts(rista) == 1
    make_due(delivery)
    assert send(delivery).outcome == AttemptOutcome.DUPLICATE_FOUND
    assert len(rista.sales) == 1 and sale_posts(rista) == 1


@pytest.mark.django_db
def test_a_409_means_the_sale_exists_and_it_is_fetched(rista, paid_order):
    _, delivery = paid_order()
    fault(rista, mode="store_then_error", status=409)
    assert send(delivery).outcome == AttemptOutcome.DUPLICATE_FOUND
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and len(rista.sales) == 1


@pytest.mark.django_db
def test_a_malformed_success_is_retried_with_a_lookup(rista, paid_order):
    _, delivery = paid_order()
    fault(rista, mode="malformed", routes=["sale_post"], body={"status": "ok"})  # 200 without an invoiceNumber
    assert send(delivery).outcome == AttemptOutcome.RETRY
    make_due(delivery)
    assert send(delivery).outcome == AttemptOutcome.RETRY  # not found, but Rista may still store the first
    assert sale_posts(rista) == 1
    make_due(delivery)
    settle(delivery)  # it never will: the malformed answer stored nothing
    assert send(delivery).outcome == AttemptOutcome.DELIVERED
    assert len(rista.sales) == 1


@pytest.mark.django_db
def test_without_the_lookup_rista_s_dedupe_is_the_safety_net(rista, paid_order):
    """Rista's spec has no GET /sale?orderTransactionId=; a tenant refusing it must not block delivery."""
    _, delivery = paid_order()
    fault(rista, mode="store_then_error", status=500)
    fault(rista, mode="error", status=400, routes=["sale_get"], body={"message": "invoice is required"})
    assert send(delivery).outcome == AttemptOutcome.RETRY
    make_due(delivery)
    settle(delivery)
    assert send(delivery).outcome == AttemptOutcome.DELIVERED  # posted again; Rista answered with the same sale
    assert len(rista.sales) == 1 and stats(rista)["sale_duplicates"] == 1
    assert metrics.get("kitchen.lookup_unsupported") >= 1


@pytest.mark.django_db
def test_a_4xx_rejection_is_final_and_alerts(rista, paid_order, caplog):
    order, delivery = paid_order()
    fault(rista, mode="error", status=400, body={"message": "unknown item sku 1"}, routes=["sale_post"])
    metrics_before = metrics.get("kitchen.rejected")
    with caplog.at_level(logging.ERROR, logger="kds_bridge.services"):
        result = send(delivery)
    assert result.outcome == AttemptOutcome.REJECTED and result.retry_at is None
    delivery.refresh_from_db()
    order.refresh_from_db()
    assert delivery.status == DeliveryStatus.REJECTED and "unknown item sku 1" in delivery.last_error
    assert delivery.alerted_at is not None
    assert order.kitchen_status == KitchenStatus.REJECTED
    assert kitchen_events(order) == [("NOT_SENT", "REJECTED")]
    assert metrics.get("kitchen.rejected") == metrics_before + 1
    alert = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert alert.order_id == str(order.pk) and "ALERT" in alert.getMessage()
    assert list(KitchenDeliveryAttempt.objects.filter(delivery=delivery).values_list("outcome", "http_status")) == [
        ("rejected", 400)]

    make_due(delivery)
    assert send(delivery).outcome == CLOSED  # no retry, ever
    assert sale_posts(rista) == 1 and rista.sales == []


@pytest.mark.django_db
def test_giving_up_after_the_retry_window_fails_loudly(rista, paid_order, settings):
    settings.KDS_RETRY_FOR_SECONDS = 60
    order, delivery = paid_order()
    fault(rista, mode="error", status=500, count=5, routes=["sale_post"])
    assert send(delivery).outcome == AttemptOutcome.RETRY
    backdate(order.pk, 61)  # the window is over
    before = metrics.get("kitchen.failed")
    assert send(delivery).outcome == AttemptOutcome.FAILED
    delivery.refresh_from_db()
    order.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.alerted_at
    assert order.kitchen_status == KitchenStatus.REJECTED
    assert metrics.get("kitchen.failed") == before + 1
    assert outcomes(delivery) == ["retry", "failed"]


@pytest.mark.django_db
def test_an_order_no_longer_paid_is_not_sent(rista, paid_order):
    order, delivery = paid_order()
    Order.objects.filter(pk=order.pk).update(status="REFUNDED")
    assert send(delivery).outcome == AttemptOutcome.REJECTED
    assert stats(rista)["requests"].get("sale_post", 0) == 0
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.REJECTED and "REFUNDED" in delivery.last_error


# --- leases and concurrency -----------------------------------------------------------------------

@pytest.mark.django_db
def test_a_live_lease_is_respected_and_an_expired_one_taken_over_with_a_lookup(rista, paid_order):
    order, delivery = paid_order()
    # A worker claimed it, posted, and died before recording anything.
    now = timezone.now()
    KitchenDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, attempts=1, claimed_until=now + timedelta(seconds=30), claimed_by="dead:1")
    KitchenDeliveryAttempt.objects.create(delivery=delivery, number=1, started_at=now, worker="dead:1")
    # What a redelivered message does meanwhile: leave a live lease alone.
    assert kitchen_send_task.apply(args=[str(delivery.pk)]).result == BUSY
    # The dead worker's POST had reached Rista.
    order.refresh_from_db()
    get_client().post_sale(sale_to_wire(sale_build(order=order, lines=list(order.lines.all()),
                                                   payment_reference=order.payment_reference or None)))
    KitchenDelivery.objects.filter(pk=delivery.pk).update(claimed_until=now - timedelta(seconds=1))

    assert send(delivery).outcome == AttemptOutcome.DUPLICATE_FOUND
    assert outcomes(delivery) == ["interrupted", "duplicate_found"]
    assert len(rista.sales) == 1 and sale_posts(rista) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_post_once(rista, paid_order):
    _, delivery = paid_order()
    fault(rista, mode="slow", delay=1, routes=["sale_post"])
    results = [result.outcome for result in run_together([lambda: kitchen_sale_send(delivery_id=delivery.pk)] * 6)]
    assert sorted(results).count(AttemptOutcome.DELIVERED) == 1
    assert set(results) - {AttemptOutcome.DELIVERED} <= {BUSY, CLOSED}
    assert sale_posts(rista) == 1 and len(rista.sales) == 1


def test_the_lease_outlives_the_tasks_hard_time_limit():
    assert lease_seconds() > kitchen_send_task.time_limit > kitchen_send_task.soft_time_limit
    assert kitchen_send_task.acks_late and kitchen_send_task.reject_on_worker_lost


# --- the sweeper -------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_sweeper_recovers_a_lost_enqueue(rista, place_order, settings):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    order_id = place_order()["order_id"]
    confirm(order_id)
    delivery = KitchenDelivery.objects.get(order_id=order_id)
    broker.delete("kitchen")  # the broker lost the message (or the process died before publishing)

    assert kitchen_deliveries_sweep() == []  # too fresh: its own task may still be on the way
    backdate(order_id, settings.KDS_SWEEP_AFTER_SECONDS + 1)
    assert kitchen_deliveries_sweep() == [str(delivery.pk)]
    assert kitchen_deliveries_sweep() == []  # stamped: not re-enqueued while its task waits
    queued = [json.loads(raw)["headers"] for raw in broker.lrange("kitchen", 0, -1)]
    assert [(h["task"], h["argsrepr"]) for h in queued] == [
        ("kds_bridge.tasks.kitchen_send_task", repr((str(delivery.pk),)))]
    broker.delete("kitchen")

    assert kitchen_send_task.apply(args=[str(delivery.pk)]).result == AttemptOutcome.DELIVERED
    assert len(rista.sales) == 1


@pytest.mark.django_db
def test_the_sweeper_takes_back_an_expired_lease_only(paid_order, django_capture_on_commit_callbacks):
    _, delivery = paid_order()
    now = timezone.now()
    KitchenDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, attempts=1, claimed_until=now + timedelta(seconds=5))
    assert kitchen_deliveries_sweep(now=now) == []
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert kitchen_deliveries_sweep(now=now + timedelta(seconds=6)) == [str(delivery.pk)]
    assert len(callbacks) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.claimed_until is None
    assert delivery.attempts == 1  # so the next send looks the sale up first


# --- the alert check ---------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_alert_check_reports_paid_orders_the_kitchen_lacks(rista, paid_order, settings, caplog):
    stuck, _ = paid_order()
    fresh, _ = paid_order()
    delivered, delivered_row = paid_order()
    cooking, _ = paid_order()
    send(delivered_row)
    for order in (stuck, delivered, cooking):
        backdate(order.pk, settings.KDS_ALERT_AFTER_SECONDS + 1)
    Order.objects.filter(pk=cooking.pk).update(kitchen_status=KitchenStatus.ACCEPTED)

    before = metrics.get("kitchen.stuck")
    with caplog.at_level(logging.ERROR, logger="kds_bridge.recovery"):
        assert kitchen_alert_check() == 1
    alerts = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.order_id for r in alerts] == [str(stuck.pk)]
    assert metrics.get("kitchen.stuck") == before + 1

    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="kds_bridge.recovery"):
        assert kitchen_alert_check() == 1  # still stuck, still counted...
    assert not [r for r in caplog.records if r.levelno == logging.ERROR]  # ...but alerted once
    assert metrics.get("kitchen.stuck") == before + 1
    assert fresh.pk  # confirmed under a minute ago: not stuck yet
