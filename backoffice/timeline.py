"""An order's whole story as one list, to the second: what our code did, what PhonePe and Rista said,
what managers did.

Merged from five sources: order events (status and kitchen changes, prints,
manager actions), payment attempts, the PhonePe ledger (every callback and
status answer, verbatim), refunds, and kitchen delivery attempts with Rista's
answer. Each entry says who, what and when in words, keeps its raw data for the
"raw" toggle, and links to the record it came from. Seven queries whatever the
order's history holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.urls import reverse

from backoffice.labels import actor_words, attempt_label, kitchen_label, payment_label, refund_label
from kds_bridge.models import KitchenDelivery, KitchenDeliveryAttempt
from kiosk_project.core.money_format import rupees
from orders.models import Order, OrderEvent, OrderStatus
from payments.models import EventSource, Payment, PaymentEvent, Refund

SOURCES: dict[str, str] = {EventSource.WEBHOOK_V2: "PhonePe webhook", EventSource.WEBHOOK_V1: "PhonePe callback",
           EventSource.STATUS_CHECK: "PhonePe status check", EventSource.INITIATE: "PhonePe",
           EventSource.REFUND: "PhonePe refund API", EventSource.REFUND_STATUS: "PhonePe refund status"}
STATES = {"COMPLETED": "completed", "FAILED": "failed", "PENDING": "still pending", "INITIATED": "QR created"}


@dataclass
class Entry:
    at: datetime
    who: str
    what: str
    detail: str = ""
    tone: str = "info"
    kind: str = "order"  # order, payment, phonepe, refund, kitchen, print, action
    link: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    order_key: int = 0  # ties at the same instant keep the order they happened in


_ORDER_WORDS: dict[str, tuple[str, str]] = {
    OrderStatus.PENDING: ("Order placed", "info"),
    OrderStatus.CONFIRMED: ("Payment confirmed; order paid", "ok"),
    OrderStatus.EXPIRED: ("Order expired unpaid", "off"),
    OrderStatus.CANCELLED: ("Order cancelled", "off"),
    OrderStatus.REFUNDED: ("Order refunded", "off"),
}


def _order_event(event: OrderEvent) -> Entry:
    raw = {"kind": event.kind, "from": event.from_status, "to": event.to_status, "actor": event.actor,
           "reason": event.reason, "data": event.data}
    who = actor_words(event.actor)
    if event.kind == "status":
        what, tone = _ORDER_WORDS.get(event.to_status, (f"Status: {event.to_status}", "info"))
        if event.to_status == OrderStatus.PENDING and event.from_status:
            what = "Order re-opened"
        detail = event.reason if event.reason and event.reason not in ("order placed", "payment confirmed") else ""
        if event.to_status == OrderStatus.CONFIRMED and event.data.get("payment_reference"):
            detail = f"UPI reference {event.data['payment_reference']}"
        return Entry(event.created_at, who, what, detail, tone, "order", raw=raw)
    if event.kind == "kitchen":
        label = kitchen_label(event.to_status)
        return Entry(event.created_at, who, f"Kitchen: {label.text}", event.reason, label.tone, "kitchen", raw=raw)
    if event.kind == "print":
        return Entry(event.created_at, who, event.reason.capitalize() if event.reason else "Printed", "", "info",
                     "print", raw=raw)
    if event.kind == "action":
        return Entry(event.created_at, who, event.reason.capitalize() if event.reason else "Manager action", "",
                     "info", "action", raw=raw)
    tone = "bad" if any(w in event.reason for w in ("failed", "mismatch", "review")) else "info"
    return Entry(event.created_at, who, event.reason.capitalize() if event.reason else event.kind, "", tone,
                 "payment", raw=raw)


def _payment(payment: Payment) -> list[Entry]:
    link = reverse("admin:payments_payment_change", args=[payment.pk])
    label = payment_label(payment.status)
    raw = {"merchant_reference": payment.merchant_reference, "provider": payment.provider,
           "provider_order_id": payment.provider_order_id, "amount": str(payment.amount), "status": payment.status,
           "utr": payment.utr, "error_code": payment.error_code, "flag_reason": payment.flag_reason}
    entries = [Entry(payment.created_at, "Kiosk", f"UPI QR asked for, {rupees(payment.amount)}",
                     f"reference {payment.merchant_reference}", "info", "payment", link, raw)]
    if payment.completed_at:
        # What happened then (the payment's status now may have moved on, e.g. to a refund).
        if payment.paid_amount is not None:
            full = payment.paid_amount == payment.amount
            what = (f"Customer paid {rupees(payment.paid_amount)}" if full else
                    f"Customer paid {rupees(payment.paid_amount)}, not the {rupees(payment.amount)} asked")
            tone = "ok" if full else "bad"
        else:
            what, tone = f"Payment {label.text.lower()}", label.tone
        detail = "; ".join(part for part in (
            f"UTR {payment.utr}" if payment.utr else "",
            f"PhonePe code {payment.error_code}" if payment.error_code else "", payment.flag_reason) if part)
        entries.append(Entry(payment.completed_at, "PhonePe", what, detail, tone, "payment", link, raw))
    return entries


def _ledger(event: PaymentEvent) -> Entry:
    link = reverse("admin:payments_payment_change", args=[event.payment_id]) if event.payment_id else ""
    source = SOURCES.get(event.source, event.source)
    state = STATES.get(event.state, event.state.replace("_", " ").lower())
    about = "refund" if event.kind == "refund" else "payment"
    tone = "ok" if event.state in ("COMPLETED", "INITIATED") else "bad" if event.state == "FAILED" else "info"
    return Entry(event.received_at, "PhonePe", f"{source}: {about} {state}",
                 f"reference {event.provider_reference}", tone, "phonepe", link,
                 {"source": event.source, "state": event.state, "payload": event.payload,
                  "remote_addr": event.remote_addr})


def _refund(refund: Refund) -> list[Entry]:
    link = reverse("admin:payments_refund_change", args=[refund.pk])
    raw = {"merchant_refund_id": refund.merchant_refund_id, "amount": str(refund.amount), "status": refund.status,
           "reason": refund.reason, "requested_by": refund.requested_by, "utr": refund.utr,
           "error_code": refund.error_code}
    entries = [Entry(refund.created_at, actor_words(refund.requested_by),
                     f"Refund of {rupees(refund.amount)} asked for", f"reason: {refund.reason}", "wait", "refund",
                     link, raw)]
    if refund.completed_at:
        label = refund_label(refund.status)
        detail = f"UTR {refund.utr}" if refund.utr else (f"code {refund.error_code}" if refund.error_code else "")
        entries.append(Entry(refund.completed_at, "PhonePe", label.text, detail, label.tone, "refund", link, raw))
    return entries


def _attempt(attempt: KitchenDeliveryAttempt, delivery: KitchenDelivery) -> Entry:
    link = reverse("admin:kds_bridge_kitchendelivery_change", args=[delivery.pk])
    label = attempt_label(attempt.outcome)
    answer = f"Rista answered HTTP {attempt.http_status}" if attempt.http_status else ""
    detail = "; ".join(part for part in (answer, attempt.error[:200],
                                         "looked the sale up first" if attempt.looked_up else "") if part)
    return Entry(attempt.finished_at or attempt.started_at, "Kitchen bridge",
                 f"Sent to Rista (attempt {attempt.number}): {label.text}", detail, label.tone, "kitchen", link,
                 {"number": attempt.number, "outcome": attempt.outcome, "http_status": attempt.http_status,
                  "error": attempt.error, "worker": attempt.worker, "looked_up": attempt.looked_up,
                  "started_at": attempt.started_at.isoformat()})


def order_timeline(order: Order) -> list[Entry]:
    """Every entry of the order's story, oldest first."""
    events = OrderEvent.objects.filter(order=order).order_by("created_at", "id")
    entries: list[Entry] = [_order_event(e) for e in events]
    payments = list(Payment.objects.filter(order=order).order_by("created_at"))
    for payment in payments:
        entries += _payment(payment)
    entries += [_ledger(e) for e in PaymentEvent.objects.filter(payment__order=order).order_by("received_at", "id")]
    for refund in Refund.objects.filter(payment__order=order).order_by("created_at"):
        entries += _refund(refund)
    delivery = KitchenDelivery.objects.filter(order=order).first()
    if delivery is not None:
        entries += [_attempt(a, delivery) for a in delivery.attempt_log.order_by("number")]
    for position, entry in enumerate(entries):
        entry.order_key = position
    return sorted(entries, key=lambda e: (e.at, e.order_key))
