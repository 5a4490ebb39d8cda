"""The engine's answer: a priced cart, every amount a ``Decimal`` in whole paise.

A quote carries everything the orders service snapshots and everything the
kitchen bridge needs to build a Rista sale later (docs/pricing.md, "Mapping to
the Rista sale"), so nothing is ever re-priced from a later catalog.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class LineTax:
    """One tax type on one line or charge (Rista ``taxes[]`` of a sale item/charge)."""

    tax_type_id: str
    name: str
    percentage: Decimal
    taxable_amount: Decimal  # what the percentage was applied to (net of tax); Rista saleAmount
    amount: Decimal
    included: bool  # True: extracted from a tax-inclusive price (Rista amountIncluded)


@dataclass(frozen=True, slots=True)
class QuoteOption:
    option_id: str
    option_set_id: str
    name: str
    sku: str  # the referenced item's skuCode, else the optionId
    unit_price: Decimal
    quantity: int  # per unit of the parent item, as chosen
    total_quantity: int  # quantity x line quantity
    amount: Decimal  # unit_price x total_quantity


@dataclass(frozen=True, slots=True)
class LineDiscount:
    discount_id: str
    code: str
    level: str  # Item | Order (an Order discount's share allocated to this line)
    amount: Decimal


@dataclass(frozen=True, slots=True)
class QuoteLine:
    sku: str
    item_id: str
    name: str
    category_id: str | None
    quantity: int
    unit_price: Decimal
    options: tuple[QuoteOption, ...]
    note: str | None
    item_amount: Decimal  # unit_price x quantity
    option_amount: Decimal  # sum of options' amounts
    gross_amount: Decimal  # item_amount + option_amount
    item_discount_amount: Decimal  # from item-level discounts
    order_discount_amount: Decimal  # this line's share of order-level discounts
    discount_amount: Decimal  # item_discount_amount + order_discount_amount
    discounts: tuple[LineDiscount, ...]
    net_amount: Decimal  # excluding tax, after discounts
    taxes: tuple[LineTax, ...]
    tax_amount: Decimal
    tax_included_amount: Decimal
    tax_excluded_amount: Decimal
    total_amount: Decimal  # net_amount + tax_amount
    price_includes_tax: bool
    measuring_unit: str | None
    item_nature: str | None

    @property
    def taxable_base(self) -> Decimal:
        """gross - discount: the amount the line's taxes are computed on (or extracted from)."""
        return self.gross_amount - self.discount_amount


@dataclass(frozen=True, slots=True)
class QuoteCharge:
    charge_id: str
    name: str
    type: str  # Absolute | Percentage
    rate: Decimal
    apply_at: str  # Item | Order
    sku: str | None  # the line's SKU for Item charges
    amount: Decimal  # net of tax
    taxes: tuple[LineTax, ...]
    tax_amount: Decimal
    tax_included_amount: Decimal
    tax_excluded_amount: Decimal
    total_amount: Decimal  # amount + tax_amount
    includes_tax: bool


@dataclass(frozen=True, slots=True)
class AppliedDiscount:
    discount_id: str
    code: str
    description: str | None
    type: str  # Absolute | Percentage
    rate: Decimal
    level: str  # Item | Order
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TaxSummary:
    """One tax type over the whole order (Rista sale-level ``taxes[]``)."""

    tax_type_id: str
    name: str
    percentage: Decimal
    taxable_amount: Decimal
    amount: Decimal
    items_included: Decimal
    items_excluded: Decimal
    charges_included: Decimal
    charges_excluded: Decimal


@dataclass(frozen=True, slots=True)
class Quote:
    charge_mode: str | None
    lines: tuple[QuoteLine, ...]
    charges: tuple[QuoteCharge, ...]
    discounts: tuple[AppliedDiscount, ...]
    taxes: tuple[TaxSummary, ...]
    subtotal: Decimal  # sum of line gross amounts
    item_discount_total: Decimal
    order_discount_total: Decimal
    discount_total: Decimal
    items_net_total: Decimal  # sum of line net amounts (excl. tax, after discounts)
    charge_total: Decimal  # sum of charge amounts (net of tax)
    tax_total: Decimal  # every tax of every line and charge
    tax_included_total: Decimal  # Rista taxAmountIncluded
    tax_excluded_total: Decimal  # Rista taxAmountExcluded
    total_amount_exclude_tax: Decimal  # items_net_total + charge_total
    round_off: Decimal  # signed; 0 unless round-off was asked for
    total_amount_include_tax: Decimal  # total_amount_exclude_tax + tax_total + round_off

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts and lists, Decimals kept as Decimals (the API layer renders numbers)."""
        result = _plain(self)
        assert isinstance(result, dict)
        return result


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value
