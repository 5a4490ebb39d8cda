"""Reads shared by the back office's pages: orders with what their payments say, the business day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from backoffice.labels import Label, order_label
from kiosk_project.core.branches import branch_config
from orders.models import Order
from orders.numbers import business_day
from payments.models import Payment, PaymentStatus


def today(now: datetime | None = None, branch_code: str | None = None) -> date:
    """Today's business day: at 00:30 it is still yesterday's (the business-day start hour). A branch's
    in its own time zone and start hour; with no branch, the settings' (TIME_ZONE,
    ORDER_BUSINESS_DAY_START_HOUR)."""
    return business_day(now, branch_config(branch_code) if branch_code else None)


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
