"""A parsed, validated catalog with cheap lookups, built once per catalog version.

The orders path caches one ``CatalogIndex`` per catalog ETag, so parsing cost
is paid once per menu change, and ``quote_cart`` only does dictionary lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, localcontext
from types import MappingProxyType
from typing import Any

from catalog.pricing.models import CatalogItem, Charge, Discount, OptionChoice, OptionSet, TaxType
from catalog.pricing.money import MONEY_CONTEXT
from catalog.pricing.parsing import (
    list_field,
    objects,
    parse_charge,
    parse_discount,
    parse_item,
    parse_option_set,
    parse_tax_type,
)
from catalog.pricing.schedules import Schedule, parse_schedule

# Our cache adds this top-level key to Rista's document: SKUs sold out right now
# (from GET /items/soldout). It is not part of Rista's Catalog schema.
SOLD_OUT_KEY = "soldOutSkuCodes"

REASON_INACTIVE = "inactive"
REASON_SOLD_OUT = "sold_out"
REASON_OUT_OF_SCHEDULE = "out_of_schedule"


def _by_id(entries: list[Any], key: str, what: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entry in entries:
        entry_id = getattr(entry, key)
        if entry_id in result:
            raise ValueError(f"duplicate {what} {entry_id!r}")
        result[entry_id] = entry
    return result


class CatalogIndex:
    """Read-only view of one catalog document. Build with ``CatalogIndex.from_document``."""

    __slots__ = (
        "_by_item_id",
        "_by_sku",
        "_options_by_id",
        "charges",
        "discounts",
        "items",
        "option_sets",
        "schedules",
        "sold_out_skus",
        "tax_types",
    )

    def __init__(self, *, tax_types: Mapping[str, TaxType], charges: tuple[Charge, ...],
                 discounts: tuple[Discount, ...], option_sets: Mapping[str, OptionSet],
                 schedules: Mapping[str, Schedule], items: tuple[CatalogItem, ...],
                 sold_out_skus: frozenset[str]) -> None:
        self.tax_types = MappingProxyType(dict(tax_types))  # in the catalog's taxTypes order
        self.charges = charges  # in catalog order
        self.discounts = discounts  # in catalog order, including ones the engine skips
        self.option_sets = MappingProxyType(dict(option_sets))
        self.schedules = MappingProxyType(dict(schedules))
        self.items = items  # in catalog order
        self.sold_out_skus = sold_out_skus
        self._by_sku = {item.sku: item for item in items}
        self._by_item_id: dict[str, CatalogItem] = {}
        for item in items:
            self._by_item_id.setdefault(item.item_id, item)
        options: dict[str, OptionChoice] = {}
        for option_set in option_sets.values():
            for option in option_set.options:
                options.setdefault(option.option_id, option)
        self._options_by_id = options

    @classmethod
    def from_document(cls, doc: Any) -> CatalogIndex:
        """Parse and validate a Rista catalog (plus our ``soldOutSkuCodes``); ``ValueError`` if unusable."""
        with localcontext(MONEY_CONTEXT):
            return cls._parse(doc)

    @classmethod
    def _parse(cls, doc: Any) -> CatalogIndex:
        if not isinstance(doc, dict):
            raise ValueError(f"catalog must be a JSON object, got {type(doc).__name__}")
        if not isinstance(doc.get("items"), list):
            raise ValueError("catalog.items is missing or not a list")
        tax_types = _by_id([parse_tax_type(raw, path) for path, raw in objects(doc, "taxTypes", "catalog")],
                           "tax_type_id", "taxTypeId")
        charge_list = [parse_charge(raw, path, tax_types=tax_types)
                       for path, raw in objects(doc, "charges", "catalog")]
        charges = _by_id(charge_list, "charge_id", "chargeId")
        option_sets = _by_id(
            [parse_option_set(raw, path) for path, raw in objects(doc, "optionSets", "catalog")],
            "option_set_id", "optionSetId")
        schedules = _by_id(
            [parse_schedule(raw, where=path) for path, raw in objects(doc, "schedules", "catalog")],
            "schedule_id", "scheduleId")
        discounts = tuple(parse_discount(raw, path) for path, raw in objects(doc, "discounts", "catalog"))
        items = tuple(
            parse_item(raw, path, tax_types=tax_types, option_sets=option_sets, schedules=schedules,
                       charges=charges)
            for path, raw in objects(doc, "items", "catalog")
        )
        # skuCode is the key of every order line and of the Rista sale; two items
        # sharing one would make the price of a line ambiguous.
        _by_id(list(items), "sku", "skuCode")
        sold_out = frozenset(str(sku) for sku in list_field(doc, SOLD_OUT_KEY, "catalog") if sku is not None)
        return cls(tax_types=tax_types, charges=tuple(charge_list), discounts=discounts,
                   option_sets=option_sets, schedules=schedules, items=items, sold_out_skus=sold_out)

    # --- lookups ---------------------------------------------------------------------------------

    def item_by_sku(self, sku: str) -> CatalogItem | None:
        return self._by_sku.get(sku)

    def item_by_id(self, item_id: str) -> CatalogItem | None:
        return self._by_item_id.get(item_id)

    def option(self, option_id: str) -> OptionChoice | None:
        """The option with this id in any option set (the first set that defines it)."""
        return self._options_by_id.get(option_id)

    def tax_type(self, tax_type_id: str) -> TaxType | None:
        return self.tax_types.get(tax_type_id)

    def option_sku(self, option: OptionChoice) -> str:
        """The SKU a Rista sale uses for an option: its referenced item's skuCode, else its optionId."""
        item = self._by_item_id.get(option.item_id) if option.item_id else None
        return item.sku if item is not None else option.option_id

    # --- availability and schedule prices --------------------------------------------------------

    def unavailability_reason(self, item: CatalogItem, now: datetime) -> str | None:
        """Why the item cannot be sold at ``now`` (branch wall-clock), or None if it can."""
        if item.inactive:
            return REASON_INACTIVE
        if item.sku in self.sold_out_skus:
            return REASON_SOLD_OUT
        if item.schedule_ids and not any(self.schedules[s].is_active(now) for s in item.schedule_ids):
            return REASON_OUT_OF_SCHEDULE
        return None

    def price_at(self, item: CatalogItem, now: datetime) -> Decimal | None:
        """The item's unit price at ``now``: the first ``schedulePrices`` entry whose schedule is active."""
        for schedule_price in item.schedule_prices:
            if self.schedules[schedule_price.schedule_id].is_active(now):
                return schedule_price.price
        return item.price


def validate_catalog_document(doc: Any) -> None:
    """Raise ``ValueError`` (with a message naming the field) unless ``doc`` is a usable catalog."""
    CatalogIndex.from_document(doc)
