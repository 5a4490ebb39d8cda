"""The parsed catalog: what the engine needs from a Rista ``Catalog`` document.

Field names follow Rista's (protocols.md §2.2) in snake_case; numbers are
already ``Decimal``; optional lists are empty tuples, never None. All classes
are frozen: an index is shared between requests (cached per catalog ETag).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from catalog.pricing.schedules import TimeWindow

# Rista enums we act on (anything else is refused at parse time or skipped, see index.py).
APPLY_AT_ITEM = "Item"
APPLY_AT_ORDER = "Order"
ABSOLUTE = "Absolute"
PERCENTAGE = "Percentage"
MODE_AUTO = "Auto"
SELLABLE_TYPES = frozenset({"Simple", "Variant"})


@dataclass(frozen=True, slots=True)
class TaxType:
    tax_type_id: str
    name: str
    percentage: Decimal


@dataclass(frozen=True, slots=True)
class SchedulePrice:
    schedule_id: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class CatalogItem:
    item_id: str
    sku: str
    name: str
    type: str  # Simple | Group | Variant | Option
    category_id: str | None
    price: Decimal | None  # None for Group/Option items that Rista prices only through options
    schedule_prices: tuple[SchedulePrice, ...]
    tax_type_ids: tuple[str, ...]  # only ids present in taxTypes (unknown ones dropped with a warning)
    charge_ids: frozenset[str]
    option_set_ids: tuple[str, ...]  # only ids present in optionSets
    schedule_ids: tuple[str, ...]  # only ids present in schedules
    price_includes_tax: bool
    deny_discount: bool
    inactive: bool
    measuring_unit: str | None
    item_nature: str | None

    @property
    def sellable_alone(self) -> bool:
        """Can the kiosk order this SKU as a line? Simple/Variant always; others only if priced."""
        return self.price is not None


@dataclass(frozen=True, slots=True)
class OptionChoice:
    option_id: str
    option_set_id: str
    item_id: str | None  # Rista: reference to items/itemId (the option's own SKU)
    name: str
    price: Decimal
    max_quantity: int  # per unit of the parent item; Rista default 1
    is_default: bool


@dataclass(frozen=True, slots=True)
class OptionSet:
    option_set_id: str
    name: str
    min_selections: int  # 0 = optional
    max_selections: int | None  # None = no limit
    options: tuple[OptionChoice, ...]

    def option(self, option_id: str) -> OptionChoice | None:
        for choice in self.options:
            if choice.option_id == option_id:
                return choice
        return None


@dataclass(frozen=True, slots=True)
class Charge:
    charge_id: str
    name: str
    apply_at: str  # Item | Order
    charge_type: str  # Absolute | Percentage
    rate: Decimal
    applicable_modes: frozenset[str]  # Pickup | Delivery | Others
    min_order_amount: Decimal | None  # Order charges only: waived at or above this
    tax_type_ids: tuple[str, ...]
    includes_tax: bool


@dataclass(frozen=True, slots=True)
class Discount:
    discount_id: str
    code: str
    description: str | None
    discount_type: str  # Absolute | Percentage (| BuyX... which are never applied)
    mode: str  # Auto | Coupon
    rate: Decimal | None
    window: TimeWindow
    membership_ids: tuple[str, ...]
    min_order_amount: Decimal | None
    max_discount_amount: Decimal | None
    item_ids: frozenset[str]
    category_ids: frozenset[str]
    unsupported_reason: str | None  # why the engine never applies it (None = it may apply)

    @property
    def is_item_level(self) -> bool:
        return bool(self.item_ids or self.category_ids)

    def matches(self, item: CatalogItem) -> bool:
        return item.item_id in self.item_ids or (
            item.category_id is not None and item.category_id in self.category_ids
        )
