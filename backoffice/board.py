"""The live board: today's business day for a branch, in the columns a shift works by.

One query for the day's orders (with their latest payment annotated) and the
problem queries of backoffice.attention, whatever the number of orders. Each
order lands in exactly one column; a problem outranks its normal column.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from backoffice.attention import Problem, problems_list
from backoffice.selectors import display_status, today, with_payment_summary
from orders.models import KitchenStatus, Order, OrderStatus

COLUMNS = (
    ("awaiting", "Awaiting payment"),
    ("paid", "Paid, not yet in the kitchen"),
    ("kitchen", "In the kitchen"),
    ("ready", "Ready"),
    ("problems", "Problems"),
)


@dataclass
class Card:
    order: Order
    status: Any
    age_seconds: int
    problem: Problem | None = None


@dataclass
class Board:
    day: date
    branch: str
    columns: dict[str, list[Card]]
    closed: Counter = field(default_factory=Counter)  # collected, expired, refunded... counted, not shown
    refreshed_at: datetime = field(default_factory=timezone.now)

    def closed_counts(self) -> list[tuple[str, int]]:
        # A list, not the Counter: a template's lookup of `.items` on a Counter finds the count 0.
        return sorted(self.closed.items())

    def titled_columns(self) -> list[tuple[str, str, list[Card]]]:
        return [(key, title, self.columns[key]) for key, title in COLUMNS]


def _column(order: Order) -> str | None:
    if order.status == OrderStatus.PENDING:
        return "awaiting"
    if order.status != OrderStatus.CONFIRMED:
        return None
    if order.kitchen_status == KitchenStatus.NOT_SENT:
        return "paid"
    if order.kitchen_status in (KitchenStatus.SENT, KitchenStatus.ACCEPTED):
        return "kitchen"
    if order.kitchen_status == KitchenStatus.READY:
        return "ready"
    if order.kitchen_status == KitchenStatus.REJECTED:
        return "problems"
    return None  # COMPLETED: collected


def board_for(*, orders: Any, branch: str, day: date | None = None, now: datetime | None = None) -> Board:
    """`orders`: the user's visible orders (backoffice.access.orders_visible_to)."""
    now = now or timezone.now()
    day = day or today(now, branch)  # the branch's own business day, in its time zone
    todays = orders.filter(business_day=day, branch_code=branch)
    problems = {p.order.pk: p for p in problems_list(orders=todays, now=now)}
    columns: dict[str, list[Card]] = {key: [] for key, _ in COLUMNS}
    closed: Counter = Counter()
    for order in with_payment_summary(todays).select_related("device").order_by("created_at"):
        status = display_status(order)
        card = Card(order, status, int((now - order.created_at).total_seconds()), problems.get(order.pk))
        column = "problems" if card.problem else _column(order)
        if column is None:
            closed[status.text if order.kitchen_status != KitchenStatus.COMPLETED else "Collected"] += 1
            continue
        columns[column].append(card)
    return Board(day=day, branch=branch, columns=columns, closed=closed, refreshed_at=now)
