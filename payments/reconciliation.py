"""The reconciler: PhonePe's status-check schedule for every open payment and refund (the expiry
job, its sibling safety net, is payments.expiry).

Both claim work in a short transaction (`SELECT ... FOR UPDATE SKIP LOCKED`, then
bump `next_check_at` so a concurrent pass skips it), ask PhonePe outside any
transaction, and apply answers through the same services the webhook uses.
Beat runs the reconciler every 3 s and the expiry job every 30 s; neither uses
an ETA or countdown, so nothing waits in the broker beyond its visibility timeout.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kiosk_project.core import metrics
from kiosk_project.core.logging import log_context
from orders.models import Order
from payments.gateway import GatewayError
from payments.models import OPEN_REFUND_STATUSES, OPEN_STATUSES, Payment, Refund
from payments.refunds import refund_check
from payments.schedule import age_of, horizon_of, next_check_delay
from payments.status_apply import Outcome
from payments.status_checks import payment_check

log = logging.getLogger(__name__)


@dataclass
class Change:
    order_number: str
    order_id: str
    reference: str
    before: str
    after: str
    note: str = ""

    def __str__(self) -> str:
        text = f"{self.order_number} {self.reference}: {self.before} -> {self.after}"
        return f"{text} ({self.note})" if self.note else text


@dataclass
class PassReport:
    checked: int = 0
    refunds_checked: int = 0
    orders_expired: int = 0
    errors: int = 0
    coalesced: int = 0  # checks skipped because another check of the payment was in flight
    changes: list[Change] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "refunds_checked": self.refunds_checked,
                "orders_expired": self.orders_expired, "errors": self.errors, "coalesced": self.coalesced,
                "changes": [str(c) for c in self.changes]}


# -- payments ----------------------------------------------------------------------------------------


def payments_reconcile(*, now: datetime | None = None, order_id: Any = None, force: bool = False) -> PassReport:
    """One pass: check every due open payment and refund with PhonePe and apply the answers.

    `force` ignores the schedule (every open payment/refund, e.g. from the
    management command); `order_id` limits the pass to one order.
    """
    report = PassReport()
    deadline = time.monotonic() + float(settings.PAYMENT_RECONCILE_TIME_BUDGET)
    for payment_id, payment_order_id in _claim_payments(now=now or timezone.now(), order_id=order_id, force=force):
        if time.monotonic() > deadline:
            break  # claimed rows not checked now keep their bumped schedule and come back
        report.checked += 1
        try:
            applied = payment_check(payment_id=payment_id, source="reconciler")
        except GatewayError as exc:
            report.errors += 1
            metrics.incr("payments.reconcile_errors")
            with log_context(order_id=str(payment_order_id)):
                log.warning("reconciler could not check a payment", extra={"payment_id": str(payment_id),
                                                                            "error": str(exc)[:300]})
            continue
        if applied is None:
            report.coalesced += 1  # a callback's check is in flight or just ran; the next slot comes back
            continue
        if applied.changed:
            report.changes.append(Change(applied.order_number, str(applied.order_id), applied.reference,
                                         applied.before, applied.after,
                                         f"{applied.outcome}; order {applied.order_status}"))
            if applied.outcome in (Outcome.CONFIRMED, Outcome.LATE_CONFIRMED):
                metrics.incr("payments.confirmed_by_reconciler")
                with log_context(order_id=str(applied.order_id)):
                    log.warning("reconciler confirmed a payment whose callback never arrived",
                                extra={"reference": applied.reference})
    for refund_id, refund_order_id in _claim_refunds(now=now or timezone.now(), order_id=order_id, force=force):
        if time.monotonic() > deadline:
            break
        report.refunds_checked += 1
        before = Refund.objects.values_list("status", flat=True).get(pk=refund_id)
        try:
            refund = refund_check(refund_id=refund_id)
        except GatewayError as exc:
            report.errors += 1
            with log_context(order_id=str(refund_order_id)):
                log.warning("reconciler could not check a refund", extra={"refund_id": str(refund_id),
                                                                           "error": str(exc)[:300]})
            continue
        if refund.status != before:
            order = Order.objects.only("order_number").get(pk=refund.payment.order_id)
            report.changes.append(Change(order.order_number, str(order.pk), refund.merchant_refund_id, before,
                                         refund.status, "refund"))
    return report


def _claim_payments(*, now: datetime, order_id: Any, force: bool) -> list[tuple[Any, Any]]:
    """Claim due open payments: lock them (skipping rows another pass holds) and move each to its
    next scheduled check before the lock is released, so no other pass checks it meanwhile."""
    with transaction.atomic():
        rows = Payment.objects.select_for_update(skip_locked=True).filter(status__in=OPEN_STATUSES)
        if order_id is not None:
            rows = rows.filter(order_id=order_id)
        if not force:
            # A payment whose status check is in flight (or a callback's just ran) stays due, untouched, and
            # is claimed by the first pass after that ends (payments.status_checks).
            rows = rows.filter(Q(status_check_until__isnull=True) | Q(status_check_until__lte=now),
                               next_check_at__lte=now)
        fields = ("id", "order_id", "status", "created_at", "initiated_at", "expires_at", "next_check_at")
        claimed = list(rows.order_by("next_check_at").only(*fields)[:settings.PAYMENT_RECONCILE_BATCH])
        for payment in claimed:
            delay = next_check_delay(age_of(payment, now), horizon_of(payment))
            # Past the horizon this is the last check; if PhonePe cannot answer it, try again in a minute.
            payment.next_check_at = now + timedelta(seconds=delay if delay is not None else 60)
        Payment.objects.bulk_update(claimed, ["next_check_at"])
    return [(p.id, p.order_id) for p in claimed]


def _claim_refunds(*, now: datetime, order_id: Any, force: bool) -> list[tuple[Any, Any]]:
    with transaction.atomic():
        rows = Refund.objects.select_for_update(skip_locked=True, of=("self",)).filter(status__in=OPEN_REFUND_STATUSES)
        if order_id is not None:
            rows = rows.filter(payment__order_id=order_id)
        if not force:
            rows = rows.filter(next_check_at__lte=now)
        claimed = list(rows.order_by("next_check_at").select_related("payment")
                       .only("id", "next_check_at", "payment__order_id")[:settings.PAYMENT_RECONCILE_BATCH])
        for refund in claimed:
            refund.next_check_at = now + timedelta(seconds=60)  # a lease; the check sets the real next time
        Refund.objects.bulk_update(claimed, ["next_check_at"])
    return [(r.id, r.payment.order_id) for r in claimed]
