"""The Rista sale (`POST /v1/sale`, protocols.md §2.3) for a confirmed order.

A pure function of the order's permanent snapshot (lines, stored totals and
`pricing`) plus settings: nothing is re-priced from today's catalog, and the
same order always gives the same sale. The field mapping is docs/pricing.md §13
(summarised in docs/kitchen.md). Amounts stay `Decimal` here; `sale_to_wire`
turns them into JSON numbers at the boundary (exact for two-decimal values).

The sale's totals are computed with Rista's own formulas and then checked
against our stored totals to the paisa. A mismatch is a bug in our data, not
something a retry can fix: `SalePayloadError`, and the delivery is refused
loudly rather than sending the kitchen a bill that disagrees with what the
customer paid.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, OrderLine, OrderMode

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")
CALLBACK_SECRET_HEADER = "X-Kiosk-Kds-Secret"  # noqa: S105 (a header name, not a secret)
LEVEL_ITEM, LEVEL_ORDER = "Item", "Order"


class SalePayloadError(ValueError):
    """The order's snapshot cannot become a consistent Rista sale (a bug or corrupt data)."""


def source_invoice_number(*, branch_code: str, business_day: Any, order_number: str) -> str:
    """Our `sourceInfo.invoiceNumber`: order numbers restart daily per branch, so day and branch make it unique."""
    return f"{branch_code}-{business_day:%Y%m%d}-{order_number}"


def callback_url() -> str:
    return settings.PUBLIC_BASE_URL + reverse("kds-webhook")


def _money(value: Any) -> Decimal:
    """Stored JSON snapshots keep money as strings; `Decimal(str(...))` also accepts numbers exactly."""
    return Decimal(str(value))


def _neg(amount: Decimal) -> Decimal:
    # `ZERO - x`, not `-x`: negating 0.00 gives Decimal("-0.00"), which would reach Rista as -0.0.
    return ZERO - amount


def _tax(tax: dict[str, Any]) -> dict[str, Any]:
    amount = _money(tax["amount"])
    included = bool(tax["included"])
    return {
        "name": tax["name"],
        "percentage": _money(tax["percentage"]),
        "saleAmount": _money(tax["taxable_amount"]),
        "amountIncluded": amount if included else ZERO,
        "amountExcluded": ZERO if included else amount,
        "amount": amount,
    }


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


def _discount_split(order: Order, lines: Sequence[OrderLine]) -> tuple[list[Decimal], Decimal, list[dict[str, Any]]]:
    """(item-level discount per line, sale-level discount, sale `discounts[]`).

    Item-level discounts belong on the items, order-level ones on the sale
    (docs/pricing.md §13); each line snapshot stores its discount split by level.
    """
    applied = order.pricing.get("discounts") or []
    sale_discounts = [
        {"name": d.get("description") or d.get("code") or "Discount", "type": d["type"],
         "rate": _money(d["rate"]), "amount": _neg(_money(d["amount"]))}
        for d in applied if d.get("level") == LEVEL_ORDER
    ]
    sale_discount = _sum(line.order_discount_amount for line in lines)
    return [line.item_discount_amount for line in lines], sale_discount, sale_discounts


def _item(line: OrderLine, item_discount: Decimal) -> dict[str, Any]:
    taxes = [_tax(t) for t in line.taxes]
    item: dict[str, Any] = {
        "shortName": line.name,
        "skuCode": line.sku,
        "quantity": line.quantity,
        "unitPrice": line.unit_price,
        "itemAmount": line.item_amount,
        "optionAmount": line.option_amount,
        "discountAmount": _neg(item_discount),
        "itemTotalAmount": line.gross_amount - item_discount,
        "taxAmountIncluded": _sum(t["amountIncluded"] for t in taxes),
        "taxAmountExcluded": _sum(t["amountExcluded"] for t in taxes),
        "taxes": taxes,
        "options": [
            # quantity is the option's total over the line, so unitPrice x quantity == its amount.
            {"name": o["name"], "optionId": o["option_id"], "skuCode": o["sku"], "quantity": o["total_quantity"],
             "unitPrice": _money(o["unit_price"])}
            for o in line.options
        ],
    }
    if line.measuring_unit:
        item["measuringUnit"] = line.measuring_unit
    if line.item_nature:
        item["itemNature"] = line.item_nature
    if line.note:
        item["note"] = line.note[:250]
    return item


def _charge(charge: dict[str, Any], order: Order, lines: Sequence[OrderLine]) -> dict[str, Any]:
    taxes = [_tax(t) for t in charge.get("taxes") or []]
    if charge.get("sku"):  # an Item charge: its base is that line
        base = next((line.net_amount for line in lines if line.sku == charge["sku"]), order.items_net_total)
    else:
        base = order.items_net_total
    return {
        "name": charge["name"],
        "type": charge["type"],
        "rate": _money(charge["rate"]),
        "saleAmount": base,
        # Rista's charge amount is as charged: an inclusive charge's tax is inside it.
        "amount": _money(charge["amount"]) + _money(charge["tax_included_amount"]),
        "isDirectCharge": False,
        "taxes": taxes,
    }


def _sale_tax(tax: dict[str, Any]) -> dict[str, Any]:
    items_incl, items_excl = _money(tax["items_included"]), _money(tax["items_excluded"])
    charges_incl, charges_excl = _money(tax["charges_included"]), _money(tax["charges_excluded"])
    return {
        "name": tax["name"],
        "percentage": _money(tax["percentage"]),
        "saleAmount": _money(tax["taxable_amount"]),
        "itemTaxIncluded": items_incl,
        "itemTaxExcluded": items_excl,
        "chargeTaxIncluded": charges_incl,
        "chargeTaxExcluded": charges_excl,
        "amountIncluded": items_incl + charges_incl,
        "amountExcluded": items_excl + charges_excl,
        "amount": _money(tax["amount"]),
    }


def sale_build(*, order: Order, lines: Sequence[OrderLine], payment_reference: str | None) -> dict[str, Any]:
    """The PostSale for `order`, amounts as Decimal. Raises SalePayloadError if it would not add up."""
    if not lines:
        raise SalePayloadError("the order has no lines")
    if order.confirmed_at is None:
        raise SalePayloadError("the order has no confirmation time (not paid?)")
    item_discounts, sale_discount, sale_discounts = _discount_split(order, lines)
    items = [_item(line, discount) for line, discount in zip(lines, item_discounts, strict=True)]
    charges = [_charge(c, order, lines) for c in order.pricing.get("charges") or []]

    item_total = _sum(i["itemTotalAmount"] for i in items)
    charge_amount = _sum(c["amount"] for c in charges)
    tax_included = _sum(i["taxAmountIncluded"] for i in items) + _sum(
        t["amountIncluded"] for c in charges for t in c["taxes"])
    tax_excluded = _sum(i["taxAmountExcluded"] for i in items) + _sum(
        t["amountExcluded"] for c in charges for t in c["taxes"])
    # Rista: billAmount = itemTotalAmount + discountAmount + chargeAmount + taxAmountExcluded.
    bill = item_total + _neg(sale_discount) + charge_amount + tax_excluded
    bill_rounded = bill + order.round_off
    _check_totals(order, lines, bill=bill, bill_rounded=bill_rounded, tax=tax_included + tax_excluded)

    mode = OrderMode(order.order_mode)
    sale: dict[str, Any] = {
        "branchCode": order.branch_code,
        # The order mode's price channel (kiosk_project.core.order_modes): what the order was priced from,
        # as Rista requires, and how the kitchen tells a dine-in order from a takeaway one.
        "channel": order.channel,
        "status": "Open",
        "label": f"{order.order_number} {mode.label}",
        "sourceInfo": {
            "invoiceNumber": source_invoice_number(branch_code=order.branch_code, business_day=order.business_day,
                                                   order_number=order.order_number),
            "orderTransactionId": str(order.id),
            "invoiceDate": order.confirmed_at.astimezone(UTC).isoformat(timespec="seconds"),
            "source": settings.KDS_SALE_SOURCE,
            "callbackURL": callback_url(),
            "callbackHeaders": {CALLBACK_SECRET_HEADER: settings.KDS_WEBHOOK_SECRET},
        },
        "items": items,
        "charges": charges,
        "discounts": sale_discounts,
        "taxes": [_sale_tax(t) for t in order.pricing.get("taxes") or []],
        "itemTotalAmount": item_total,
        "directChargeAmount": ZERO,
        "chargeAmount": charge_amount,
        "discountAmount": _neg(sale_discount),
        "taxAmountIncluded": tax_included,
        "taxAmountExcluded": tax_excluded,
        "netAmount": order.items_net_total,
        "netChargeAmount": order.charge_total,
        "taxAmount": order.tax_total,
        "billAmount": bill,
        "roundOffAmount": order.round_off,
        "billRoundedAmount": bill_rounded,
        "totalAmount": bill_rounded,  # no tip at a kiosk
        "payments": [_payment(order, payment_reference)],
    }
    if mode == OrderMode.TAKEAWAY:
        # Rista's delivery mode enum is Pickup | Delivery; a dine-in order simply has no delivery block.
        sale["delivery"] = {"mode": "Pickup"}
    return sale


def _payment(order: Order, reference: str | None) -> dict[str, Any]:
    payment: dict[str, Any] = {
        "mode": settings.KDS_PAYMENT_MODE,
        "amount": order.total_amount_include_tax,
        "postedDate": timezone.localtime(order.confirmed_at).isoformat(timespec="seconds"),
    }
    if reference:
        payment["reference"] = reference
    return payment


def _check_totals(order: Order, lines: Sequence[OrderLine], *, bill: Decimal, bill_rounded: Decimal,
                  tax: Decimal) -> None:
    problems = []
    if bill != order.total_amount_include_tax - order.round_off:
        problems.append(f"billAmount {bill} != payable before round-off "
                        f"{order.total_amount_include_tax - order.round_off}")
    if bill_rounded != order.total_amount_include_tax:
        problems.append(f"totalAmount {bill_rounded} != paid {order.total_amount_include_tax}")
    if tax != order.tax_total:
        problems.append(f"taxes {tax} != tax_total {order.tax_total}")
    if _sum(line.net_amount for line in lines) != order.items_net_total:
        problems.append("lines' net amounts do not add up to items_net_total")
    if problems:
        raise SalePayloadError("; ".join(problems))


def sale_to_wire(value: Any) -> Any:
    """Decimals as JSON numbers. `float` is exact enough: every amount has two decimals."""
    if isinstance(value, Decimal):
        return float(value) + 0.0  # + 0.0 turns a stray -0.0 into 0.0
    if isinstance(value, dict):
        return {k: sale_to_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sale_to_wire(v) for v in value]
    return value
