"""Needs attention: every order a person has to act on, with the action that fixes it.

Each problem is found from the rows themselves (no extra bookkeeping), so it
disappears as soon as it is fixed: a resend that reaches Rista, a refund that
completes. The one exception is a late payment that was refunded by itself:
nothing is left to fix, but someone should know (the customer paid, got an
expired order and their money back), so it stays until a manager marks it
handled (backoffice.models.ProblemNotice.handled_at), for a week at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from backoffice.models import ProblemNotice
from kds_bridge.models import DeliveryStatus
from kds_bridge.selectors import kitchen_stuck_orders
from orders.models import KitchenStatus, Order, OrderStatus
from payments.models import OPEN_REFUND_STATUSES, Payment, PaymentStatus, Refund, RefundStatus

# A late payment refunded by itself is news for this long (someone may want to tell the customer); older
# ones are history, so a first deployment does not flood the list (and the managers' mail) with them.
LATE_PAYMENT_NEWS_FOR = timedelta(days=7)

KITCHEN_LATE = "kitchen_late"
KITCHEN_REJECTED = "kitchen_rejected"
PAYMENT_REVIEW = "payment_review"
REFUND_FAILED = "refund_failed"
REFUND_STUCK = "refund_stuck"
LATE_PAYMENT_REFUNDED = "late_payment_refunded"

TITLES = {
    KITCHEN_LATE: "Paid, but not in the kitchen",
    KITCHEN_REJECTED: "Kitchen did not get it",
    PAYMENT_REVIEW: "Payment under review (amount does not match)",
    REFUND_FAILED: "Refund failed",
    REFUND_STUCK: "Refund pending too long",
    LATE_PAYMENT_REFUNDED: "Late payment refunded",
}

# What fixes it: an action of the order page ("resend", "refund", "check_refund", "handle").
FIXES = {
    KITCHEN_LATE: ("resend", "Resend to kitchen"),
    KITCHEN_REJECTED: ("resend", "Resend to kitchen"),
    PAYMENT_REVIEW: ("refund", "Refund what was paid"),
    REFUND_FAILED: ("refund", "Refund again"),
    REFUND_STUCK: ("check_refund", "Ask PhonePe now"),
    LATE_PAYMENT_REFUNDED: ("handle", "Mark as handled"),
}


@dataclass(frozen=True)
class Problem:
    kind: str
    order: Order
    since: datetime | None
    detail: str
    amount: Decimal | None = None
    payment_id: Any = None
    refund_id: Any = None

    @property
    def key(self) -> str:
        subject = self.refund_id or self.payment_id or self.order.pk
        return f"{self.kind}:{subject}"

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def fix(self) -> str:
        return FIXES[self.kind][0]

    @property
    def fix_label(self) -> str:
        return FIXES[self.kind][1]


def _late(orders: QuerySet[Order], now: datetime) -> list[Problem]:
    stuck = (kitchen_stuck_orders(now=now).filter(pk__in=orders.values("pk"))
             .exclude(kitchen_status=KitchenStatus.REJECTED)
             .exclude(kitchen_delivery__status__in=(DeliveryStatus.REJECTED, DeliveryStatus.FAILED))
             .select_related("device"))
    problems = []
    for order in stuck:
        delivery = getattr(order, "kitchen_delivery", None)
        waited = int((now - order.confirmed_at).total_seconds()) if order.confirmed_at else 0
        state = delivery.get_status_display() if delivery else "no kitchen delivery"
        error = f"; last error: {delivery.last_error[:120]}" if delivery and delivery.last_error else ""
        problems.append(Problem(KITCHEN_LATE, order, order.confirmed_at,
                                f"paid {waited // 60} min {waited % 60} s ago; {state}{error}"))
    return problems


def _rejected(orders: QuerySet[Order]) -> list[Problem]:
    rejected = (orders.filter(status=OrderStatus.CONFIRMED)
                .filter(Q(kitchen_status=KitchenStatus.REJECTED)
                        | Q(kitchen_delivery__status__in=(DeliveryStatus.REJECTED, DeliveryStatus.FAILED)))
                .exclude(kitchen_status__in=(KitchenStatus.ACCEPTED, KitchenStatus.READY, KitchenStatus.COMPLETED))
                .select_related("kitchen_delivery", "device"))
    problems = []
    for order in rejected:
        delivery = getattr(order, "kitchen_delivery", None)
        problems.append(Problem(KITCHEN_REJECTED, order, delivery.updated_at if delivery else order.updated_at,
                                delivery.last_error[:160] if delivery else "rejected by the kitchen"))
    return problems


def _payments(orders: QuerySet[Order], now: datetime) -> list[Problem]:
    problems = []
    review = (Payment.objects.filter(order__in=orders, status=PaymentStatus.NEEDS_REVIEW)
              .select_related("order", "order__device").prefetch_related("refunds"))
    for payment in review:
        failed_refund = next((r for r in payment.refunds.all() if r.status == RefundStatus.FAILED), None)
        kind = REFUND_FAILED if failed_refund else PAYMENT_REVIEW
        problems.append(Problem(kind, payment.order, payment.flagged_at or payment.updated_at, payment.flag_reason,
                                amount=payment.paid_amount, payment_id=payment.pk))
    stuck_before = now - timedelta(seconds=settings.BACKOFFICE_REFUND_STUCK_AFTER_SECONDS)
    for refund in (Refund.objects.filter(payment__order__in=orders, status__in=OPEN_REFUND_STATUSES,
                                         created_at__lte=stuck_before)
                   .select_related("payment__order", "payment__order__device")):
        since = timezone.localtime(refund.created_at)
        problems.append(Problem(REFUND_STUCK, refund.payment.order, refund.created_at,
                                f"{refund.get_status_display()} since {since:%d %b %H:%M}",
                                amount=refund.amount, payment_id=refund.payment_id, refund_id=refund.pk))
    handled = ProblemNotice.objects.filter(kind=LATE_PAYMENT_REFUNDED, handled_at__isnull=False).values("key")
    late = (Payment.objects.filter(order__in=orders, confirmed_order=False, status=PaymentStatus.REFUNDED,
                                   flagged_at__gte=now - LATE_PAYMENT_NEWS_FOR)
            .exclude(order__status=OrderStatus.CONFIRMED)
            .select_related("order", "order__device"))
    handled_keys = set(handled.values_list("key", flat=True))
    for payment in late:
        problem = Problem(LATE_PAYMENT_REFUNDED, payment.order, payment.flagged_at, payment.flag_reason,
                          amount=payment.paid_amount, payment_id=payment.pk)
        if problem.key not in handled_keys:
            problems.append(problem)
    return problems


def problems_list(*, orders: QuerySet[Order], now: datetime | None = None) -> list[Problem]:
    """Every current problem among `orders` (a user's visible orders), oldest first. A fixed number of queries."""
    now = now or timezone.now()
    found = _late(orders, now) + _rejected(orders) + _payments(orders, now)
    epoch = datetime.min.replace(tzinfo=timezone.get_current_timezone())
    return sorted(found, key=lambda p: p.since or epoch)


def problems_for_order(*, order: Order, now: datetime | None = None) -> list[Problem]:
    return problems_list(orders=Order.objects.filter(pk=order.pk), now=now)
