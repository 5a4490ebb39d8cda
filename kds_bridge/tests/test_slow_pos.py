"""A slow POS never gets a second sale.

After a POST that may have reached Rista (timeout, reset, 5xx) we never post again until a lookup
made after KDS_POST_SETTLE_SECONDS (counted from that POST) misses the sale. The sandbox's merge on
orderTransactionId is switched off here, so a second POST would be a second kitchen ticket.
Service level: PostgreSQL, Redis and the Rista sandbox over HTTP are real; the sender runs in-process.
"""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from kds_bridge.models import AttemptOutcome, DeliveryStatus, KitchenDelivery, KitchenDeliveryAttempt
from kds_bridge.services import kitchen_sale_send
from kds_bridge.tests.conftest import control, fault, make_due, sale_posts, settle, stats

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_merge(rista):
    control(rista, "POST", "/_control/dedupe", enabled=False)
    return rista


def send(delivery: KitchenDelivery):
    return kitchen_sale_send(delivery_id=delivery.pk)


def attempts(delivery: KitchenDelivery) -> list[tuple[str, bool]]:
    return list(KitchenDeliveryAttempt.objects.filter(delivery=delivery).order_by("number")
                .values_list("outcome", "looked_up"))


def test_a_sale_stored_late_after_our_timeout_is_posted_once_per_order(no_merge, paid_order, settings):
    """Rista stores each POST 4 s after it arrived; we give up reading after 2 s (RISTA_READ_TIMEOUT).

    The sender runs as a worker would: each delivery is sent again whenever it is due, on the real
    clock, until delivered. The lookups that come before the late store miss the sale; none of them
    may lead to a second POST, because the settle time (8 s here) outlasts Rista's 4 s.
    """
    settings.KDS_POST_SETTLE_SECONDS = 8.0
    orders = [paid_order() for _ in range(3)]
    fault(no_merge, mode="timeout", delay=4, count=len(orders), routes=["sale_post"])
    deliveries = [delivery for _, delivery in orders]
    for delivery in deliveries:
        assert send(delivery).outcome == AttemptOutcome.RETRY  # read timeout: Rista may still store it

    deadline = time.monotonic() + 60
    while KitchenDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).exclude(
            status=DeliveryStatus.DELIVERED).exists():
        assert time.monotonic() < deadline, "not delivered within 60 s"
        for delivery in KitchenDelivery.objects.filter(pk__in=[d.pk for d in deliveries],
                                                       status=DeliveryStatus.PENDING,
                                                       next_attempt_at__lte=timezone.now()):
            send(delivery)
        time.sleep(0.05)

    assert sale_posts(no_merge) == len(orders)  # one POST per order, ever
    assert len(no_merge.sales) == len(orders) and stats(no_merge)["sale_duplicates"] == 0
    assert sorted(s["sourceInfo"]["orderTransactionId"] for s in no_merge.sales) == sorted(
        str(order.pk) for order, _ in orders)
    for delivery in deliveries:
        delivery.refresh_from_db()
        history = attempts(delivery)
        assert history[0] == ("retry", False) and history[-1] == ("duplicate_found", True)
        assert all(outcome == "not_yet_found" for outcome, _ in history[1:-1])
        assert delivery.rista_invoice_number


def test_a_failure_that_stored_nothing_is_posted_again_only_after_a_lookup_past_the_settle_time(
        no_merge, paid_order):
    _, delivery = paid_order()
    fault(no_merge, mode="error", status=500, routes=["sale_post"])  # nothing stored, but we cannot know
    before = timezone.now()
    assert send(delivery).outcome == AttemptOutcome.RETRY
    delivery.refresh_from_db()
    assert delivery.post_settles_at is not None and delivery.post_settles_at >= before

    make_due(delivery)  # the backoff is over, the settle time is not: look, but do not post
    assert send(delivery).outcome == AttemptOutcome.RETRY
    delivery.refresh_from_db()
    assert delivery.next_attempt_at <= delivery.post_settles_at  # the next look is at the settle time at latest
    assert sale_posts(no_merge) == 1 and stats(no_merge)["requests"]["sale_get"] == 1

    make_due(delivery)
    settle(delivery)  # truthful here: the 500 stored nothing
    assert send(delivery).outcome == AttemptOutcome.DELIVERED  # a lookup past the settle time, then the POST
    assert attempts(delivery) == [("retry", False), ("not_yet_found", True), ("delivered", True)]
    assert sale_posts(no_merge) == 2 and stats(no_merge)["requests"]["sale_get"] == 2
    assert len(no_merge.sales) == 1


def test_a_post_that_fails_again_restarts_the_settle_time(no_merge, paid_order):
    _, delivery = paid_order()
    fault(no_merge, mode="error", status=503, count=2, routes=["sale_post"])
    assert send(delivery).outcome == AttemptOutcome.RETRY
    make_due(delivery)
    settle(delivery)
    settled_once = timezone.now()
    assert send(delivery).outcome == AttemptOutcome.RETRY  # looked up, posted, 503 again
    delivery.refresh_from_db()
    assert delivery.post_settles_at > settled_once  # counted from the second POST
    make_due(delivery)
    assert send(delivery).outcome == AttemptOutcome.RETRY and sale_posts(no_merge) == 2
