"""Rista's `order.status` callbacks: the kitchen's progress onto `kitchen_status`, never backwards."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from kds_bridge.models import KitchenDelivery
from kiosk_project.core import metrics
from kiosk_project.core.logging import log_context
from orders.models import KitchenStatus
from orders.services import order_kitchen_transition

log = logging.getLogger(__name__)

_BEFORE = (KitchenStatus.NOT_SENT, KitchenStatus.SENT, KitchenStatus.ACCEPTED, KitchenStatus.READY)
# Rista order.status -> (our kitchen_status, the statuses it may move from: never backwards).
CALLBACK_TRANSITIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Created": (KitchenStatus.SENT, _BEFORE[:1]),
    "Accepted": (KitchenStatus.ACCEPTED, _BEFORE[:2]),
    "Processed": (KitchenStatus.READY, _BEFORE[:3]),
    "Dispatched": (KitchenStatus.COMPLETED, _BEFORE),
    "Delivered": (KitchenStatus.COMPLETED, _BEFORE),
    "Closed": (KitchenStatus.COMPLETED, _BEFORE),
    "Cancelled": (KitchenStatus.REJECTED, _BEFORE),
}


def kitchen_callback_apply(*, rista_invoice_number: str, source_invoice_number: str, status: str,
                           data: dict[str, Any]) -> str:
    """Apply one `order.status` callback; returns changed / unchanged / unknown_invoice / ignored_status."""
    delivery = None
    if rista_invoice_number:
        delivery = KitchenDelivery.objects.filter(rista_invoice_number=rista_invoice_number).only("order_id").first()
    if delivery is None and source_invoice_number:
        delivery = (KitchenDelivery.objects.filter(source_invoice_number=source_invoice_number)
                    .only("order_id").first())
    if delivery is None:
        metrics.incr("kitchen.callback_unknown")
        log.warning("kitchen callback for an unknown invoice", extra={
            "rista_invoice_number": rista_invoice_number[:64], "source_invoice_number": source_invoice_number[:64],
            "status": status[:32]})
        return "unknown_invoice"
    with log_context(order_id=str(delivery.order_id)):
        transition = CALLBACK_TRANSITIONS.get(status)
        if transition is None:
            log.warning("kitchen callback with an unknown status ignored", extra={"status": status[:32]})
            return "ignored_status"
        to_status, allowed_from = transition
        with transaction.atomic():
            changed = order_kitchen_transition(order_id=delivery.order_id, to_status=to_status,
                                               allowed_from=allowed_from, actor="rista",
                                               reason=f"Rista order.status {status}", data=data)
        metrics.incr("kitchen.callback")
        log.info("kitchen callback", extra={"status": status, "changed": changed})
    return "changed" if changed else "unchanged"
