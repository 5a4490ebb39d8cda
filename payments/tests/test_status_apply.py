"""PhonePe's verified word applied to rows (factories): no checkout, no QR, no callback, no sandbox.

The webhook, reconciler and expiry tests prove the same outcomes end to end; these pin each rule of
payment_apply_status on its own, and that its transaction cannot be wrapped in a caller's.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from kds_bridge.models import KitchenDelivery
from orders.models import Order, OrderEvent, OrderStatus
from payments.gateway.base import COMPLETED, FAILED, PENDING, StatusResult
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.status_apply import Outcome, payment_apply_status
from testing.factories import OrderFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def result(state: str, paise: int | None = 32450, **fields: Any) -> StatusResult:
    return StatusResult(state=state, amount_paise=paise if state == COMPLETED else None,
                        provider_txn_id=fields.get("txn", "OM-TEST"), utr=fields.get("utr", "UTR-42"),
                        raw={"state": state}, error_code=fields.get("error_code", ""))


def apply(payment: Payment, status: StatusResult) -> Any:
    return payment_apply_status(payment_id=payment.pk, status_result=status, source="test")


def test_paid_in_full_confirms_the_order_and_writes_the_kitchen_row_in_one_go() -> None:
    payment = PaymentFactory()
    applied = apply(payment, result(COMPLETED))
    assert (applied.outcome, applied.before, applied.after) == (Outcome.CONFIRMED, "PENDING", "SUCCEEDED")
    order = Order.objects.get(pk=payment.order_id)
    assert (order.status, order.payment_reference) == (OrderStatus.CONFIRMED, "UTR-42")
    assert order.confirmed_at is not None and order.invoice_number
    assert KitchenDelivery.objects.filter(order=order).count() == 1
    assert Payment.objects.get(pk=payment.pk).confirmed_order is True
    event = OrderEvent.objects.get(order=order, kind="status", to_status=OrderStatus.CONFIRMED)
    assert event.from_status == OrderStatus.PENDING  # the true previous state


def test_a_replay_changes_nothing() -> None:
    payment = PaymentFactory()
    apply(payment, result(COMPLETED))
    again = apply(payment, result(COMPLETED))
    assert (again.outcome, again.changed) == (Outcome.UNCHANGED, False)
    assert KitchenDelivery.objects.filter(order_id=payment.order_id).count() == 1


def test_another_amount_is_held_for_review_and_the_order_is_not_confirmed() -> None:
    payment = PaymentFactory()
    applied = apply(payment, result(COMPLETED, paise=100))
    assert applied.outcome == Outcome.AMOUNT_MISMATCH
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.NEEDS_REVIEW
    assert Order.objects.get(pk=payment.order_id).status == OrderStatus.PENDING
    assert not KitchenDelivery.objects.filter(order_id=payment.order_id).exists()


def test_a_failure_leaves_the_order_payable() -> None:
    payment = PaymentFactory()
    applied = apply(payment, result(FAILED, error_code="PAYMENT_DECLINED"))
    assert applied.outcome == Outcome.FAILED
    row = Payment.objects.get(pk=payment.pk)
    assert (row.status, row.error_code) == (PaymentStatus.FAILED, "PAYMENT_DECLINED")
    assert Order.objects.get(pk=payment.order_id).status == OrderStatus.PENDING


def test_a_second_paid_attempt_is_refunded_not_cooked_twice() -> None:
    order = OrderFactory()
    first, second = PaymentFactory(order=order), PaymentFactory(order=order)
    assert apply(first, result(COMPLETED)).outcome == Outcome.CONFIRMED
    applied = apply(second, result(COMPLETED, utr="UTR-43"))
    assert applied.outcome == Outcome.DUPLICATE_PAYMENT
    assert Payment.objects.get(pk=second.pk).status == PaymentStatus.REFUND_PENDING
    assert Refund.objects.get(payment=second).status == RefundStatus.CREATED
    assert KitchenDelivery.objects.filter(order=order).count() == 1


def test_still_pending_is_rescheduled() -> None:
    payment = PaymentFactory()
    applied = apply(payment, result(PENDING))
    assert applied.outcome == Outcome.PENDING
    assert Payment.objects.get(pk=payment.pk).next_check_at is not None


def test_its_transaction_is_durable_so_no_caller_can_hold_it_open() -> None:
    payment = PaymentFactory()
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        apply(payment, result(COMPLETED))
    assert Order.objects.get(pk=payment.order_id).status == OrderStatus.PENDING
