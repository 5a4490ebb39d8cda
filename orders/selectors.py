"""Reads for the kiosk API: a kiosk sees only its own orders (others are simply not found)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings

from kiosk_project.core.errors import NotFound
from orders.models import Order, OrderEvent


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"


def order_uuid(value: Any) -> UUID:
    """An order id from a URL; anything that is not a UUID is simply not found."""
    try:
        return UUID(str(value))
    except ValueError as exc:
        raise OrderNotFound() from exc


def order_get_for_kiosk(*, order_id: Any, device_id: int) -> Order:
    order = (Order.objects.filter(pk=order_uuid(order_id), device_id=device_id)
             .prefetch_related("lines").first())
    if order is None:
        raise OrderNotFound()
    return order


def order_id_for_kiosk(*, order_id: Any, device_id: int) -> UUID:
    """The order's id if it is this kiosk's (OrderNotFound otherwise): the ownership check alone."""
    pk = order_uuid(order_id)
    if not Order.objects.filter(pk=pk, device_id=device_id).exists():
        raise OrderNotFound()
    return pk


def order_history(order: Order) -> list[dict[str, Any]]:
    return [
        {"at": e.created_at.isoformat(), "kind": e.kind, "from": e.from_status or None, "to": e.to_status or None,
         "actor": e.actor, "reason": e.reason or None}
        for e in OrderEvent.objects.filter(order=order).order_by("created_at", "id")
    ]


def order_find(*, reference: str, branch_code: str | None = None) -> Order | None:
    """An order by UUID, or by order number: numbers restart per branch and business day, so a number is
    looked up in one branch (`branch_code`, default KIOSK_BRANCH_CODE), on its most recent business day."""
    try:
        order_id = UUID(reference.strip())
    except ValueError:
        return (Order.objects.filter(order_number__iexact=reference.strip(),
                                     branch_code=branch_code or settings.KIOSK_BRANCH_CODE)
                .order_by("-business_day", "-created_at").first())
    return Order.objects.filter(pk=order_id).first()

