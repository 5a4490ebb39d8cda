"""Everything the order screen shows, read in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from backoffice.access import actions_allowed
from backoffice.attention import Problem, problems_for_order
from backoffice.labels import Label, delivery_label, kitchen_label, mode_label, payment_label, refund_label
from backoffice.selectors import display_status, with_payment_summary
from backoffice.timeline import Entry, order_timeline
from kds_bridge.models import DeliveryStatus, KitchenDelivery
from orders.models import Order, OrderLine, OrderStatus
from orders.printing import PAID, prints_so_far
from orders.tax_breakdown import TaxBreakdown, tax_breakdown
from payments.models import Payment, Refund
from payments.refunds import REFUNDABLE


@dataclass
class PaymentRow:
    payment: Payment
    label: Label
    refundable: bool


@dataclass
class RefundRow:
    refund: Refund
    label: Label


@dataclass
class OrderScreen:
    order: Order
    status: Label
    kitchen: Label
    mode: str
    lines: list[OrderLine]
    breakdown: TaxBreakdown
    payments: list[PaymentRow]
    refunds: list[RefundRow]
    delivery: KitchenDelivery | None
    delivery_label: Label | None
    timeline: list[Entry]
    problems: list[Problem]
    allowed: dict[str, bool]
    prints: dict[str, int]
    now: datetime

    @property
    def refundable(self) -> PaymentRow | None:
        """The payment a Refund would return: the one that paid the order, else one under review."""
        rows = [row for row in self.payments if row.refundable]
        confirmed = [row for row in rows if row.payment.confirmed_order]
        return (confirmed or rows)[0] if rows else None

    @property
    def can_resend(self) -> bool:
        return self.order.status == OrderStatus.CONFIRMED and (
            self.delivery is None or self.delivery.status != DeliveryStatus.DELIVERED)

    @property
    def paid(self) -> bool:
        return self.order.status in PAID

    @property
    def stuck_refunds(self) -> list[Problem]:
        return [p for p in self.problems if p.fix == "check_refund"]

    @property
    def handle_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.fix == "handle"]


def order_screen(*, order_id: Any, user: Any, orders: Any) -> OrderScreen | None:
    """`orders`: what the user may see (backoffice.access.orders_visible_to); None when not among them."""
    order = with_payment_summary(orders.filter(pk=order_id)).select_related("device").first()
    if order is None:
        return None
    lines = list(order.lines.all())
    payments = list(Payment.objects.filter(order=order).order_by("created_at"))
    refunds = list(Refund.objects.filter(payment__order=order).order_by("created_at"))
    delivery = KitchenDelivery.objects.filter(order=order).first()
    return OrderScreen(
        order=order, status=display_status(order),
        kitchen=kitchen_label(order.kitchen_status, order_status=order.status), mode=mode_label(order.order_mode),
        lines=lines, breakdown=tax_breakdown(order, lines),
        payments=[PaymentRow(p, payment_label(p.status), p.status in REFUNDABLE and p.paid_amount is not None)
                  for p in payments],
        refunds=[RefundRow(r, refund_label(r.status)) for r in refunds],
        delivery=delivery, delivery_label=delivery_label(delivery.status) if delivery else None,
        timeline=order_timeline(order), problems=problems_for_order(order=order), allowed=actions_allowed(user),
        prints={"kot": prints_so_far(order, "kot"), "bill": prints_so_far(order, "bill")}, now=timezone.now())
