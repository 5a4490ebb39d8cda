"""Starting a payment: a UPI QR for an order, in three phases, never calling PhonePe inside a transaction.

Phase 1 records the attempt (short transaction, order row locked); phase 2 asks PhonePe (no
transaction, no lock); phase 3 records the answer in a new transaction after re-reading the row.
Phases 1 and 3 are `atomic(durable=True)`, so no caller can wrap the whole in its own transaction.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kiosk_project.core import metrics
from kiosk_project.core.errors import Conflict
from kiosk_project.core.kiosk_auth import Kiosk
from kiosk_project.core.logging import log_context
from kiosk_project.core.money import to_paise
from orders.models import Order, OrderStatus
from orders.selectors import order_id_for_kiosk
from payments.gateway import GatewayError, GatewayTimeout, GatewayUnavailable, InitiateResult, callback_url, get_gateway
from payments.ledger import ledger_record
from payments.locks import lock_order
from payments.models import OPEN_STATUSES, EventSource, Payment, PaymentStatus
from payments.schedule import horizon_of, next_check_delay
from payments.transitions import payment_transition

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9]")


# -- errors the kiosk can act on -------------------------------------------------------------------


class OrderNotPayable(Conflict):
    code = "ORDER_NOT_PAYABLE"


class AmountMismatch(Conflict):
    code = "AMOUNT_MISMATCH"


class PaymentInProgress(Conflict):
    code = "PAYMENT_IN_PROGRESS"


def new_merchant_reference(order: Order) -> str:
    """Unique per attempt, <= 35 chars of [A-Za-z0-9-] (v1's strictest limit), readable in PhonePe's
    dashboard: order number, business day, random suffix. e.g. K042-250614-9F2C4A1B7E."""
    number = _UNSAFE.sub("", order.order_number)[:10] or "O"
    return f"{number}-{order.business_day:%y%m%d}-{secrets.token_hex(5).upper()}"


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
    # Only whose order it is: phase 1 reads the order itself, under its lock.
    pk = order_id_for_kiosk(order_id=order_id, device_id=kiosk.id)
    gateway = get_gateway()
    with log_context(order_id=str(pk)):
        attempt = _initiate_record(order_id=pk, amount=amount, provider=gateway.provider)
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
    # One read: the open attempts (locked) and any under review.
    attempts = list(Payment.objects.select_for_update()
                    .filter(order_id=order.id, status__in=(*OPEN_STATUSES, PaymentStatus.NEEDS_REVIEW))
                    .order_by("-created_at"))
    if any(attempt.status == PaymentStatus.NEEDS_REVIEW for attempt in attempts):
        # Money already moved for this order in a way we could not accept; do not invite a second payment.
        raise OrderNotPayable("A payment for this order is being reviewed by staff.",
                              details={"status": order.status, "reason": "payment_under_review"})
    margin = timedelta(seconds=settings.PAYMENT_QR_REUSE_MARGIN_SECONDS)
    stale_before = now - timedelta(seconds=settings.PAYMENT_INITIATE_STALE_SECONDS)
    for open_payment in attempts:
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
        next_check_at=now + timedelta(seconds=settings.PAYMENT_INITIATE_STALE_SECONDS),
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
