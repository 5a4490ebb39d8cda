"""Kitchen order tickets (KOT) and bills for the back office, with audited reprints.

Every print is an order event, so the history shows who printed what and when,
and every print after the first is marked DUPLICATE on the paper itself: the
kitchen never mistakes a reprint for a new order.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from orders.models import Order, OrderEvent
from orders.presenters import as_numbers

DOCUMENTS = {"kot": "KOT", "bill": "bill"}


@transaction.atomic
def order_print(*, order: Order, document: str, actor: str) -> dict[str, Any]:
    """Record a print of `document` ("kot" or "bill") and return what the template needs."""
    label = DOCUMENTS[document]
    # Lock the order so two managers printing at once get "original" and "DUPLICATE", not two originals.
    Order.objects.select_for_update().filter(pk=order.pk).first()
    previous = OrderEvent.objects.filter(order=order, kind="print", data__document=document).count()
    copy = previous + 1
    OrderEvent.objects.create(order=order, kind="print", actor=actor, data={"document": document, "copy": copy},
                              reason=f"{label} printed" if copy == 1 else f"{label} reprinted (copy {copy})")
    return {
        "order": order,
        "lines": list(order.lines.all()),
        "taxes": as_numbers(order.pricing.get("taxes", [])),
        "charges": as_numbers(order.pricing.get("charges", [])),
        "discounts": as_numbers(order.pricing.get("discounts", [])),
        "copy": copy,
        "duplicate": copy > 1,
        "printed_by": actor,
    }
