"""The expiry job: PENDING orders whose payment window closed, with no payment PhonePe still reports open
or paid, become EXPIRED. Beat runs it every 30 s; the last status checks happen outside any transaction.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kiosk_project.core import metrics
from kiosk_project.core.logging import log_context
from orders.models import Order, OrderStatus
from orders.services import order_transition
from payments.gateway import GatewayError
from payments.locks import lock_order
from payments.models import OPEN_STATUSES, Payment
from payments.reconciliation import Change, PassReport
from payments.schedule import age_of, horizon_of
from payments.status_checks import payment_check

log = logging.getLogger(__name__)

EXPIRY_REASON = "payment window closed"


def orders_expire(*, now: datetime | None = None, order_id: Any = None) -> PassReport:
    """PENDING orders past `expires_at` with no payment PhonePe still reports open or paid -> EXPIRED.

    Open attempts get a last status check first (outside any transaction): a
    payment made in the last seconds confirms the order instead of being refunded
    after a needless expiry, and a QR PhonePe still accepts keeps the order open
    until the QR's own expiry (plus grace) has passed.
    """
    now = now or timezone.now()
    report = PassReport()
    deadline = time.monotonic() + float(settings.PAYMENT_RECONCILE_TIME_BUDGET)
    orders = Order.objects.filter(status=OrderStatus.PENDING, expires_at__lt=now)
    if order_id is not None:
        orders = orders.filter(pk=order_id)
    for oid in list(orders.order_by("expires_at").values_list("id", flat=True)[:settings.PAYMENT_EXPIRE_BATCH]):
        if time.monotonic() > deadline:
            break  # the next run (30 s) continues with the rest
        with log_context(order_id=str(oid)):
            if _order_expire(oid, now, report):
                report.orders_expired += 1
    return report


def _order_expire(order_id: Any, now: datetime, report: PassReport) -> bool:
    for payment in Payment.objects.filter(order_id=order_id, status__in=OPEN_STATUSES):
        report.checked += 1
        try:
            applied = payment_check(payment_id=payment.id, source="expiry")
        except GatewayError as exc:
            report.errors += 1
            if age_of(payment, now) < horizon_of(payment):
                log.warning("expiry postponed: PhonePe could not say whether the open QR was paid",
                            extra={"reference": payment.merchant_reference, "error": str(exc)[:300]})
                return False
            continue  # past expiry + grace: PhonePe no longer takes it; a late success would be refunded
        if applied is None:
            return False  # a check of this payment is in flight: decide at the next run, with its answer
        if applied.changed:
            report.changes.append(Change(applied.order_number, str(applied.order_id), applied.reference,
                                         applied.before, applied.after, f"{applied.outcome} (expiry check)"))
    with transaction.atomic(durable=True):  # after the last status checks, made outside any transaction
        order = lock_order(order_id)
        if order.status != OrderStatus.PENDING:
            return False  # the last check confirmed it (or someone else closed it)
        still_open = Payment.objects.filter(order_id=order_id, status__in=OPEN_STATUSES).exists()
        if still_open:
            return False  # PhonePe still accepts a QR for it: wait for that QR's outcome
        expired = order_transition(order_id=order_id, to_status=OrderStatus.EXPIRED, expected=(OrderStatus.PENDING,),
                                   actor="system", reason=EXPIRY_REASON, status_reason=EXPIRY_REASON,
                                   data={"expires_at": order.expires_at})
    if expired:
        metrics.incr("orders.expired")
        report.changes.append(Change(order.order_number, str(order_id), "-", OrderStatus.PENDING,
                                     OrderStatus.EXPIRED, EXPIRY_REASON))
    return expired
