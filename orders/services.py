"""Checkout: price on the server, record permanently, exactly once per checkout attempt."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from kiosk_project.core import metrics
from kiosk_project.core.branches import branch_config
from kiosk_project.core.errors import ApplicationError
from kiosk_project.core.kiosk_auth import Kiosk
from kiosk_project.core.logging import log_context
from kiosk_project.core.row_changes import row_changed
from kiosk_project.core.transitions import transition_update
from orders.invoices import invoice_assign
from orders.models import (
    KITCHEN_STATUS_TRANSITIONS,
    ORDER_STATUS_TRANSITIONS,
    EventKind,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
)
from orders.numbers import allocate_order_number, business_day, format_order_number
from orders.quotes import PricedCart, check_client_totals, order_quote

log = logging.getLogger(__name__)


class IdempotencyKeyReused(ApplicationError):
    code = "IDEMPOTENCY_KEY_REUSED"


@dataclass(frozen=True)
class Placement:
    order: Order
    replayed: bool
    lines: list[OrderLine] | None = None  # the lines just written (None on a replay: read them back)


def request_fingerprint(data: dict[str, Any]) -> str:
    """A stable hash of the validated request (what an Idempotency-Key promises not to change)."""
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_place(*, kiosk: Kiosk, data: dict[str, Any], idempotency_key: str | None) -> Placement:
    """Create a PENDING order from a validated cart, once per (kiosk, Idempotency-Key).

    The same key with the same body returns the original order (replayed=True);
    with a different body it is refused. Concurrent requests with one key race
    on a unique constraint, and the losers return the winner's order.
    """
    fingerprint = request_fingerprint(data)
    if idempotency_key:
        existing = _order_by_key(kiosk.id, idempotency_key)
        if existing is not None:
            return _replay(existing, fingerprint)

    branch = branch_config(kiosk.branch_code)
    now = timezone.now()
    # New orders only: an order placed before closing is still paid, sent and cooked.
    branch.require_open(now)
    priced = order_quote(kiosk=kiosk, data=data)
    check_client_totals(priced, data)
    day = business_day(now, branch)
    number = format_order_number(kiosk.order_prefix,
                                 allocate_order_number(branch_code=kiosk.branch_code, day=day))
    try:
        with transaction.atomic():
            order, lines = order_record(kiosk=kiosk, priced=priced, number=number, day=day, now=now,
                                        expires_after=branch.order_expiry_seconds,
                                        idempotency_key=idempotency_key, fingerprint=fingerprint)
    except IntegrityError:
        if idempotency_key:
            existing = _order_by_key(kiosk.id, idempotency_key)
            if existing is not None:
                return _replay(existing, fingerprint)
        raise
    metrics.incr("orders.placed")
    with log_context(order_id=str(order.id)):
        log.info("order placed", extra={"order_number": order.order_number, "kiosk": kiosk.name,
                                        "order_mode": order.order_mode, "channel": order.channel,
                                        "total": str(order.total_amount_include_tax),
                                        "lines": len(priced.quote.lines)})
    return Placement(order=order, replayed=False, lines=lines)


_BY_KEY_SQL = "SELECT id FROM {table} WHERE device_id = %s AND idempotency_key = %s"


def _order_by_key(device_id: int, key: str) -> Order | None:
    """The order a kiosk placed with this key, if any.

    Every checkout runs this before pricing, and almost always finds nothing, so
    it is one plain indexed SELECT (the unique constraint's index), not an ORM
    query; the full order is loaded only for a replay.
    """
    with connection.cursor() as cursor:
        cursor.execute(_BY_KEY_SQL.format(table=connection.ops.quote_name(Order._meta.db_table)), [device_id, key])
        row = cursor.fetchone()
    return Order.objects.get(pk=row[0]) if row else None


def _replay(order: Order, fingerprint: str) -> Placement:
    if order.request_hash != fingerprint:
        metrics.incr("checkout.idempotency_conflict")
        raise IdempotencyKeyReused(details={"order_id": str(order.id)})
    metrics.incr("checkout.idempotent_replay")
    return Placement(order=order, replayed=True)


def order_record(*, kiosk: Kiosk, priced: PricedCart, number: str, day: Any, now: Any,
                 idempotency_key: str | None, fingerprint: str,
                 expires_after: int | None = None) -> tuple[Order, list[OrderLine]]:
    """Write a priced order's rows (order, lines, its first event); order_place runs it in its transaction.

    Public so that test factories write orders exactly as checkout does (testing/factories.py).
    `expires_after`: the branch's order expiry (default ORDER_EXPIRY_SECONDS).
    """
    expiry = settings.ORDER_EXPIRY_SECONDS if expires_after is None else expires_after
    quote = priced.quote
    summary = quote.to_dict()
    order = Order.objects.create(
        order_number=number, business_day=day, branch_code=kiosk.branch_code, channel=priced.channel,
        order_mode=priced.order_mode, charge_mode=priced.charge_mode or "", device_id=kiosk.id,
        subtotal=quote.subtotal, discount_total=quote.discount_total, items_net_total=quote.items_net_total,
        charge_total=quote.charge_total, tax_total=quote.tax_total, round_off=quote.round_off,
        total_amount_exclude_tax=quote.total_amount_exclude_tax,
        total_amount_include_tax=quote.total_amount_include_tax,
        pricing={key: summary[key] for key in ("taxes", "charges", "discounts")},
        catalog_etag=priced.catalog_etag, idempotency_key=idempotency_key, request_hash=fingerprint,
        created_at=now, expires_at=now + timedelta(seconds=expiry),
    )
    lines = OrderLine.objects.bulk_create([
        OrderLine(
            order=order, position=position, sku=line.sku, rista_item_id=line.item_id, name=line.name,
            category_id=line.category_id or "", quantity=line.quantity, unit_price=line.unit_price,
            options=[line_dict for line_dict in summary["lines"][position]["options"]],
            note=line.note or "", item_amount=line.item_amount, option_amount=line.option_amount,
            gross_amount=line.gross_amount, discount_amount=line.discount_amount, net_amount=line.net_amount,
            item_discount_amount=line.item_discount_amount, order_discount_amount=line.order_discount_amount,
            tax_amount=line.tax_amount, total_amount=line.total_amount,
            taxes=summary["lines"][position]["taxes"], price_includes_tax=line.price_includes_tax,
            measuring_unit=line.measuring_unit or "", item_nature=line.item_nature or "",
        )
        for position, line in enumerate(quote.lines)
    ])
    OrderEvent.objects.create(order=order, kind="status", from_status="", to_status=OrderStatus.PENDING,
                              actor=f"kiosk:{kiosk.name}", reason="order placed",
                              data={"total": quote.total_amount_include_tax, "catalog_etag": priced.catalog_etag})
    return order, lines


def order_transition(*, order_id: Any, to_status: str, expected: tuple[str, ...] | None = None, actor: str,
                     reason: str = "", data: dict[str, Any] | None = None, held: str | None = None,
                     **fields: Any) -> bool:
    """Move an order's status (the one way it changes); False when it was not in `expected`.

    A conditional UPDATE from a state ORDER_STATUS_TRANSITIONS allows (core.transitions), so
    racing callers (webhook, reconciler, expiry, the kiosk's cancel) make exactly one transition;
    the event records the true previous state. A move the table does not allow is refused
    loudly (TransitionRefused). Joins the caller's transaction when other rows change with it.
    `held`: the status the caller read with the order row locked (core.transitions.transition_update).
    """
    previous = transition_update(model=Order, pk=order_id, field="status", table=ORDER_STATUS_TRANSITIONS,
                                 to=to_status, entity="order", expected=expected, actor=actor, values=fields,
                                 held=held)
    if previous is None:
        return False
    OrderEvent.objects.create(order_id=order_id, kind=EventKind.STATUS, from_status=previous, to_status=to_status,
                              actor=actor, reason=reason[:255], data=data or {})
    with log_context(order_id=str(order_id)):
        log.info("order status changed", extra={"from": previous, "to": to_status, "actor": actor, "reason": reason})
    return True


def order_kitchen_transition(*, order_id: Any, to_status: str, allowed_from: tuple[str, ...] | None = None,
                             actor: str, reason: str = "", data: dict[str, Any] | None = None,
                             held: str | None = None) -> bool:
    """Move kitchen_status (KITCHEN_STATUS_TRANSITIONS: forward, and a resend's REJECTED -> NOT_SENT).

    False when the order was not in `allowed_from` (an out-of-order or repeated callback); one event
    per real change, with the true previous state.
    """
    previous = transition_update(model=Order, pk=order_id, field="kitchen_status", table=KITCHEN_STATUS_TRANSITIONS,
                                 to=to_status, entity="order_kitchen", expected=allowed_from, actor=actor,
                                 held=held)
    if previous is None:
        return False
    OrderEvent.objects.create(order_id=order_id, kind=EventKind.KITCHEN, from_status=previous, to_status=to_status,
                              actor=actor, reason=reason[:255], data=data or {})
    with log_context(order_id=str(order_id)):
        log.info("kitchen status changed", extra={"from": previous, "to": to_status, "actor": actor})
    return True


def order_event_record(*, order_id: Any, kind: str, actor: str, reason: str, data: dict[str, Any] | None = None,
                       status_reason: str | None = None) -> OrderEvent:
    """Append an event to the order's history; with `status_reason`, also what the order's screen says about it.

    `status_reason` changes only here and in order_transition, so every change of it is in the history.
    """
    event = OrderEvent.objects.create(order_id=order_id, kind=kind, actor=actor[:128], reason=reason[:255],
                                      data=data or {})
    if status_reason is not None:
        Order.objects.filter(pk=order_id).update(status_reason=status_reason[:255], updated_at=timezone.now())
        row_changed(Order, order_id)  # the status document shows updated_at (payments/status_cache.py)
    return event


def order_mark_paid(*, order_id: Any, actor: str, payment_reference: str, amount: Decimal,
                    held: str | None = None) -> bool:
    """PENDING -> CONFIRMED for an order paid in full, with its payment reference and tax invoice number.

    Must run inside the caller's transaction (payments.confirmation.order_confirm_paid,
    which writes the kitchen's outbox row in the same one). The invoice number is given
    here, so the series follows the order of payment without gaps (orders.invoices).
    False when the order was no longer PENDING. `held`: the status the caller read with the order locked.
    """
    confirmed = order_transition(
        order_id=order_id, to_status=OrderStatus.CONFIRMED, expected=(OrderStatus.PENDING,), actor=actor, held=held,
        reason="payment confirmed", data={"payment_reference": payment_reference, "amount": amount},
        confirmed_at=timezone.now(), status_reason="", payment_reference=payment_reference[:64],
    )
    if confirmed:
        invoice_assign(order_id=order_id)
    return confirmed
