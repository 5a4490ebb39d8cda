"""Recovery and operator actions: the sweeper, the stuck-order alert, resends.

Each is idempotent and safe to run from several processes at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kds_bridge.models import DeliveryStatus, KitchenDelivery
from kds_bridge.selectors import kitchen_stuck_orders
from kds_bridge.services import kitchen_delivery_create, kitchen_send_enqueue
from kds_bridge.transitions import kitchen_delivery_transition
from kiosk_project.core import metrics
from kiosk_project.core.logging import log_context
from orders.models import KitchenStatus, Order, OrderEvent, OrderStatus
from orders.services import order_kitchen_transition

log = logging.getLogger(__name__)

SWEEP_BATCH = 100
REALERT_AFTER = timedelta(minutes=15)


def kitchen_deliveries_sweep(*, now: datetime | None = None) -> list[str]:
    """Re-enqueue open deliveries nobody is working on; returns their ids.

    Picks PENDING rows overdue by more than KDS_SWEEP_AFTER_SECONDS (the process
    died between commit and publish, or the broker lost the message) and
    SENDING rows whose lease expired (the sender died). Rows are claimed with
    `FOR UPDATE SKIP LOCKED`, so concurrent sweepers split the work, and
    stamped (`next_attempt_at = now`) so the next sweep leaves them alone for
    another KDS_SWEEP_AFTER_SECONDS while their task waits in the queue.
    """
    now = now or timezone.now()
    overdue = now - timedelta(seconds=settings.KDS_SWEEP_AFTER_SECONDS)
    with transaction.atomic():
        rows = list(
            KitchenDelivery.objects.select_for_update(skip_locked=True)
            .filter(Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=overdue)
                    | Q(status=DeliveryStatus.SENDING, claimed_until__lt=now))
            .order_by("next_attempt_at").values_list("id", "order_id", "status")[:SWEEP_BATCH]
        )
        if not rows:
            return []
        ids = [row[0] for row in rows]
        for delivery_id, _, status in rows:  # locked above; PENDING stays PENDING (re-stamped), SENDING reopens
            kitchen_delivery_transition(delivery_id=delivery_id, to=DeliveryStatus.PENDING, expected=(status,),
                                        actor="sweeper", next_attempt_at=now, claimed_until=None, updated_at=now)
        for delivery_id, order_id, status in rows:
            with log_context(order_id=str(order_id)):
                log.warning("kitchen delivery swept", extra={
                    "delivery_id": str(delivery_id),
                    "reason": "lease expired" if status == DeliveryStatus.SENDING else "not sent in time"})
        transaction.on_commit(lambda: [kitchen_send_enqueue(delivery_id=str(d), order_id=str(o)) for d, o, _ in rows])
    metrics.incr("kitchen.swept", len(rows))
    return [str(i) for i in ids]


def kitchen_alert_check(*, now: datetime | None = None) -> int:
    """Raise the alarm for paid orders the kitchen has not got; returns how many there are now.

    Stuck = CONFIRMED for more than KDS_ALERT_AFTER_SECONDS without a DELIVERED
    delivery (see selectors.kitchen_stuck_orders). Each is logged at error level
    with its order id once (then again every REALERT_AFTER while it stays stuck)
    and counted in `kitchen.stuck`.
    """
    now = now or timezone.now()
    stuck = list(kitchen_stuck_orders(now=now))
    for order in stuck:
        delivery = getattr(order, "kitchen_delivery", None)
        waited = int((now - order.confirmed_at).total_seconds()) if order.confirmed_at else None
        if delivery is not None and delivery.alerted_at and delivery.alerted_at > now - REALERT_AFTER:
            continue
        metrics.incr("kitchen.stuck")
        with log_context(order_id=str(order.id)):
            log.error("ALERT: paid order not accepted by the kitchen", extra={
                "order_number": order.order_number,
                "confirmed_seconds_ago": waited,
                "delivery_status": delivery.status if delivery else "MISSING",
                "attempts": delivery.attempts if delivery else 0,
                "last_error": (delivery.last_error if delivery else "no kitchen delivery row")[:300],
            })
        if delivery is not None:
            KitchenDelivery.objects.filter(pk=delivery.pk).update(alerted_at=now)
    return len(stuck)


# --- operator actions --------------------------------------------------------------------------

@dataclass(frozen=True)
class ResendResult:
    queued: bool
    message: str


def kitchen_delivery_resend(*, order_id: Any, actor: str, force: bool = False) -> ResendResult:
    """Queue a delivery again (operator action); idempotent and never a second kitchen ticket.

    FAILED/REJECTED -> PENDING (attempts kept, so the sender looks the sale up
    before posting). DELIVERED is left alone unless `force`, which re-checks
    Rista the same way (lookup, and Rista dedupes on orderTransactionId).
    Only a CONFIRMED order is ever sent.
    """
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != OrderStatus.CONFIRMED:
            return ResendResult(False, f"order {order.order_number} is {order.status}, not CONFIRMED: not sent")
        delivery = KitchenDelivery.objects.select_for_update().filter(order_id=order.pk).first()
        if delivery is None:
            delivery = kitchen_delivery_create(order_id=order.pk)
            _resend_event(order, actor, "created a missing kitchen delivery")
            return ResendResult(True, "no delivery existed; created and queued")
        previous = delivery.status
        if previous == DeliveryStatus.DELIVERED and not force:
            return ResendResult(False, f"already delivered to Rista as {delivery.rista_invoice_number}; "
                                       "nothing re-sent (use --force to re-check with Rista)")
        if previous != DeliveryStatus.SENDING:
            kitchen_delivery_transition(delivery_id=delivery.pk, to=DeliveryStatus.PENDING, actor=actor,
                                        next_attempt_at=now, claimed_until=None, alerted_at=None, updated_at=now)
        if previous in (DeliveryStatus.FAILED, DeliveryStatus.REJECTED):
            # Our own give-up marked the kitchen REJECTED; the operator's resend reopens it.
            order_kitchen_transition(order_id=order.pk, to_status=KitchenStatus.NOT_SENT,
                                     allowed_from=(KitchenStatus.REJECTED,), actor=actor,
                                     reason="resend by operator")
        _resend_event(order, actor, f"resend by operator (delivery was {previous})")
        delivery_id = str(delivery.pk)
        transaction.on_commit(lambda: kitchen_send_enqueue(delivery_id=delivery_id, order_id=str(order.pk)))
    with log_context(order_id=str(order.pk)):
        log.info("kitchen resend queued", extra={"actor": actor, "previous": previous, "force": force})
    return ResendResult(True, f"queued (delivery was {previous})")


def _resend_event(order: Order, actor: str, reason: str) -> None:
    OrderEvent.objects.create(order=order, kind="action", actor=actor, reason=reason[:255],
                              data={"action": "kitchen_resend"})
