"""The JSON the kiosk sees for orders (quotes share its shape: orders.quotes).

Money leaves as Decimal, which the renderer writes as a JSON number (324.5).
Stored JSON snapshots keep money as strings (exact); they are turned back into
Decimal here so the kiosk gets numbers everywhere.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orders.models import Order, OrderLine

_MONEY_KEYS = frozenset({
    "unit_price", "item_amount", "option_amount", "gross_amount", "item_discount_amount", "order_discount_amount",
    "discount_amount", "net_amount", "percentage", "taxable_amount", "amount", "tax_amount", "tax_included_amount",
    "tax_excluded_amount", "total_amount", "rate", "items_included", "items_excluded", "charges_included",
    "charges_excluded",
})
LINE_KEYS = ("sku", "name", "quantity", "unit_price", "options", "note", "item_amount", "option_amount",
              "gross_amount", "discount_amount", "net_amount", "taxes", "tax_amount", "total_amount",
              "price_includes_tax")
TOTAL_KEYS = ("subtotal", "discount_total", "charge_total", "tax_total", "round_off", "total_amount_exclude_tax",
               "total_amount_include_tax")


def as_numbers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (Decimal(v) if k in _MONEY_KEYS and isinstance(v, str) else as_numbers(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [as_numbers(v) for v in value]
    return value


def _line(line: OrderLine) -> dict[str, Any]:
    return {
        "sku": line.sku, "name": line.name, "quantity": line.quantity, "unit_price": line.unit_price,
        "options": as_numbers(line.options), "note": line.note or None, "item_amount": line.item_amount,
        "option_amount": line.option_amount, "gross_amount": line.gross_amount,
        "discount_amount": line.discount_amount, "net_amount": line.net_amount, "taxes": as_numbers(line.taxes),
        "tax_amount": line.tax_amount, "total_amount": line.total_amount,
        "price_includes_tax": line.price_includes_tax,
    }


def order_payload(order: Order, lines: list[OrderLine] | None = None) -> dict[str, Any]:
    lines = lines if lines is not None else list(order.lines.all())
    pricing = as_numbers(order.pricing)
    return {
        "order_id": str(order.id),
        "order_number": order.order_number,
        "status": order.status,
        "kitchen_status": order.kitchen_status,
        "order_mode": order.order_mode,
        "channel": order.channel,
        "charge_mode": order.charge_mode or None,
        "currency": order.currency,
        **{key: getattr(order, key) for key in TOTAL_KEYS},
        "taxes": pricing.get("taxes", []),
        "charges": pricing.get("charges", []),
        "discounts": pricing.get("discounts", []),
        "lines": [_line(line) for line in lines],
        "created_at": order.created_at.isoformat(),
        "expires_at": order.expires_at.isoformat(),
    }
