"""Refunds: the full amount back to the customer, tracked until PhonePe says it is done.

Used automatically for a payment that succeeded after its order closed (late
success) or a second payment for a confirmed order, and by managers from the
admin. Same three phases as initiation: record a CREATED refund (in the
caller's transaction, rows locked), submit it to PhonePe after commit, record
the answer in a new transaction. The merchant refund id is fixed when the row
is written, so submitting twice (the task and the reconciler's safety net) is
harmless: PhonePe answers "already used" and we read the refund's status.

Completion is learnt from refund callbacks (v2 `pg.refund.*`, v1 S2S callbacks
carrying the refund's merchantTransactionId) and from the reconciler's status
checks, both ending in `refund_apply_status`.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kiosk_project.core import metrics
from kiosk_project.core.errors import Conflict
from kiosk_project.core.logging import log_context
from kiosk_project.core.money import to_paise
from kiosk_project.core.tasks import enqueue_or_log
from orders.models import EventKind, Order, OrderEvent, OrderStatus
from orders.services import order_event_record, order_transition
from payments.gateway import (
    GatewayDuplicate,
    GatewayNotFound,
    GatewayRejected,
    GatewayUnavailable,
    RefundResult,
    get_gateway,
)
from payments.gateway.base import COMPLETED, FAILED, PENDING
from payments.ledger import ledger_record
from payments.locks import lock_order_and_payment, lock_refund_chain
from payments.models import EventSource, Payment, PaymentStatus, Refund, RefundStatus
from payments.schedule import refund_next_check_delay
from payments.transitions import payment_transition, refund_transition

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9]")
REFUNDABLE = (PaymentStatus.SUCCEEDED, PaymentStatus.NEEDS_REVIEW)


class PaymentNotRefundable(Conflict):
    code = "PAYMENT_NOT_REFUNDABLE"


def new_refund_reference(order: Order) -> str:
    number = _UNSAFE.sub("", order.order_number)[:10] or "O"
    return f"R{number}-{secrets.token_hex(6).upper()}"


# -- creating ----------------------------------------------------------------------------------------


def refund_create(*, payment_id: Any, reason: str, requested_by: str, submit_now: bool = True) -> Refund:
    """Refund a paid payment in full; idempotent (an open or completed refund is returned as is).

    With submit_now (managers in the admin) PhonePe is asked right after the
    commit, in this thread, so the caller sees its answer; otherwise a task does it.
    """
    with transaction.atomic(durable=True):  # PhonePe is asked after the commit, never inside it
        order, payment = lock_order_and_payment(payment_id)
        with log_context(order_id=str(order.id)):
            existing = (Refund.objects.filter(payment_id=payment.id)
                        .exclude(status=RefundStatus.FAILED).order_by("-created_at").first())
            if existing is not None:
                return existing
            if payment.status not in REFUNDABLE or payment.paid_amount is None:
                raise PaymentNotRefundable(details={"status": payment.status})
            refund = refund_record_in_transaction(order=order, payment=payment, reason=reason,
                                                  requested_by=requested_by, enqueue=not submit_now)
    if submit_now:
        return refund_submit(refund_id=refund.id)
    return refund


def refund_record_in_transaction(*, order: Order, payment: Payment, reason: str, requested_by: str,
                                 enqueue: bool = True, status_reason: str | None = None) -> Refund:
    """Write a CREATED refund of everything that was paid and mark the payment REFUND_PENDING.

    Must run inside the caller's transaction with order and payment locked
    (payments.locks); the submission to PhonePe is enqueued on commit.
    """
    now = timezone.now()
    amount = payment.paid_amount if payment.paid_amount is not None else payment.amount
    refund = Refund.objects.create(
        payment=payment, merchant_refund_id=new_refund_reference(order), amount=amount,
        amount_paise=to_paise(amount), status=RefundStatus.CREATED, reason=reason[:255],
        requested_by=requested_by[:128],
        # The reconciler submits it if the task never runs (lost publish, dead worker).
        next_check_at=now + timedelta(seconds=settings.PAYMENT_REFUND_SUBMIT_AFTER),
    )
    payment_transition(payment, to=PaymentStatus.REFUND_PENDING)
    order_event_record(order_id=order.id, kind=EventKind.PAYMENT, actor=requested_by,
                       reason=f"refund started: {reason}", data={"payment_reference": payment.merchant_reference,
                             "refund_reference": refund.merchant_refund_id, "amount": amount},
                       status_reason=status_reason)
    metrics.incr("payments.refund_started")
    log.warning("refund started", extra={"reference": payment.merchant_reference,
                                         "refund_reference": refund.merchant_refund_id, "reason": reason})
    if enqueue:
        refund_id, order_id = str(refund.id), str(order.id)
        transaction.on_commit(lambda: refund_submit_enqueue(refund_id=refund_id, order_id=order_id))
    return refund


def refund_submit_enqueue(*, refund_id: str, order_id: str | None = None) -> bool:
    """Publish the submit task; a broker failure is logged, never raised (the reconciler will submit)."""
    # payments.tasks imports the services (a task calls its service), so the service reaches its task
    # lazily: HackSoft's task/service pair, the one deferred import allowed here.
    from payments.tasks import payments_refund_submit_task

    return enqueue_or_log(payments_refund_submit_task, refund_id, metric="payments.refund_enqueue_failed",
                          recovered_by="the payments reconciler", order_id=order_id)


# -- talking to PhonePe ----------------------------------------------------------------------------


def refund_submit(*, refund_id: Any) -> Refund:
    """Send a CREATED refund to PhonePe (no transaction held) and record the answer."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    payment = refund.payment
    with log_context(order_id=str(payment.order_id)):
        if refund.status != RefundStatus.CREATED:
            return refund
        gateway = get_gateway(payment.provider)
        try:
            try:
                result = gateway.refund(merchant_refund_id=refund.merchant_refund_id,
                                        original_reference=payment.merchant_reference,
                                        amount_paise=refund.amount_paise)
            except GatewayDuplicate:  # already submitted (by the task or an earlier pass): read it instead
                result = gateway.refund_status(refund.merchant_refund_id)
        except GatewayUnavailable as exc:
            _retry_later(refund, exc.message)
            return refund
        except GatewayRejected as exc:
            result = RefundResult(state=FAILED, amount_paise=refund.amount_paise, provider_refund_id="", utr="",
                                  raw={"error": exc.message, "body": exc.body}, error_code=exc.code or "REJECTED")
        ledger_record(source=EventSource.REFUND, kind="refund", reference=refund.merchant_refund_id,
                      state=result.state, payload=result.raw, payment_id=payment.id, refund_id=refund.id)
        return refund_apply_status(refund_id=refund.id, result=result, source=EventSource.REFUND)


def refund_check(*, refund_id: Any, source: str = EventSource.REFUND_STATUS) -> Refund:
    """Ask PhonePe how a refund is doing and apply it; submits a refund PhonePe never received."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status == RefundStatus.CREATED:
        return refund_submit(refund_id=refund.id)
    if refund.status != RefundStatus.PENDING:
        return refund
    with log_context(order_id=str(refund.payment.order_id)):
        gateway = get_gateway(refund.payment.provider)
        try:
            result = gateway.refund_status(refund.merchant_refund_id)
        except GatewayNotFound:
            result = RefundResult(state=PENDING, amount_paise=None, provider_refund_id="", utr="",
                                  raw={"note": "PhonePe: not found"})
        ledger_record(source=EventSource.REFUND_STATUS, kind="refund", reference=refund.merchant_refund_id,
                      state=result.state, payload=result.raw, payment_id=refund.payment_id, refund_id=refund.id)
        return refund_apply_status(refund_id=refund.id, result=result, source=source)


def _retry_later(refund: Refund, error: str) -> None:
    delay = refund_next_check_delay(refund.check_count)
    Refund.objects.filter(pk=refund.pk, status=RefundStatus.CREATED).update(
        next_check_at=timezone.now() + timedelta(seconds=delay), error_code="GATEWAY_UNAVAILABLE",
        updated_at=timezone.now())
    metrics.incr("payments.gateway_unavailable")
    log.warning("refund not submitted: PhonePe unavailable; will retry",
                extra={"refund_reference": refund.merchant_refund_id, "error": error[:300], "retry_in": delay})


@transaction.atomic(durable=True)  # after PhonePe answered; no caller may wrap the call in its transaction
def refund_apply_status(*, refund_id: Any, result: RefundResult, source: str) -> Refund:
    """Apply PhonePe's word on a refund (locks order, payment, refund in that order)."""
    order, payment, refund = lock_refund_chain(refund_id)
    with log_context(order_id=str(order.id)):
        if refund.status in (RefundStatus.COMPLETED, RefundStatus.FAILED):
            return refund
        now = timezone.now()
        refund.check_count += 1
        if result.provider_refund_id:
            refund.provider_refund_id = result.provider_refund_id[:64]
        if refund.submitted_at is None:
            refund.submitted_at = now
        fields = ["check_count", "provider_refund_id", "submitted_at", "next_check_at", "completed_at", "utr",
                  "error_code"]
        if result.state == PENDING:
            refund.next_check_at = now + timedelta(seconds=refund_next_check_delay(refund.check_count))
            refund_transition(refund, to=RefundStatus.PENDING, fields=fields)
            return refund
        refund.next_check_at = None
        refund.completed_at = now
        if result.state == COMPLETED:
            refund.utr = result.utr[:64]
            refund_transition(refund, to=RefundStatus.COMPLETED, fields=fields)
            _refund_completed(order, payment, refund, source)
        else:
            refund.error_code = (result.error_code or "FAILED")[:64]
            refund_transition(refund, to=RefundStatus.FAILED, fields=fields)
            _refund_failed(order, payment, refund, source)
        return refund


def _refund_completed(order: Order, payment: Payment, refund: Refund, source: str) -> None:
    payment_transition(payment, to=PaymentStatus.REFUNDED)
    data = {"payment_reference": payment.merchant_reference, "refund_reference": refund.merchant_refund_id,
            "amount": refund.amount, "source": source}
    if payment.confirmed_order and order.status == OrderStatus.CONFIRMED:
        order_transition(order_id=order.id, to_status=OrderStatus.REFUNDED, expected=(OrderStatus.CONFIRMED,),
                         actor=refund.requested_by, reason=f"refunded: {refund.reason}", data=data,
                         status_reason=f"refunded: {refund.reason}"[:255])
    else:
        order_event_record(order_id=order.id, kind=EventKind.PAYMENT, actor="phonepe",
                           reason=f"refunded: {refund.reason}", data=data,
                           status_reason=(f"late payment {payment.merchant_reference} refunded"
                                          if order.status != OrderStatus.CONFIRMED else None))
    metrics.incr("payments.refunded")
    log.info("refund completed", extra={"refund_reference": refund.merchant_refund_id, "utr": refund.utr})


def _refund_failed(order: Order, payment: Payment, refund: Refund, source: str) -> None:
    payment.flag_reason = f"refund {refund.merchant_refund_id} failed ({refund.error_code}); refund by hand"[:255]
    payment.flagged_at = timezone.now()
    payment_transition(payment, to=PaymentStatus.NEEDS_REVIEW, fields=["flag_reason", "flagged_at"])
    OrderEvent.objects.create(order_id=order.id, kind="payment", actor="phonepe",
                              reason=f"refund failed ({refund.error_code}); payment flagged for review"[:255],
                              data={"payment_reference": payment.merchant_reference,
                                    "refund_reference": refund.merchant_refund_id, "source": source})
    metrics.incr("payments.refund_failed")
    log.error("refund failed; payment flagged for review",
              extra={"refund_reference": refund.merchant_refund_id, "code": refund.error_code})


def refund_submit_pending(*, refund_id: Any) -> None:
    """The Celery task's body: submit one refund (it may already have been submitted; that is fine)."""
    refund = Refund.objects.only("status").filter(pk=refund_id).first()
    if refund is not None and refund.status == RefundStatus.CREATED:
        refund_submit(refund_id=refund_id)
