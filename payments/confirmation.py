"""The hand-off: a payment PhonePe confirmed in full confirms its order and writes the kitchen's outbox row.

It lives in payments because it is the one step that uses both orders and kds_bridge (the app
graph runs payments -> kds_bridge -> orders; orders knows nothing of the kitchen).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kds_bridge.services import kitchen_delivery_create
from kiosk_project.core import metrics
from orders.models import Order
from orders.services import order_mark_paid


def order_confirm_paid(*, order_id: Any, actor: str, payment_reference: str, amount: Decimal,
                       held: str | None = None, order: Order | None = None) -> bool:
    """PENDING -> CONFIRMED for a payment PhonePe confirmed in full, and hand it to the kitchen.

    Must run inside the caller's transaction (the payment's success is recorded in
    the same one). This is the single place a paid order is handed to the kitchen:
    the kitchen delivery row is written in this transaction, never earlier, so
    nothing unpaid can reach Rista and nothing paid can be lost. Returns False when
    the order was no longer PENDING (a replay, a race, or an expired order). `held`: the order's status as
    the caller read it with the order locked; `order`: the caller's copy of the row.
    """
    confirmed = order_mark_paid(order_id=order_id, actor=actor, payment_reference=payment_reference, amount=amount,
                                held=held)
    if confirmed:
        kitchen_delivery_create(order_id=order_id, order=order)
        metrics.incr("orders.confirmed")
    return confirmed
