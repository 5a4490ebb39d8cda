"""Words people read instead of codes: every status and code gets a label and a colour (tone).

Tones: "ok" (green: done, good), "wait" (amber: in progress, someone waits),
"bad" (red: needs a person), "info" (blue: happening normally), "off" (grey: over,
nothing to do). The template tag `badge` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kds_bridge.models import AttemptOutcome, DeliveryStatus
from orders.models import KitchenStatus, OrderStatus
from payments.models import PaymentStatus, RefundStatus


@dataclass(frozen=True)
class Label:
    text: str
    tone: str
    code: str = ""


PAYMENT = {
    PaymentStatus.CREATED: Label("Creating the QR", "wait"),
    PaymentStatus.PENDING: Label("QR shown, waiting for the customer", "wait"),
    PaymentStatus.SUCCEEDED: Label("Paid", "ok"),
    PaymentStatus.FAILED: Label("Payment failed", "bad"),
    PaymentStatus.EXPIRED: Label("QR expired unpaid", "off"),
    PaymentStatus.NEEDS_REVIEW: Label("Needs review", "bad"),
    PaymentStatus.REFUND_PENDING: Label("Refund in progress", "wait"),
    PaymentStatus.REFUNDED: Label("Refunded", "off"),
}

REFUND = {
    RefundStatus.CREATED: Label("Refund recorded, not yet with PhonePe", "wait"),
    RefundStatus.PENDING: Label("Refund with PhonePe, in progress", "wait"),
    RefundStatus.COMPLETED: Label("Refund completed", "ok"),
    RefundStatus.FAILED: Label("Refund failed", "bad"),
}

KITCHEN = {
    KitchenStatus.NOT_SENT: Label("Not in the kitchen yet", "wait"),
    KitchenStatus.SENT: Label("In the kitchen", "info"),
    KitchenStatus.ACCEPTED: Label("Kitchen is cooking", "info"),
    KitchenStatus.READY: Label("Ready for pickup", "ok"),
    KitchenStatus.COMPLETED: Label("Collected", "off"),
    KitchenStatus.REJECTED: Label("Kitchen did not get it", "bad"),
}

DELIVERY = {
    DeliveryStatus.PENDING: Label("Waiting to be sent to Rista", "wait"),
    DeliveryStatus.SENDING: Label("Being sent to Rista", "wait"),
    DeliveryStatus.DELIVERED: Label("Rista has it", "ok"),
    DeliveryStatus.REJECTED: Label("Rista refused it", "bad"),
    DeliveryStatus.FAILED: Label("Could not reach Rista; gave up", "bad"),
}

ATTEMPT = {
    AttemptOutcome.IN_PROGRESS: Label("sending", "wait"),
    AttemptOutcome.DELIVERED: Label("Rista stored the sale", "ok"),
    AttemptOutcome.DUPLICATE_FOUND: Label("already in Rista; nothing re-sent", "ok"),
    AttemptOutcome.RETRY: Label("failed; will retry", "wait"),
    AttemptOutcome.REJECTED: Label("Rista refused it", "bad"),
    AttemptOutcome.FAILED: Label("failed; gave up", "bad"),
    AttemptOutcome.INTERRUPTED: Label("interrupted (worker stopped)", "wait"),
}

ORDER_MODES = {"takeaway": "Takeaway", "dine_in": "Dine in"}


def _get(table: dict[Any, Label], code: str) -> Label:
    found = table.get(code)
    return Label(found.text, found.tone, code) if found else Label(code.replace("_", " ").capitalize(), "off", code)


def payment_label(code: str) -> Label:
    return _get(PAYMENT, code)


def refund_label(code: str) -> Label:
    return _get(REFUND, code)


def kitchen_label(code: str, *, order_status: str = OrderStatus.CONFIRMED) -> Label:
    if code == KitchenStatus.NOT_SENT and order_status != OrderStatus.CONFIRMED:
        return Label("Not for the kitchen (unpaid)" if order_status != OrderStatus.REFUNDED else "Not cooked",
                     "off", code)
    return _get(KITCHEN, code)


def delivery_label(code: str) -> Label:
    return _get(DELIVERY, code)


def attempt_label(code: str) -> Label:
    return _get(ATTEMPT, code)


def order_label(status: str, *, last_payment: str | None = None, late_refund: str | None = None) -> Label:
    """The order's state in words, told apart by what happened to its payments.

    A failed and an expired payment are not "Pending payment"; an expired order
    whose late payment was refunded says so.
    """
    if status == OrderStatus.PENDING:
        if last_payment == PaymentStatus.NEEDS_REVIEW:
            return Label("Payment under review", "bad", status)
        if last_payment == PaymentStatus.FAILED:
            return Label("Payment failed; customer may retry", "bad", status)
        if last_payment == PaymentStatus.EXPIRED:
            return Label("QR expired; customer may retry", "wait", status)
        if last_payment in (PaymentStatus.PENDING, PaymentStatus.CREATED):
            return Label("Waiting for payment (QR shown)", "wait", status)
        return Label("Waiting for payment (no QR yet)", "wait", status)
    if status == OrderStatus.CONFIRMED:
        if last_payment == PaymentStatus.REFUND_PENDING:
            return Label("Paid; refund in progress", "wait", status)
        if last_payment == PaymentStatus.NEEDS_REVIEW:
            return Label("Paid; payment needs review", "bad", status)
        return Label("Paid", "ok", status)
    if status == OrderStatus.REFUNDED:
        return Label("Refunded", "off", status)
    if status == OrderStatus.EXPIRED:
        if late_refund == PaymentStatus.REFUNDED:
            return Label("Expired; late payment refunded", "off", status)
        if late_refund == PaymentStatus.REFUND_PENDING:
            return Label("Expired; late payment being refunded", "wait", status)
        if last_payment == PaymentStatus.NEEDS_REVIEW:
            return Label("Expired; payment under review", "bad", status)
        return Label("Expired unpaid", "off", status)
    if status == OrderStatus.CANCELLED:
        return Label("Cancelled", "off", status)
    return Label(status.capitalize(), "off", status)


def mode_label(code: str) -> str:
    return ORDER_MODES.get(code, code.replace("_", " ").capitalize())


def actor_words(actor: str) -> str:
    """kiosk:front-1 -> "Kiosk front-1"; staff:asha -> "asha"; phonepe -> "PhonePe"."""
    kind, _, name = actor.partition(":")
    if not name:
        return {"phonepe": "PhonePe", "rista": "Rista", "kitchen": "Kitchen bridge", "system": "System",
                "test": "Test"}.get(actor, actor)
    return {"kiosk": f"Kiosk {name}", "staff": name, "operator": f"Operator {name}"}.get(kind, actor)
