"""Reads for the kiosk API: a kiosk sees only its own orders (others are simply not found)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import connection

from kiosk_project.core.errors import NotFound
from orders.models import Order, OrderEvent


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"


def _uuid(value: Any) -> UUID:
    try:
        return UUID(str(value))
    except ValueError as exc:
        raise OrderNotFound() from exc


def order_get_for_kiosk(*, order_id: Any, device_id: int) -> Order:
    order = (Order.objects.filter(pk=_uuid(order_id), device_id=device_id)
             .prefetch_related("lines").first())
    if order is None:
        raise OrderNotFound()
    return order


_STATUS_SQL = "SELECT order_number, status, kitchen_status, updated_at FROM {table} WHERE id = %s AND device_id = %s"


def order_status_for_kiosk(*, order_id: Any, device_id: int) -> dict[str, Any]:
    """One primary-key read of the four fields the polling screen needs.

    Plain SQL on purpose: every waiting kiosk polls this every 3 s, and building
    the equivalent ORM query cost more CPU than PostgreSQL spent answering it.
    """
    pk = _uuid(order_id)
    table = connection.ops.quote_name(Order._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_STATUS_SQL.format(table=table),
                       [Order._meta.pk.get_db_prep_value(pk, connection), device_id])  # type: ignore[union-attr]
        row = cursor.fetchone()
    if row is None:
        raise OrderNotFound()
    order_number, status, kitchen_status, updated_at = row
    column = Order._meta.get_field("updated_at").cached_col  # type: ignore[union-attr]
    # SQLite (make run) hands back text; apply the converters the ORM would.
    for convert in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
        updated_at = convert(updated_at, column, connection)
    return {"id": pk, "order_number": order_number, "status": status, "kitchen_status": kitchen_status,
            "updated_at": updated_at}


def order_history(order: Order) -> list[dict[str, Any]]:
    return [
        {"at": e.created_at.isoformat(), "kind": e.kind, "from": e.from_status or None, "to": e.to_status or None,
         "actor": e.actor, "reason": e.reason or None}
        for e in OrderEvent.objects.filter(order=order).order_by("created_at", "id")
    ]
