"""Automatic discounts: which apply at ``now`` and how much each line gets.

Supported: ``mode == "Auto"`` with ``discountType`` Absolute or Percentage, no
membership. Coupons, BuyX/BuyXGetY/BuyXGetX and membership discounts are
skipped (logged once when the catalog is parsed); ``limitInOrder`` is ignored.

Two passes, each in catalog order (docs/pricing.md, "Discounts"):

1. Item-level discounts (``itemIds``/``categoryIds``) on each matching line whose
   item allows discounts. Percentage: ``round(line gross x rate / 100)``;
   Absolute: ``rate x quantity``. Each is capped at what is left of the line
   (a line is never discounted below zero), and the discount's total at
   ``maxDiscountAmount`` (the capped total is shared by the lines in proportion).
2. Order-level discounts (neither list) on the eligible subtotal: the
   remaining amounts of the lines that allow discounts. Percentage:
   ``round(eligible x rate / 100)``; Absolute: ``rate``; capped at the eligible
   subtotal and ``maxDiscountAmount``; then allocated to those lines in
   proportion to their remaining amounts, to the paisa (largest remainder), so
   each line's tax is computed on its own discounted amount.

Stacked discounts compound: each one sees what earlier ones left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from catalog.pricing.models import PERCENTAGE, CatalogItem, Discount
from catalog.pricing.money import PAISA, ZERO, allocate, percent_of, round_money
from catalog.pricing.quote import AppliedDiscount, LineDiscount

LEVEL_ITEM = "Item"
LEVEL_ORDER = "Order"


@dataclass(frozen=True, slots=True)
class DiscountableLine:
    item: CatalogItem
    quantity: int
    gross: Decimal


@dataclass(frozen=True, slots=True)
class DiscountOutcome:
    per_line: tuple[tuple[LineDiscount, ...], ...]  # aligned with the input lines
    applied: tuple[AppliedDiscount, ...]


def apply_discounts(discounts: Sequence[Discount], lines: Sequence[DiscountableLine],
                    now: datetime) -> DiscountOutcome:
    active = [d for d in discounts if d.unsupported_reason is None and d.window.contains(now)]
    remaining = [line.gross for line in lines]
    per_line: list[list[LineDiscount]] = [[] for _ in lines]
    applied: list[AppliedDiscount] = []
    eligible = [i for i, line in enumerate(lines) if not line.item.deny_discount]

    def record(discount: Discount, level: str, indexes: Sequence[int], amounts: Sequence[Decimal]) -> None:
        for i, amount in zip(indexes, amounts, strict=True):
            if amount > 0:
                remaining[i] -= amount
                per_line[i].append(LineDiscount(discount_id=discount.discount_id, code=discount.code,
                                                level=level, amount=amount))
        total = sum(amounts, ZERO)
        if total > 0:
            assert discount.rate is not None
            applied.append(AppliedDiscount(discount_id=discount.discount_id, code=discount.code,
                                           description=discount.description,
                                           type=discount.discount_type, rate=discount.rate,
                                           level=level, amount=total))

    # Threshold for item-level discounts: what the discountable lines cost before any discount.
    order_value = sum((lines[i].gross for i in eligible), ZERO)
    for discount in active:
        if not discount.is_item_level or not _meets_minimum(discount, order_value):
            continue
        matching = [i for i in eligible if discount.matches(lines[i].item)]
        amounts = [min(_item_level_amount(discount, lines[i]), remaining[i]) for i in matching]
        cap = _cap(discount)
        if cap is not None and sum(amounts, ZERO) > cap:
            amounts = allocate(cap, amounts)
        record(discount, LEVEL_ITEM, matching, amounts)

    # Threshold for order-level discounts: the eligible subtotal after item-level discounts.
    order_value = sum((remaining[i] for i in eligible), ZERO)
    for discount in active:
        if discount.is_item_level or not _meets_minimum(discount, order_value):
            continue
        assert discount.rate is not None
        subtotal = sum((remaining[i] for i in eligible), ZERO)
        if discount.discount_type == PERCENTAGE:
            amount = percent_of(subtotal, discount.rate)
        else:
            amount = round_money(discount.rate)
        amount = min(amount, subtotal)
        cap = _cap(discount)
        if cap is not None:
            amount = min(amount, cap)
        record(discount, LEVEL_ORDER, eligible, allocate(amount, [remaining[i] for i in eligible]))

    return DiscountOutcome(per_line=tuple(tuple(d) for d in per_line), applied=tuple(applied))


def _item_level_amount(discount: Discount, line: DiscountableLine) -> Decimal:
    assert discount.rate is not None
    if discount.discount_type == PERCENTAGE:
        return percent_of(line.gross, discount.rate)
    return round_money(discount.rate * line.quantity)


def _meets_minimum(discount: Discount, order_value: Decimal) -> bool:
    return discount.min_order_amount is None or order_value >= discount.min_order_amount


def _cap(discount: Discount) -> Decimal | None:
    # A cap with fractions of a paisa is rounded down so the cap is never exceeded.
    if discount.max_discount_amount is None:
        return None
    return discount.max_discount_amount.quantize(PAISA, rounding=ROUND_DOWN)
