"""Reads about kitchen delivery: what is stuck, what is open, what a payment's reference was."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from kds_bridge.models import OPEN_STATUSES, DeliveryStatus, KitchenDelivery
from orders.models import KitchenStatus, Order, OrderStatus

# Once the kitchen reports progress, the order is plainly in the kitchen, whatever our row says.
KITCHEN_HAS_IT = (KitchenStatus.ACCEPTED, KitchenStatus.READY, KitchenStatus.COMPLETED)


def kitchen_stuck_orders(*, now: datetime | None = None, branch_codes: list[str] | None = None) -> QuerySet[Order]:
    """Paid orders the kitchen should have by now but does not.

    CONFIRMED for more than KDS_ALERT_AFTER_SECONDS, and no DELIVERED delivery
    (none at all counts too), unless Rista already reported the kitchen working
    on it. Oldest first, with the delivery joined. `branch_codes` narrows to those branches.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.KDS_ALERT_AFTER_SECONDS)
    orders = Order.objects.filter(status=OrderStatus.CONFIRMED, confirmed_at__lte=cutoff)
    if branch_codes is not None:
        orders = orders.filter(branch_code__in=branch_codes)
    return (orders
            .exclude(kitchen_delivery__status=DeliveryStatus.DELIVERED)
            .exclude(kitchen_status__in=KITCHEN_HAS_IT)
            .select_related("kitchen_delivery").order_by("confirmed_at"))


def oldest_open_delivery_created_at() -> datetime | None:
    """When the oldest paid order still waiting for Rista (PENDING/SENDING) was confirmed.

    The delivery row is written in the confirming transaction, so its created_at is the payment's
    time. Index-only on kitchen_delivery_open_created (a partial index over the open rows).
    """
    return (KitchenDelivery.objects.filter(status__in=OPEN_STATUSES).order_by("created_at")
            .values_list("created_at", flat=True).first())


def kitchen_deliveries_needing_attention(*, branch_codes: list[str] | None = None) -> QuerySet[KitchenDelivery]:
    """Deliveries that are not (yet) in Rista: pending, sending, failed, rejected. Oldest first.
    `branch_codes` narrows to those branches' orders."""
    deliveries = KitchenDelivery.objects.filter(~Q(status=DeliveryStatus.DELIVERED))
    if branch_codes is not None:
        deliveries = deliveries.filter(order__branch_code__in=branch_codes)
    return deliveries.select_related("order").order_by("created_at")
