"""Row locks for payments, always taken in one order: the order row, then its payment, then its refund.

Every transaction that changes a payment together with its order goes through
here, so two of them can never wait on each other in opposite orders (the
kitchen's outbox row, written inside `order_confirm_paid`, comes after both).
Each function must be called inside `transaction.atomic()`; the locks are held
until that transaction ends, so nothing slow (no network) may happen inside it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from orders.models import Order
from payments.models import Payment, Refund


def _require_atomic() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("payment locks must be taken inside transaction.atomic()")


def lock_order(order_id: Any) -> Order:
    _require_atomic()
    return Order.objects.select_for_update().get(pk=order_id)


def lock_order_and_payment(payment_id: Any) -> tuple[Order, Payment]:
    """Lock the payment's order, then the payment (a payment never changes order, so reading the
    order id first without a lock is safe)."""
    _require_atomic()
    order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
    order = Order.objects.select_for_update().get(pk=order_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    return order, payment


def lock_refund_chain(refund_id: Any) -> tuple[Order, Payment, Refund]:
    """Order, then payment, then refund."""
    _require_atomic()
    payment_id = Refund.objects.values_list("payment_id", flat=True).get(pk=refund_id)
    order, payment = lock_order_and_payment(payment_id)
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    return order, payment, refund
