"""Payments: start an attempt (a UPI QR), and apply what PhonePe says about it.

Two rules shape everything here:

* No network I/O inside a transaction or under a row lock. Initiation runs in
  three phases (record the attempt; call PhonePe; record the answer after
  re-reading the row), and status checks happen before `payment_apply_status`
  opens its transaction.
* `payment_apply_status` is the only code that turns PhonePe's answer into
  state. The webhook, the reconciler, the expiry job and the management command
  all call it with a result from PhonePe's status API (never with a callback's
  own claims), and it locks order then payment (payments.locks), so any number
  of them racing on one payment make exactly one transition.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from kiosk_project.core import metrics
from kiosk_project.core.errors import Conflict, NotFound
from kiosk_project.core.kiosk_auth import Kiosk
from kiosk_project.core.logging import log_context
from kiosk_project.core.money import from_paise, to_paise
from orders.models import Order, OrderEvent, OrderStatus
from orders.selectors import order_get_for_kiosk
from orders.services import order_transition
from payments.conf import conf
from payments.confirmation import order_confirm_paid
from payments.gateway import (
    GatewayError,
    GatewayTimeout,
    GatewayUnavailable,
    InitiateResult,
    StatusResult,
    callback_url,
    get_gateway,
)
from payments.gateway.base import COMPLETED, FAILED, PENDING
from payments.locks import lock_order, lock_order_and_payment
from payments.models import (
    OPEN_STATUSES,
    PAID_STATUSES,
    EventSource,
    Payment,
    PaymentEvent,
    PaymentStatus,
)
from payments.schedule import default_horizon, next_check_delay
from payments.transitions import payment_transition

log = logging.getLogger(__name__)

ACTOR = "phonepe"
_UNSAFE = re.compile(r"[^A-Za-z0-9]")


# -- errors the kiosk can act on -------------------------------------------------------------------


class OrderNotPayable(Conflict):
    code = "ORDER_NOT_PAYABLE"
    message = "This order cannot be paid (only PENDING orders within their payment window can)."


class AmountMismatch(Conflict):
    code = "AMOUNT_MISMATCH"
    message = "The amount does not equal the order's total."


class PaymentInProgress(Conflict):
    code = "PAYMENT_IN_PROGRESS"
    message = "A QR for this order is being created; ask again in a moment."


class PaymentNotFound(NotFound):
    code = "PAYMENT_NOT_FOUND"
    message = "No such payment."


# -- money and references --------------------------------------------------------------------------


def new_merchant_reference(order: Order) -> str:
    """Unique per attempt, <= 35 chars of [A-Za-z0-9-] (v1's strictest limit), readable in PhonePe's
    dashboard: order number, business day, random suffix. e.g. K042-250614-9F2C4A1B7E."""
    number = _UNSAFE.sub("", order.order_number)[:10] or "O"
    return f"{number}-{order.business_day:%y%m%d}-{secrets.token_hex(5).upper()}"


# -- the ledger ------------------------------------------------------------------------------------


def ledger_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """What the ledger keeps of a payload: all of it up to PAYMENT_LEDGER_MAX_PAYLOAD_BYTES, else its size,
    digest and first part. A genuine PhonePe answer or callback is 1-3 KB; the bound keeps a signed but
    bloated callback (or a misbehaving provider) from writing 100 KB rows."""
    text = json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()
    limit = int(conf("PAYMENT_LEDGER_MAX_PAYLOAD_BYTES"))
    if len(text) <= limit:
        return payload
    metrics.incr("payments.ledger_payload_truncated")
    return {"truncated": True, "bytes": len(text), "sha256": hashlib.sha256(text).hexdigest(),
            "head": text[: limit // 2].decode("utf-8", "ignore")}


def ledger_record(*, source: str, reference: str, state: str, payload: dict[str, Any], kind: str = "payment",
                  payment_id: Any = None, refund_id: Any = None, remote_addr: str | None = None) -> bool:
    """Append one event; False when (source, kind, reference, state) was already recorded.

    The insert runs in a savepoint, so a duplicate inside a caller's transaction
    costs nothing but the row that was not written. The payload is bounded (ledger_payload).
    """
    try:
        with transaction.atomic():
            PaymentEvent.objects.create(source=source, kind=kind, provider_reference=reference[:64],
                                        state=state[:32], payload=ledger_payload(payload), payment_id=payment_id,
                                        refund_id=refund_id, remote_addr=remote_addr or None)
    except IntegrityError:
        return False
    return True


# -- initiation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Initiation:
    payment: Payment
    reused: bool


def payment_initiate(*, kiosk: Kiosk, order_id: Any, amount: Decimal) -> Initiation:
    """Give the kiosk a UPI QR for its order: the still-valid one, or a new attempt.

    Phase 1 (short transaction, order row locked): check the order is PENDING, in
    its window, and that `amount` equals its total; reuse a live QR, or record a
    CREATED attempt. Phase 2 (no transaction): ask PhonePe. Phase 3 (new
    transaction, payment re-read under lock): store the QR as PENDING, or FAILED
    if PhonePe failed, which the kiosk sees as 503/502 and may retry (a new attempt).
    """
    order = order_get_for_kiosk(order_id=order_id, device_id=kiosk.id)
    gateway = get_gateway()
    with log_context(order_id=str(order.id)):
        attempt = _initiate_record(order_id=order.id, amount=amount, provider=gateway.provider)
        if attempt.reused:
            metrics.incr("payments.qr_reused")
            log.info("live QR handed out again", extra={"reference": attempt.payment.merchant_reference})
            return attempt
        payment = attempt.payment
        try:
            result = gateway.initiate(merchant_reference=payment.merchant_reference,
                                      amount_paise=payment.amount_paise,
                                      expire_after_s=int(settings.PAYMENT_QR_EXPIRY_SECONDS),
                                      callback_url=callback_url())
        except GatewayError as exc:
            _initiate_failed(payment_id=payment.id, exc=exc)
            raise exc.api_error() from exc
        payment = _initiate_succeeded(payment_id=payment.id, result=result)
        metrics.incr("payments.initiated")
        log.info("payment initiated", extra={"reference": payment.merchant_reference, "provider": payment.provider,
                                             "amount": str(payment.amount), "expires_at": payment.expires_at})
        return Initiation(payment=payment, reused=False)


@transaction.atomic(durable=True)  # phase 1: no caller may hold it open across the PhonePe call
def _initiate_record(*, order_id: Any, amount: Decimal, provider: str) -> Initiation:
    order = lock_order(order_id)
    now = timezone.now()
    if order.status != OrderStatus.PENDING:
        raise OrderNotPayable(details={"status": order.status})
    if order.expires_at <= now:
        raise OrderNotPayable("The order's payment window has closed; place the order again.",
                              details={"status": order.status, "reason": "expired"})
    if amount != order.total_amount_include_tax:
        metrics.incr("payments.initiate_amount_mismatch")
        raise AmountMismatch(details={"expected": order.total_amount_include_tax, "sent": amount})
    if Payment.objects.filter(order_id=order.id, status=PaymentStatus.NEEDS_REVIEW).exists():
        # Money already moved for this order in a way we could not accept; do not invite a second payment.
        raise OrderNotPayable("A payment for this order is being reviewed by staff.",
                              details={"status": order.status, "reason": "payment_under_review"})
    margin = timedelta(seconds=conf("PAYMENT_QR_REUSE_MARGIN_SECONDS"))
    stale_before = now - timedelta(seconds=conf("PAYMENT_INITIATE_STALE_SECONDS"))
    for open_payment in (Payment.objects.select_for_update().filter(order_id=order.id, status__in=OPEN_STATUSES)
                         .order_by("-created_at")):
        if (open_payment.status == PaymentStatus.PENDING and open_payment.provider == provider
                and open_payment.expires_at and open_payment.expires_at > now + margin):
            return Initiation(payment=open_payment, reused=True)
        if open_payment.status == PaymentStatus.CREATED and open_payment.created_at > stale_before:
            raise PaymentInProgress(details={"retry_after": 1})
        # Older attempts stay open: the reconciler keeps checking them until their QR expires,
        # because a customer may still pay one.
    total = order.total_amount_include_tax
    payment = Payment.objects.create(
        order=order, merchant_reference=new_merchant_reference(order), provider=provider, amount=total,
        amount_paise=to_paise(total), status=PaymentStatus.CREATED,
        # Safety net: if this process dies before phase 3, the reconciler asks PhonePe about it.
        next_check_at=now + timedelta(seconds=conf("PAYMENT_INITIATE_STALE_SECONDS")),
    )
    return Initiation(payment=payment, reused=False)


def _initiate_failed(*, payment_id: Any, exc: GatewayError) -> None:
    unavailable = isinstance(exc, GatewayUnavailable)
    code = ("GATEWAY_TIMEOUT" if isinstance(exc, GatewayTimeout) else
            "GATEWAY_UNAVAILABLE" if unavailable else f"GATEWAY_REJECTED:{exc.code}".rstrip(":"))
    # A timed-out pay may have created an order at PhonePe, but nobody saw its QR, so nobody can pay it.
    with transaction.atomic(durable=True):
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status == PaymentStatus.CREATED:
            payment.error_code, payment.next_check_at, payment.completed_at = code[:64], None, timezone.now()
            payment_transition(payment, to=PaymentStatus.FAILED, fields=["error_code", "next_check_at",
                                                                         "completed_at"])
    metrics.incr("payments.gateway_unavailable" if unavailable else "payments.gateway_rejected")
    (log.warning if unavailable else log.error)(
        "payment initiation failed", extra={"payment_id": str(payment_id), "error": exc.message[:300],
                                            "http_status": exc.http_status, "code": exc.code})


@transaction.atomic(durable=True)  # phase 3
def _initiate_succeeded(*, payment_id: Any, result: InitiateResult) -> Payment:
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status != PaymentStatus.CREATED:
        # Only possible if the reconciler judged the attempt abandoned while PhonePe was answering.
        log.warning("initiation answer arrived after the attempt was closed",
                    extra={"reference": payment.merchant_reference, "status": payment.status})
        raise PaymentInProgress("That payment attempt was closed; ask for a new QR.",
                                details={"retry_after": 1})
    now = timezone.now()
    payment.provider_order_id = result.provider_order_id[:64]
    payment.qr_string = result.qr_string
    payment.qr_image = result.qr_image
    payment.expires_at = result.expires_at
    payment.initiated_at = now
    payment.next_check_at = now + timedelta(seconds=next_check_delay(0.0, horizon_of(payment)) or 0)
    payment_transition(payment, to=PaymentStatus.PENDING, fields=["provider_order_id", "qr_string", "qr_image",
                                                                  "expires_at", "initiated_at", "next_check_at"])
    ledger_record(source=EventSource.INITIATE, reference=payment.merchant_reference, state="INITIATED",
                  payload=result.raw, payment_id=payment.id)
    return payment


# -- schedule helpers ------------------------------------------------------------------------------


def horizon_of(payment: Payment) -> float:
    """Seconds after the attempt started when we stop asking: QR expiry + grace."""
    if payment.expires_at is None:
        return default_horizon()
    started = payment.initiated_at or payment.created_at
    return max((payment.expires_at - started).total_seconds(), 0.0) + settings.PAYMENT_RECONCILE_GRACE_SECONDS


def age_of(payment: Payment, now: Any = None) -> float:
    started = payment.initiated_at or payment.created_at
    return ((now or timezone.now()) - started).total_seconds()


# -- applying PhonePe's verified word ---------------------------------------------------------------


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
        _confirm(order, payment)
        return Outcome.CONFIRMED

    if order.status == OrderStatus.EXPIRED and settings.PAYMENT_LATE_SUCCESS_POLICY == "confirm":
        _flag(payment, "paid after the order expired; confirmed anyway (PAYMENT_LATE_SUCCESS_POLICY=confirm)", now)
        payment_transition(payment, to=PaymentStatus.SUCCEEDED, fields=fields)
        order_transition(order_id=order.id, to_status=OrderStatus.PENDING, expected=(OrderStatus.EXPIRED,),
                         actor=ACTOR, reason="late payment accepted (PAYMENT_LATE_SUCCESS_POLICY=confirm)",
                         data={"payment_reference": payment.merchant_reference})
        _confirm(order, payment)
        metrics.incr("payments.late_success")
        log.warning("late payment confirmed the expired order", extra={"reference": payment.merchant_reference})
        return Outcome.LATE_CONFIRMED

    from payments.refunds import refund_record_in_transaction

    late = order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED)
    why = (f"paid after the order was {order.status}; refunded automatically" if late else
           f"second payment for an order already {order.status}; refunded automatically")
    _flag(payment, why, now)
    payment_transition(payment, to=PaymentStatus.SUCCEEDED, fields=fields)
    refund_record_in_transaction(order=order, payment=payment, requested_by="system",
                                 reason="late payment after the order closed" if late else "duplicate payment")
    if late:
        Order.objects.filter(pk=order.id).update(
            status_reason=f"late payment {payment.merchant_reference} received; automatic refund started"[:255],
            updated_at=now)
    metrics.incr("payments.late_success" if late else "payments.duplicate_payment")
    log.warning("payment succeeded for a closed order: refund started, flagged for managers",
                extra={"reference": payment.merchant_reference, "order_status": order.status})
    return Outcome.LATE_SUCCESS if late else Outcome.DUPLICATE_PAYMENT


def _confirm(order: Order, payment: Payment) -> None:
    # The kitchen sale carries the UPI reference (UTR) when PhonePe gave one: it is what the
    # customer's bank statement and the restaurant's settlement report show.
    confirmed = order_confirm_paid(order_id=order.id, actor=ACTOR,
                                   payment_reference=payment.utr or payment.merchant_reference,
                                   amount=payment.amount)
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
    OrderEvent.objects.create(order_id=order.id, kind="payment", actor=ACTOR, reason=reason[:255],
                              data={"payment_reference": payment.merchant_reference, "payment_status": payment.status,
                                    "source": source, **(extra or {})})
