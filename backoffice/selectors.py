"""Reads shared by the back office's pages: orders with what their payments say, the business day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from backoffice.labels import Label, order_label
from orders.models import Order
from orders.numbers import business_day
from payments.models import Payment, PaymentStatus


def today(now: datetime | None = None) -> date:
    """Today's business day: at 00:30 it is still yesterday's (ORDER_BUSINESS_DAY_START_HOUR)."""
    return business_day(now)


def business_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The instants a business day runs between: [day 04:00, next day 04:00) in local time."""
    start = timezone.make_aware(datetime(day.year, day.month, day.day, settings.ORDER_BUSINESS_DAY_START_HOUR))
    return start, start + timedelta(days=1)


def with_payment_summary(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Annotate each order with its latest payment's status and any refunded late/extra payment.

    Two correlated subqueries, so a list of any length costs one query (no N+1),
    and `display_status` can tell a failed payment from a live QR.
    """
    latest = Payment.objects.filter(order=OuterRef("pk")).order_by("-created_at").values("status")[:1]
    late = (Payment.objects.filter(order=OuterRef("pk"), confirmed_order=False,
                                   status__in=(PaymentStatus.REFUND_PENDING, PaymentStatus.REFUNDED))
            .order_by("-created_at").values("status")[:1])
    return orders.annotate(last_payment_status=Subquery(latest), late_refund_status=Subquery(late))


def display_status(order: Any) -> Label:
    return order_label(order.status, last_payment=getattr(order, "last_payment_status", None),
                       late_refund=getattr(order, "late_refund_status", None))
