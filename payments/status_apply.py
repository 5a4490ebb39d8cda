"""Applying PhonePe's verified word about a payment: the only code that turns a status result into state.

The webhook, the reconciler, the expiry job and the management command all call
`payment_apply_status` with a result from PhonePe's status API (never with a callback's own
claims), after asking PhonePe outside any transaction. It locks order then payment
(payments.locks), so any number of them racing on one payment make exactly one transition.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kiosk_project.core import metrics
from kiosk_project.core.logging import log_context
from kiosk_project.core.money import from_paise, to_paise
from orders.models import EventKind, Order, OrderStatus
from orders.services import order_event_record, order_transition
from payments.confirmation import order_confirm_paid
from payments.gateway import StatusResult
from payments.gateway.base import COMPLETED, FAILED, PENDING
from payments.locks import lock_order_and_payment
from payments.models import OPEN_STATUSES, PAID_STATUSES, Payment, PaymentStatus
from payments.refunds import refund_record_in_transaction
from payments.schedule import age_of, horizon_of, next_check_delay
from payments.transitions import payment_transition

log = logging.getLogger(__name__)

ACTOR = "phonepe"


class Outcome(StrEnum):
    CONFIRMED = "confirmed"  # paid in full, order CONFIRMED and handed to the kitchen
    LATE_CONFIRMED = "late_confirmed"  # paid after expiry, order re-opened and confirmed (policy=confirm)
    LATE_SUCCESS = "late_success"  # paid after the order closed: refund started, flagged
    DUPLICATE_PAYMENT = "duplicate_payment"  # a second paid attempt for a confirmed order: refund started
    AMOUNT_MISMATCH = "amount_mismatch"  # paid, but not the order's total: NEEDS_REVIEW
    FAILED = "failed"
    PENDING = "pending"  # still open at PhonePe: rescheduled
    EXPIRED = "expired"  # still open at PhonePe past expiry + grace: we stop asking
    UNCHANGED = "unchanged"  # already decided (a replay, a race lost, a stale FAILED)


@dataclass(frozen=True)
class Applied:
    outcome: Outcome
    payment_id: Any
    reference: str
    order_id: Any
    order_number: str
    before: str
    after: str
    order_status: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def payment_apply_status(*, payment_id: Any, status_result: StatusResult, source: str) -> Applied:
    """Apply a result of PhonePe's status API to one payment and its order, in one transaction.

    Locks order then payment (select_for_update, payments.locks), re-reads both,
    and decides from the locked rows, so concurrent callers serialise and only
    the first makes the transition; the rest see it done (UNCHANGED).

    COMPLETED, amount == order total, order PENDING -> SUCCEEDED + order_confirm_paid
    (order CONFIRMED, event, kitchen hand-off) in this transaction. COMPLETED for an
    order no longer PENDING -> late success / duplicate: refund recorded here and
    submitted after commit. COMPLETED with another amount -> NEEDS_REVIEW. FAILED ->
    FAILED (never after SUCCEEDED). PENDING -> rescheduled, or EXPIRED past the horizon.
    """
    with transaction.atomic(durable=True):  # its callers asked PhonePe first, outside any transaction
        order, payment = lock_order_and_payment(payment_id)
        with log_context(order_id=str(order.id)):
            before = payment.status
            outcome = _apply(order, payment, status_result, source)
            order_status = Order.objects.values_list("status", flat=True).get(pk=order.id)
            return Applied(outcome=outcome, payment_id=payment.id, reference=payment.merchant_reference,
                           order_id=order.id, order_number=order.order_number, before=before, after=payment.status,
                           order_status=order_status)


def _apply(order: Order, payment: Payment, result: StatusResult, source: str) -> Outcome:
    now = timezone.now()
    payment.check_count += 1
    if result.state == PENDING:
        if payment.status not in OPEN_STATUSES:
            payment.save(update_fields=["check_count", "updated_at"])
            return Outcome.UNCHANGED
        delay = next_check_delay(age_of(payment, now), horizon_of(payment))
        if delay is None:
            payment.next_check_at = None
            payment.completed_at = now
            payment_transition(payment, to=PaymentStatus.EXPIRED, fields=["next_check_at", "completed_at",
                                                                          "check_count"])
            _order_event(order, "payment attempt expired unpaid", payment, source)
            log.info("payment expired: still pending at PhonePe after expiry + grace",
                     extra={"reference": payment.merchant_reference})
            return Outcome.EXPIRED
        payment.next_check_at = now + timedelta(seconds=delay)
        payment.save(update_fields=["next_check_at", "check_count", "updated_at"])
        return Outcome.PENDING

    if result.state == FAILED:
        if payment.status not in OPEN_STATUSES:  # a FAILED after COMPLETED (or after expiry) changes nothing
            payment.save(update_fields=["check_count", "updated_at"])
            return Outcome.UNCHANGED
        payment.error_code = (result.error_code or "FAILED")[:64]
        payment.next_check_at = None
        payment.completed_at = now
        payment_transition(payment, to=PaymentStatus.FAILED, fields=["error_code", "next_check_at", "completed_at",
                                                                     "check_count"])
        _order_event(order, "payment failed; the customer may try again", payment, source,
                     {"error_code": payment.error_code})
        metrics.incr("payments.failed")
        log.info("payment failed", extra={"reference": payment.merchant_reference, "code": payment.error_code})
        return Outcome.FAILED

    assert result.state == COMPLETED
    if payment.status in PAID_STATUSES or payment.status == PaymentStatus.NEEDS_REVIEW:
        payment.save(update_fields=["check_count", "updated_at"])
        return Outcome.UNCHANGED
    payment.paid_amount = from_paise(result.amount_paise) if result.amount_paise is not None else None
    payment.provider_txn_id = result.provider_txn_id[:64]
    payment.utr = result.utr[:64]
    payment.next_check_at = None
    payment.completed_at = now
    fields = ["paid_amount", "provider_txn_id", "utr", "next_check_at", "completed_at", "check_count",
              "flag_reason", "flagged_at"]
    order_paise = to_paise(order.total_amount_include_tax)
    if result.amount_paise != payment.amount_paise or result.amount_paise != order_paise:
        _flag(payment, f"amount mismatch: PhonePe says {result.amount_paise} paise were paid, "
                       f"the order total is {order_paise} paise", now)
        payment_transition(payment, to=PaymentStatus.NEEDS_REVIEW, fields=fields)
        _order_event(order, "payment amount mismatch; payment flagged for review, order not confirmed", payment,
                     source, {"paid_paise": result.amount_paise, "expected_paise": order_paise})
        metrics.incr("payments.amount_mismatch")
        log.error("payment amount mismatch: order not confirmed, payment flagged for review",
                  extra={"reference": payment.merchant_reference, "paid_paise": result.amount_paise,
                         "expected_paise": order_paise})
        return Outcome.AMOUNT_MISMATCH

    if order.status == OrderStatus.PENDING:
        payment_transition(payment, to=PaymentStatus.SUCCEEDED, fields=fields)
        _confirm(order, payment, held=order.status)
        return Outcome.CONFIRMED

    if order.status == OrderStatus.EXPIRED and settings.PAYMENT_LATE_SUCCESS_POLICY == "confirm":
        _flag(payment, "paid after the order expired; confirmed anyway (PAYMENT_LATE_SUCCESS_POLICY=confirm)", now)
        payment_transition(payment, to=PaymentStatus.SUCCEEDED, fields=fields)
        order_transition(order_id=order.id, to_status=OrderStatus.PENDING, expected=(OrderStatus.EXPIRED,),
                         actor=ACTOR, reason="late payment accepted (PAYMENT_LATE_SUCCESS_POLICY=confirm)",
                         data={"payment_reference": payment.merchant_reference})
        _confirm(order, payment, held=OrderStatus.PENDING)  # just moved, under our lock
        metrics.incr("payments.late_success")
        log.warning("late payment confirmed the expired order", extra={"reference": payment.merchant_reference})
        return Outcome.LATE_CONFIRMED


    late = order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED)
    why = (f"paid after the order was {order.status}; refunded automatically" if late else
           f"second payment for an order already {order.status}; refunded automatically")
    _flag(payment, why, now)
    payment_transition(payment, to=PaymentStatus.SUCCEEDED, fields=fields)
    refund_record_in_transaction(
        order=order, payment=payment, requested_by="system",
        reason="late payment after the order closed" if late else "duplicate payment",
        status_reason=f"late payment {payment.merchant_reference} received; automatic refund started" if late else None)
    metrics.incr("payments.late_success" if late else "payments.duplicate_payment")
    log.warning("payment succeeded for a closed order: refund started, flagged for managers",
                extra={"reference": payment.merchant_reference, "order_status": order.status})
    return Outcome.LATE_SUCCESS if late else Outcome.DUPLICATE_PAYMENT


def _confirm(order: Order, payment: Payment, *, held: str) -> None:
    """`held`: the order's status now, read or set under our lock of it (so it is not read again)."""
    # The kitchen sale carries the UPI reference (UTR) when PhonePe gave one: it is what the
    # customer's bank statement and the restaurant's settlement report show.
    confirmed = order_confirm_paid(order_id=order.id, actor=ACTOR,
                                   payment_reference=payment.utr or payment.merchant_reference,
                                   amount=payment.amount, held=held, order=order)
    if not confirmed:  # impossible under the order lock; fail loudly rather than lose a paid order
        raise RuntimeError(f"order {order.id} was not PENDING under lock")
    payment.confirmed_order = True
    payment.save(update_fields=["confirmed_order", "updated_at"])
    metrics.incr("payments.confirmed")
    log.info("payment confirmed; order handed to the kitchen",
             extra={"reference": payment.merchant_reference, "utr": payment.utr})


def _flag(payment: Payment, reason: str, now: Any) -> None:
    payment.flag_reason = reason[:255]
    payment.flagged_at = now


def _order_event(order: Order, reason: str, payment: Payment, source: str, extra: dict[str, Any] | None = None
                 ) -> None:
    order_event_record(order_id=order.id, kind=EventKind.PAYMENT, actor=ACTOR, reason=reason,
                       data={"payment_reference": payment.merchant_reference, "payment_status": payment.status,
                             "source": source, **(extra or {})})
