"""Every (from, to) pair of every status field against its transition table.

Each pair starts from a fresh row (factories) in `from` and asks the entity's one transition function
for `to`: an allowed pair moves the row and records the true previous state (the order's history for
Order.status and kitchen_status); any other pair is refused loudly (TransitionRefused, an error log, a
`<entity>.transition_refused` metric) and leaves the row as it was. Staying in a state is allowed only
where the function says so (a kitchen delivery's lease renewed, a payment's fields saved).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import models, transaction
from django.utils import timezone

from kds_bridge.models import DELIVERY_STATUS_TRANSITIONS, DeliveryStatus, KitchenDelivery
from kds_bridge.transitions import kitchen_delivery_transition
from kiosk_project.core import metrics
from kiosk_project.core.transitions import Table, TransitionRefused, table_pairs
from orders.models import (
    KITCHEN_STATUS_TRANSITIONS,
    ORDER_STATUS_TRANSITIONS,
    KitchenStatus,
    Order,
    OrderEvent,
    OrderStatus,
)
from orders.services import order_kitchen_transition, order_transition
from payments.models import (
    PAYMENT_STATUS_TRANSITIONS,
    REFUND_STATUS_TRANSITIONS,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from payments.transitions import payment_transition, refund_transition
from testing.factories import KitchenDeliveryFactory, OrderFactory, PaymentFactory, RefundFactory

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Field:
    entity: str  # the metric's prefix
    choices: type[models.TextChoices]
    table: Table
    make: Callable[[str], models.Model]
    move: Callable[[models.Model, str], Any]
    read: Callable[[models.Model], str]
    same_state_allowed: bool = False
    history: Callable[[models.Model], tuple[str, str] | None] | None = None


def _order(status: str) -> Order:
    return OrderFactory(status=status, confirmed_at=timezone.now() if status == OrderStatus.CONFIRMED else None)


def _order_move(order: Order, to: str) -> bool:
    extra = {"confirmed_at": timezone.now()} if to == OrderStatus.CONFIRMED else {}
    return order_transition(order_id=order.pk, to_status=to, actor="test", **extra)


def _last_event(kind: str) -> Callable[[models.Model], tuple[str, str] | None]:
    def read(order: models.Model) -> tuple[str, str] | None:
        event = OrderEvent.objects.filter(order_id=order.pk, kind=kind).order_by("-id").first()
        return (event.from_status, event.to_status) if event else None
    return read


def _locked(model: type[models.Model], move: Callable[[Any, str], Any]) -> Callable[[models.Model], Any]:
    def run(row: models.Model, to: str) -> Any:
        with transaction.atomic():
            return move(model._default_manager.select_for_update().get(pk=row.pk), to)
    return run  # type: ignore[return-value]


def _delivery(status: str) -> KitchenDelivery:
    return KitchenDeliveryFactory(status=status, claimed_until=timezone.now() + timedelta(seconds=30),
                                  rista_invoice_number=f"RIS-{uuid.uuid4().hex[:12]}")


FIELDS = {
    "Order.status": Field(
        "order", OrderStatus, ORDER_STATUS_TRANSITIONS, _order, _order_move,
        lambda row: Order.objects.values_list("status", flat=True).get(pk=row.pk), history=_last_event("status")),
    "Order.kitchen_status": Field(
        "order_kitchen", KitchenStatus, KITCHEN_STATUS_TRANSITIONS,
        lambda status: OrderFactory(confirmed=True, kitchen_status=status),
        lambda order, to: order_kitchen_transition(order_id=order.pk, to_status=to, actor="test"),
        lambda row: Order.objects.values_list("kitchen_status", flat=True).get(pk=row.pk),
        history=_last_event("kitchen")),
    "Payment.status": Field(
        "payment", PaymentStatus, PAYMENT_STATUS_TRANSITIONS, lambda status: PaymentFactory(status=status),
        _locked(Payment, lambda payment, to: payment_transition(payment, to=to)),
        lambda row: Payment.objects.values_list("status", flat=True).get(pk=row.pk), same_state_allowed=True),
    "Refund.status": Field(
        "refund", RefundStatus, REFUND_STATUS_TRANSITIONS, lambda status: RefundFactory(status=status),
        _locked(Refund, lambda refund, to: refund_transition(refund, to=to)),
        lambda row: Refund.objects.values_list("status", flat=True).get(pk=row.pk), same_state_allowed=True),
    "KitchenDelivery.status": Field(
        "kitchen_delivery", DeliveryStatus, DELIVERY_STATUS_TRANSITIONS, _delivery,
        lambda delivery, to: kitchen_delivery_transition(delivery_id=delivery.pk, to=to, actor="test"),
        lambda row: KitchenDelivery.objects.values_list("status", flat=True).get(pk=row.pk),
        same_state_allowed=True),
}

PAIRS = [pytest.param(name, source, target, id=f"{name}:{source}->{target}")
         for name, field in FIELDS.items() for source in field.choices.values for target in field.choices.values]


@pytest.mark.parametrize(("name", "field"), FIELDS.items())
def test_every_table_names_every_state_and_only_states(name: str, field: Field) -> None:
    assert set(field.table) == set(field.choices.values), name
    assert {target for _, target in table_pairs(field.table)} <= set(field.choices.values), name


@pytest.mark.parametrize(("name", "source", "target"), PAIRS)
def test_transition(name: str, source: str, target: str, caplog: pytest.LogCaptureFixture) -> None:
    field = FIELDS[name]
    row = field.make(source)
    allowed = (source, target) in table_pairs(field.table)
    if allowed or (source == target and field.same_state_allowed):
        field.move(row, target)
        assert field.read(row) == target
        if field.history is not None and source != target:
            assert field.history(row) == (source, target)  # the true previous state, not a guess
        return
    refused_before = metrics.get(f"{field.entity}.transition_refused")
    with pytest.raises(TransitionRefused), transaction.atomic():  # the refusal rolls the caller's work back
        field.move(row, target)
    assert field.read(row) == source
    assert metrics.get(f"{field.entity}.transition_refused") == refused_before + 1
    assert any(r.levelname == "ERROR" and r.getMessage() == "status transition refused" for r in caplog.records)


def test_a_caller_that_expects_another_state_loses_the_race_quietly(caplog: pytest.LogCaptureFixture) -> None:
    order = _order(OrderStatus.CONFIRMED)  # the webhook confirmed it while the expiry job was deciding
    assert order_transition(order_id=order.pk, to_status=OrderStatus.EXPIRED, expected=(OrderStatus.PENDING,),
                            actor="system") is False
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_caller_that_holds_the_row_is_not_read_again_but_a_wrong_claim_is_refused() -> None:
    """`held`: the caller read the state under its own lock; the UPDATE is still conditional on it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    order = _order(OrderStatus.PENDING)
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        with CaptureQueriesContext(connection) as queries:
            assert order_transition(order_id=order.pk, to_status=OrderStatus.CANCELLED, actor="test",
                                    held=locked.status)
    assert not [q for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED

    refused_before = metrics.get("order.transition_refused")
    with pytest.raises(TransitionRefused), transaction.atomic():  # it is CANCELLED, not PENDING as claimed
        order_transition(order_id=order.pk, to_status=OrderStatus.EXPIRED, actor="test", held=OrderStatus.PENDING)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert metrics.get("order.transition_refused") == refused_before + 1
