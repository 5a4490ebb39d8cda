"""Kitchen order tickets (KOT) and bills, with audited prints.

Looking at a document is not printing it: `document_preview` writes nothing,
and its page will not print as a real copy (its print style shows only
"PREVIEW"). Pressing Print is a POST that calls `order_print`, which records
the print as an order event (who, which document, which copy) under the order's
row lock; every copy after the first says DUPLICATE on the paper itself, so the
kitchen never mistakes a reprint for a new order.

What a document may say depends on the order: the bill is a GST tax invoice
only once the order is paid (it then has an invoice number); an unpaid order's
bill says it is not a tax invoice; a refunded order's says REFUNDED. A KOT for
an order that is not paid says NOT PAID, DO NOT COOK.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from kiosk_project.core.logging import log_context
from orders.models import Order, OrderEvent, OrderStatus
from orders.presenters import as_numbers
from orders.seller import seller_for
from orders.tax_breakdown import tax_breakdown

log = logging.getLogger(__name__)

DOCUMENTS = {"kot": "KOT", "bill": "bill"}
PAID = (OrderStatus.CONFIRMED, OrderStatus.REFUNDED)


class UnknownDocument(ValueError):
    pass


def _label(document: str) -> str:
    try:
        return DOCUMENTS[document]
    except KeyError as exc:
        raise UnknownDocument(document) from exc


def prints_so_far(order: Order, document: str) -> int:
    return OrderEvent.objects.filter(order=order, kind="print", data__document=document).count()


def document_context(*, order: Order, document: str, copy: int) -> dict[str, Any]:
    """What the template needs to show `document` as copy number `copy` (writes nothing)."""
    _label(document)
    lines = list(order.lines.all())
    paid = order.status in PAID
    refunded_at = None
    if order.status == OrderStatus.REFUNDED:
        refunded_at = (OrderEvent.objects.filter(order=order, kind="status", to_status=OrderStatus.REFUNDED)
                       .order_by("-created_at").values_list("created_at", flat=True).first())
    seller = seller_for(order.branch_code)
    return {
        "order": order,
        "lines": lines,
        "seller": seller,
        "paid": paid,
        "tax_invoice": document == "bill" and paid and bool(order.invoice_number),
        "refunded": order.status == OrderStatus.REFUNDED,
        "refunded_at": refunded_at,
        "payment_reference": (order.payment_reference or None) if paid else None,
        "breakdown": tax_breakdown(order, lines),
        "charges": as_numbers(order.pricing.get("charges", [])),
        "discounts": as_numbers(order.pricing.get("discounts", [])),
        "copy": copy,
        "duplicate": copy > 1,
    }


def document_preview(*, order: Order, document: str) -> dict[str, Any]:
    """The document as the next print would look (copy n + 1), for the screen only."""
    context = document_context(order=order, document=document, copy=prints_so_far(order, document) + 1)
    return {**context, "preview": True}


@transaction.atomic
def order_print(*, order: Order, document: str, actor: str) -> dict[str, Any]:
    """Record one print of `document` ("kot" or "bill") by `actor` and return the document to print."""
    label = _label(document)
    # Lock the order so two managers printing at once get "original" and "DUPLICATE", not two originals.
    locked = Order.objects.select_for_update().get(pk=order.pk)
    copy = prints_so_far(locked, document) + 1
    OrderEvent.objects.create(order=locked, kind="print", actor=actor, data={"document": document, "copy": copy},
                              reason=f"{label} printed" if copy == 1 else f"{label} reprinted (copy {copy})")
    with log_context(order_id=str(locked.pk)):
        log.info("document printed", extra={"document": document, "copy": copy, "actor": actor,
                                            "paid": locked.status in PAID})
    return {**document_context(order=locked, document=document, copy=copy), "preview": False, "printed_by": actor}
