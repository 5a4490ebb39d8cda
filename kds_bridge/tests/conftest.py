"""Kitchen test helpers: paid orders, the sandbox's control routes, time travel on our own rows."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.db import transaction
from django.utils import timezone

from kds_bridge.models import KitchenDelivery
from orders.models import Order
from payments.confirmation import order_confirm_paid
from testing.factories import OrderFactory
from testing.realworker import wait_for

PAYMENT_REFERENCE = "T2501061230001"


def confirm(order_id: Any, reference: str = PAYMENT_REFERENCE) -> bool:
    """What the payments app does when PhonePe confirms the money: one transaction."""
    order = Order.objects.get(pk=order_id)
    with transaction.atomic():
        return order_confirm_paid(order_id=order.pk, actor="test", payment_reference=reference,
                                  amount=order.total_amount_include_tax)


def control(rista, method: str, path: str, **body: Any) -> Any:
    resp = requests.request(method, rista.url + path, json=body or None, timeout=15)
    resp.raise_for_status()
    return resp.json()


def fault(rista, **rule: Any) -> None:
    control(rista, "POST", "/_control/faults", **rule)


def stats(rista) -> dict[str, Any]:
    return control(rista, "GET", "/_control/stats")


def sale_posts(rista) -> int:
    return stats(rista)["requests"].get("sale_post", 0)


def make_due(delivery: KitchenDelivery) -> None:
    """Skip the backoff wait: the retry is due now."""
    KitchenDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def settle(delivery: KitchenDelivery) -> None:
    """Rista is done with every earlier post (it stored it, or it never will): skip the settle wait.

    Only for tests whose sandbox has already stored the sale or certainly never will (an `error`
    fault); a late store still in flight would make this a lie.
    """
    KitchenDelivery.objects.filter(pk=delivery.pk, post_settles_at__isnull=False).update(
        post_settles_at=timezone.now() - timedelta(seconds=1))


def backdate(order_id: Any, seconds: float) -> None:
    """Pretend the order was confirmed (and its delivery created) `seconds` ago."""
    then = timezone.now() - timedelta(seconds=seconds)
    Order.objects.filter(pk=order_id).update(confirmed_at=then)
    KitchenDelivery.objects.filter(order_id=order_id).update(created_at=then, next_attempt_at=then)


@pytest.fixture
def paid_order(place_order) -> Callable[..., tuple[Order, KitchenDelivery]]:
    """A paid order, confirmed as the payments app confirms one (the outbox row written with it).

    The order is written from rows (testing.factories: priced by the engine from the sample catalog the
    Rista sandbox serves); with a `body`, it is placed through the kiosk API instead, as a journey is.
    """

    def make(body: dict | None = None) -> tuple[Order, KitchenDelivery]:
        order_id = OrderFactory().pk if body is None else place_order(body)["order_id"]
        assert confirm(order_id)
        order = Order.objects.get(pk=order_id)
        return order, KitchenDelivery.objects.get(order=order)

    return make


def money(value: Any) -> Decimal:
    return Decimal(str(value))


# -- real-worker scenarios shared by the Redis and RabbitMQ broker tests ---------------------------------------

def sale_post_in_flight(celery: Any, rista: Any, place_order: Any) -> str:
    """A paid order whose sale POST has reached Rista, which stores it only 3 s later (our read timeout is 2 s):
    the moment to kill its sender. Returns the order's id."""
    fault(rista, mode="slow", delay=3, routes=["sale_post"])
    order_id = place_order()["order_id"]
    confirm(order_id)
    wait_for(lambda: stats(rista)["requests"].get("sale_post", 0) == 1, 20, "the POST to arrive", celery)
    return order_id


def kill_worker(worker: Any, kill: str) -> float:
    """SIGKILL the worker's main process ("main_process") or it and its pool; returns when (monotonic)."""
    killed_at = time.monotonic()
    if kill == "main_process":
        os.kill(worker.pid, signal.SIGKILL)
    else:
        worker.kill_all()
    return killed_at


def orders_through_restarts(place_order: Any, restart: Callable[[], None], *, orders: int, restarts: int,
                            timeout: float, what: str, celery: Any) -> list[str]:
    """Place and confirm `orders` orders while `restart()` runs `restarts` times in a thread, one at a time,
    spread among them; returns the orders' ids once the last restart has ended."""
    done: list[threading.Event] = []

    def run(event: threading.Event) -> None:
        restart()
        event.set()

    order_ids = []
    for n in range(orders):
        order_ids.append(place_order()["order_id"])
        confirm(order_ids[-1])  # publishes to the broker (or fails to, while it is down: counted, swept)
        if n % (orders // restarts) == orders // restarts // 2:
            if done:
                wait_for(done[-1].is_set, timeout, f"the previous {what}", celery)
            done.append(threading.Event())
            threading.Thread(target=run, args=(done[-1],), daemon=True).start()
    wait_for(done[-1].is_set, timeout, f"the last {what}", celery)
    return order_ids
