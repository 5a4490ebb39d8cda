"""``quote_cart``: price a kiosk cart from the catalog, to the paisa, deterministically.

The steps, in order (docs/pricing.md has the rules with worked examples):

1. merge repeated lines (same SKU, same options);
2. refuse unknown SKUs (all at once), then unavailable items, then bad options;
3. price each line: unit price (schedule price if one is active) x quantity,
   plus options;
4. apply automatic discounts (item-level, then order-level allocated to lines);
5. tax each line on its discounted amount (exclusive: added; inclusive: extracted);
6. add the charges of the order mode, with their own taxes;
7. total up, optionally rounding the payable amount to the rupee.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from catalog.pricing.cart import CartLine, MergedLine, merge_cart_lines
from catalog.pricing.charges import ChargeableLine, compute_charges
from catalog.pricing.discounts import LEVEL_ITEM, DiscountableLine, apply_discounts
from catalog.pricing.errors import InvalidOptions, ItemNotFound, ItemUnavailable
from catalog.pricing.index import CatalogIndex
from catalog.pricing.models import CatalogItem
from catalog.pricing.money import MONEY_CONTEXT, ZERO, round_money, round_to_rupee
from catalog.pricing.options import resolve_options
from catalog.pricing.quote import (
    AppliedDiscount,
    LineDiscount,
    LineTax,
    Quote,
    QuoteCharge,
    QuoteLine,
    QuoteOption,
    TaxSummary,
)
from catalog.pricing.taxes import compute_taxes


def quote_cart(*, index: CatalogIndex, lines: Iterable[CartLine], charge_mode: str | None, now: datetime,
               round_off: bool = False) -> Quote:
    """Price ``lines`` for ``charge_mode`` (Pickup | Delivery | Others; None: no charge applies) at ``now``.

    ``now`` must be timezone-aware and already in the branch's time zone: its
    wall-clock date and time are compared with schedules and discount hours.
    Raises ``ItemNotFound``, ``ItemUnavailable`` or ``InvalidOptions``.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime in the branch time zone")
    with localcontext(MONEY_CONTEXT):
        return _quote(index, lines, charge_mode, now, round_off)


def _quote(index: CatalogIndex, lines: Iterable[CartLine], charge_mode: str | None, now: datetime,
           round_off: bool) -> Quote:
    merged = merge_cart_lines(lines)
    if not merged:
        raise ValueError("cannot price an empty cart")
    items = _resolve_items(index, merged, now)

    problems: list[dict[str, Any]] = []
    drafts = [_draft(index, item, line, now, problems) for line, item in zip(merged, items, strict=True)]
    if problems:
        raise InvalidOptions(problems)

    discounts = apply_discounts(
        index.discounts,
        [DiscountableLine(item=d.item, quantity=d.line.quantity, gross=d.gross) for d in drafts],
        now,
    )
    quote_lines = tuple(
        _price_line(index, draft, line_discounts)
        for draft, line_discounts in zip(drafts, discounts.per_line, strict=True)
    )

    items_net_total = sum((line.net_amount for line in quote_lines), ZERO)
    charges = compute_charges(
        index.charges,
        index.tax_types,
        [ChargeableLine(sku=line.sku, charge_ids=draft.item.charge_ids, quantity=line.quantity,
                        net=line.net_amount) for line, draft in zip(quote_lines, drafts, strict=True)],
        charge_mode=charge_mode,
        items_net_total=items_net_total,
        items_value=sum((line.taxable_base for line in quote_lines), ZERO),
    )
    return _totals(index, charge_mode, quote_lines, charges, discounts.applied, round_off=round_off)


class _Draft:
    """A line priced before discounts and taxes (internal; never modified after construction)."""

    __slots__ = ("gross", "item", "item_amount", "line", "option_amount", "options", "unit_price")

    def __init__(self, line: MergedLine, item: CatalogItem, unit_price: Decimal,
                 options: tuple[QuoteOption, ...]) -> None:
        self.line = line
        self.item = item
        self.unit_price = unit_price
        self.options = options
        self.item_amount = round_money(unit_price * line.quantity)
        self.option_amount = sum((option.amount for option in options), ZERO)
        self.gross = self.item_amount + self.option_amount


def _resolve_items(index: CatalogIndex, merged: Sequence[MergedLine], now: datetime) -> list[CatalogItem]:
    """The catalog item of every line, or the first error kind that has problems, listing them all."""
    unknown: list[str] = []
    found: list[CatalogItem] = []
    for line in merged:
        item = index.item_by_sku(line.sku)
        # Group/Option items without a price are only sold through their variants/option
        # sets; to the kiosk they are not orderable SKUs.
        if item is None or not item.sellable_alone:
            if line.sku not in unknown:
                unknown.append(line.sku)
        else:
            found.append(item)
    if unknown:
        raise ItemNotFound(unknown)
    unavailable: list[dict[str, Any]] = []
    reported: set[str] = set()
    for item in found:
        reason = index.unavailability_reason(item, now)
        if reason is not None and item.sku not in reported:
            reported.add(item.sku)
            unavailable.append({"sku": item.sku, "name": item.name, "reason": reason})
    if unavailable:
        raise ItemUnavailable(unavailable)
    return found


def _draft(index: CatalogIndex, item: CatalogItem, line: MergedLine, now: datetime,
           problems: list[dict[str, Any]]) -> _Draft:
    unit_price = index.price_at(item, now)
    assert unit_price is not None  # sellable_alone was checked
    return _Draft(line, item, unit_price, resolve_options(index, item, line, problems))


def _price_line(index: CatalogIndex, draft: _Draft, discounts: tuple[LineDiscount, ...]) -> QuoteLine:
    item_discount = sum((d.amount for d in discounts if d.level == LEVEL_ITEM), ZERO)
    discount = sum((d.amount for d in discounts), ZERO)
    base = draft.gross - discount
    # Options are taxed with their parent item's tax types and inclusive flag:
    # Rista prices an option as part of the item it modifies.
    tax_types = [index.tax_types[t] for t in draft.item.tax_type_ids]
    net, taxes = compute_taxes(base, tax_types, included=draft.item.price_includes_tax)
    included = sum((t.amount for t in taxes if t.included), ZERO)
    excluded = sum((t.amount for t in taxes if not t.included), ZERO)
    item = draft.item
    return QuoteLine(
        sku=item.sku,
        item_id=item.item_id,
        name=item.name,
        category_id=item.category_id,
        quantity=draft.line.quantity,
        unit_price=draft.unit_price,
        options=draft.options,
        note=draft.line.note,
        item_amount=draft.item_amount,
        option_amount=draft.option_amount,
        gross_amount=draft.gross,
        item_discount_amount=item_discount,
        order_discount_amount=discount - item_discount,
        discount_amount=discount,
        discounts=discounts,
        net_amount=net,
        taxes=taxes,
        tax_amount=included + excluded,
        tax_included_amount=included,
        tax_excluded_amount=excluded,
        total_amount=net + included + excluded,
        price_includes_tax=item.price_includes_tax,
        measuring_unit=item.measuring_unit,
        item_nature=item.item_nature,
    )


def _tax_summary(index: CatalogIndex, lines: Sequence[QuoteLine],
                 charges: Sequence[QuoteCharge]) -> tuple[TaxSummary, ...]:
    """One entry per tax type that occurs, in the catalog's taxTypes order (CGST, SGST, ...)."""
    buckets: dict[str, dict[str, Decimal]] = {}

    def add(tax: LineTax, source: str) -> None:
        bucket = buckets.setdefault(tax.tax_type_id, {
            "taxable_amount": ZERO, "items_included": ZERO, "items_excluded": ZERO,
            "charges_included": ZERO, "charges_excluded": ZERO,
        })
        bucket["taxable_amount"] += tax.taxable_amount
        bucket[f"{source}_{'included' if tax.included else 'excluded'}"] += tax.amount

    for line in lines:
        for tax in line.taxes:
            add(tax, "items")
    for charge in charges:
        for tax in charge.taxes:
            add(tax, "charges")
    summary = []
    for tax_type in index.tax_types.values():
        bucket = buckets.get(tax_type.tax_type_id)
        if bucket is None:
            continue
        summary.append(TaxSummary(
            tax_type_id=tax_type.tax_type_id,
            name=tax_type.name,
            percentage=tax_type.percentage,
            amount=bucket["items_included"] + bucket["items_excluded"]
            + bucket["charges_included"] + bucket["charges_excluded"],
            **bucket,
        ))
    return tuple(summary)


def _totals(index: CatalogIndex, charge_mode: str | None, lines: tuple[QuoteLine, ...],
            charges: tuple[QuoteCharge, ...], applied: tuple[AppliedDiscount, ...], *,
            round_off: bool) -> Quote:
    items_net_total = sum((line.net_amount for line in lines), ZERO)
    charge_total = sum((charge.amount for charge in charges), ZERO)
    tax_included = sum((x.tax_included_amount for x in lines), ZERO) + sum(
        (c.tax_included_amount for c in charges), ZERO)
    tax_excluded = sum((x.tax_excluded_amount for x in lines), ZERO) + sum(
        (c.tax_excluded_amount for c in charges), ZERO)
    tax_total = tax_included + tax_excluded
    exclude_tax = items_net_total + charge_total
    payable = exclude_tax + tax_total
    # Bill round-off (Rista roundOffAmount): the signed step to the nearest rupee, halves up.
    adjustment = round_to_rupee(payable) - payable if round_off else ZERO
    item_discount_total = sum((line.item_discount_amount for line in lines), ZERO)
    order_discount_total = sum((line.order_discount_amount for line in lines), ZERO)
    return Quote(
        charge_mode=charge_mode,
        lines=lines,
        charges=charges,
        discounts=applied,
        taxes=_tax_summary(index, lines, charges),
        subtotal=sum((line.gross_amount for line in lines), ZERO),
        item_discount_total=item_discount_total,
        order_discount_total=order_discount_total,
        discount_total=item_discount_total + order_discount_total,
        items_net_total=items_net_total,
        charge_total=charge_total,
        tax_total=tax_total,
        tax_included_total=tax_included,
        tax_excluded_total=tax_excluded,
        total_amount_exclude_tax=exclude_tax,
        round_off=adjustment,
        total_amount_include_tax=payable + adjustment,
    )
