"""A kiosk cancels its unpaid order (the customer walked away, pressed Cancel, or the screen went idle).

Cancelling is a status change under the order's row lock, the same lock every
payment decision takes (payments.locks), so a cancel and a payment landing at the
same moment serialise: either the payment confirmed first (the kiosk is told
ORDER_ALREADY_PAID and shows the order number), or the order is CANCELLED first
and the payment, when PhonePe reports it, is refunded automatically by
`payment_apply_status`, exactly as for a payment after expiry.

Open attempts are closed to the kiosk (initiation refuses a CANCELLED order, so
no QR is handed out again) but stay in the reconciler's working set until their
QR's expiry plus grace: PhonePe may still accept a QR a customer already
scanned, and a payment whose callback is lost must still be found and refunded.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from kiosk_project.core import metrics
from kiosk_project.core.errors import Conflict
from kiosk_project.core.kiosk_auth import Kiosk
from kiosk_project.core.logging import log_context
from orders.models import EventKind, Order, OrderEvent, OrderStatus
from orders.selectors import OrderNotFound, order_uuid
from orders.services import order_transition
from payments.locks import lock_order
from payments.models import OPEN_STATUSES, Payment

log = logging.getLogger(__name__)

PAID_ORDER_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.REFUNDED)
MAX_REASON = 200


class OrderAlreadyPaid(Conflict):
    code = "ORDER_ALREADY_PAID"


def order_cancel(*, kiosk: Kiosk, order_id: Any, reason: str) -> bool:
    """PENDING -> CANCELLED for one of this kiosk's orders; True when this call cancelled it.

    Already CANCELLED (or closed unpaid: EXPIRED): nothing changes and
    False is returned, so a repeated cancel answers like the first. Paid:
    OrderAlreadyPaid. Another kiosk's order: OrderNotFound.
    """
    pk = order_uuid(order_id)
    with transaction.atomic(durable=True), log_context(order_id=str(pk)):
        try:
            order = lock_order(pk)
        except Order.DoesNotExist as exc:
            raise OrderNotFound() from exc
        if order.device_id != kiosk.id:
            raise OrderNotFound()
        if order.status in PAID_ORDER_STATUSES:
            raise OrderAlreadyPaid(details={"status": order.status, "order_number": order.order_number})
        if order.status != OrderStatus.PENDING:
            return False
        why = (reason or "cancelled at the kiosk")[:MAX_REASON]
        actor = f"kiosk:{kiosk.name}"
        open_refs = list(Payment.objects.filter(order_id=pk, status__in=OPEN_STATUSES)
                         .values_list("merchant_reference", flat=True))
        order_transition(order_id=pk, to_status=OrderStatus.CANCELLED, expected=(OrderStatus.PENDING,), actor=actor,
                         reason=why, status_reason=f"cancelled by {actor}: {why}"[:255],
                         data={"reason": why, "open_payments": open_refs})
        for reference in open_refs:
            OrderEvent.objects.create(order_id=pk, kind=EventKind.PAYMENT, actor=actor,
                                      reason="payment attempt closed by the cancel; a late payment is refunded",
                                      data={"payment_reference": reference})
    metrics.incr("orders.cancelled")
    log.info("order cancelled by its kiosk", extra={"kiosk": kiosk.name, "reason": why,
                                                    "open_payments": len(open_refs)})
    return True
