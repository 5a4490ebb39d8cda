"""Charges (packaging, delivery, service): which apply to this order mode, and their taxes.

Rista charges (protocols.md §2.2) apply only when the order's mode is in
``applicableModes`` (Pickup | Delivery | Others); a ``None`` mode matches none. ``applyAt == "Order"``: one
charge per order, Absolute ``chargeRate`` or a Percentage of the items' net
total (excluding tax, after discounts), waived when the items' value reaches
``minOrderAmount`` ("beyond which this charge is waived"). ``applyAt ==
"Item"``: one charge per line whose item lists it in ``chargeIds``, Absolute
``rate x quantity`` or a Percentage of the line's net amount. A charge's own
taxes (its ``taxTypeIds``) are added on top, or extracted from it when
``isIncludesTax`` is true, exactly like items (see taxes.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from catalog.pricing.models import APPLY_AT_ORDER, PERCENTAGE, Charge, TaxType
from catalog.pricing.money import ZERO, percent_of, round_money
from catalog.pricing.quote import QuoteCharge
from catalog.pricing.taxes import compute_taxes


@dataclass(frozen=True, slots=True)
class ChargeableLine:
    sku: str
    charge_ids: frozenset[str]
    quantity: int
    net: Decimal  # the line's net amount: excluding tax, after discounts


def compute_charges(charges: Sequence[Charge], tax_types: Mapping[str, TaxType],
                    lines: Sequence[ChargeableLine], *, charge_mode: str | None,
                    items_net_total: Decimal, items_value: Decimal) -> tuple[QuoteCharge, ...]:
    """Charges in catalog order (Item charges then in line order); zero amounts are left out.

    ``items_value`` is what the items cost after discounts, as the customer sees
    them on the menu (Σ line gross - discount); it is the amount compared with an
    Order charge's ``minOrderAmount``.
    """
    result: list[QuoteCharge] = []
    for charge in charges:
        if charge_mode not in charge.applicable_modes:
            continue
        if charge.apply_at == APPLY_AT_ORDER:
            if charge.min_order_amount is not None and items_value >= charge.min_order_amount:
                continue  # waived: the order is big enough
            if charge.charge_type == PERCENTAGE:
                amount = percent_of(items_net_total, charge.rate)
            else:
                amount = round_money(charge.rate)
            result.append(_priced(charge, amount, tax_types, sku=None))
            continue
        for line in lines:
            if charge.charge_id not in line.charge_ids:
                continue
            if charge.charge_type == PERCENTAGE:
                amount = percent_of(line.net, charge.rate)
            else:
                amount = round_money(charge.rate * line.quantity)
            result.append(_priced(charge, amount, tax_types, sku=line.sku))
    return tuple(charge for charge in result if charge.total_amount > 0)


def _priced(charge: Charge, amount: Decimal, tax_types: Mapping[str, TaxType], *,
            sku: str | None) -> QuoteCharge:
    net, taxes = compute_taxes(amount, [tax_types[t] for t in charge.tax_type_ids],
                               included=charge.includes_tax)
    included = sum((t.amount for t in taxes if t.included), ZERO)
    excluded = sum((t.amount for t in taxes if not t.included), ZERO)
    return QuoteCharge(
        charge_id=charge.charge_id,
        name=charge.name,
        type=charge.charge_type,
        rate=charge.rate,
        apply_at=charge.apply_at,
        sku=sku,
        amount=net,
        taxes=taxes,
        tax_amount=included + excluded,
        tax_included_amount=included,
        tax_excluded_amount=excluded,
        total_amount=net + included + excluded,
        includes_tax=charge.includes_tax,
    )
