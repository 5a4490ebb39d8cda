"""Build test catalogs on top of the real Rista sample (sandbox/rista/data/catalog.json).

The sample has 33 items, CGST/SGST 2.5% (+ 6/9/14% pairs and VAT), one Order
charge "PC" of Rs 20 for Delivery/Pickup/Others, and no option sets, discounts
or schedules. These helpers add those in Rista's own JSON shape, so every test
also exercises the parser. Each helper mutates and returns the document it is
given; start from ``sample_catalog()``, which is a fresh deep copy every call.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from catalog.pricing import CartLine, CartOption, CatalogIndex

SAMPLE_PATH = Path(__file__).resolve().parents[2] / "sandbox" / "rista" / "data" / "catalog.json"
BRANCH_TZ = ZoneInfo("Asia/Kolkata")

# Tax type ids of the sample catalog.
CGST = "6868c05ede387c9d22a94396"
SGST = "6868c05ede387c9d22a94397"
CGST6, SGST6 = "6868c05ede387c9d22a94398", "6868c05ede387c9d22a94399"
CGST9, SGST9 = "6868c05ede387c9d22a9439a", "6868c05ede387c9d22a9439b"
CGST14, SGST14 = "6868c05ede387c9d22a9439c", "6868c05ede387c9d22a9439d"
VAT = "6868c05ede387c9d22a9439e"
GST5 = (CGST, SGST)
GST12 = (CGST6, SGST6)
GST18 = (CGST9, SGST9)
GST28 = (CGST14, SGST14)

PC_CHARGE_ID = "68f0e00a592b7cf3428c5f0e"
CATEGORY_IDLI = "6868ca5dc29c8ed4d3c98dd5"
CATEGORY_DAVANAGERE = "6868ca5dc29c8ed4d3c98dd3"
CATEGORY_COFFEE = "6868ca5dc29c8ed4d3c98dd8"


@lru_cache(maxsize=1)
def _sample_text() -> str:
    return SAMPLE_PATH.read_text(encoding="utf-8")


def sample_catalog() -> dict[str, Any]:
    """A fresh, private copy of the sample catalog document."""
    return copy.deepcopy(json.loads(_sample_text()))


def index_of(doc: dict[str, Any]) -> CatalogIndex:
    return CatalogIndex.from_document(doc)


def at(year: int = 2025, month: int = 1, day: int = 6, hour: int = 12, minute: int = 0) -> datetime:
    """An aware branch-local datetime; the default (Mon 2025-01-06 12:00 IST) is inside no special window."""
    return datetime(year, month, day, hour, minute, tzinfo=BRANCH_TZ)


def line(sku: str, quantity: int = 1, *options: tuple[str, int] | str, note: str | None = None) -> CartLine:
    """``line("1", 2, "opt-a", ("opt-b", 2))``: options as ids (quantity 1) or (id, quantity)."""
    parsed = tuple(
        CartOption(option_id=o) if isinstance(o, str) else CartOption(option_id=o[0], quantity=o[1])
        for o in options
    )
    return CartLine(sku=sku, quantity=quantity, options=parsed, note=note)


# --- items ---------------------------------------------------------------------------------------


def item(doc: dict[str, Any], sku: str) -> dict[str, Any]:
    for entry in doc["items"]:
        if entry["skuCode"] == sku:
            return entry
    raise KeyError(sku)


def item_id_of(doc: dict[str, Any], sku: str) -> str:
    return str(item(doc, sku)["itemId"])


def make_item(sku: str, price: float | int | str | None, *, name: str | None = None,
              taxes: Iterable[str] = GST5, inclusive: bool = False, category_id: str = CATEGORY_IDLI,
              **extra: Any) -> dict[str, Any]:
    """A Simple item shaped like the sample's (extra keys are Rista field names)."""
    entry: dict[str, Any] = {
        "categoryId": category_id, "chargeIds": [], "denyDiscount": False,
        "isPriceIncludesTax": inclusive, "itemId": f"item-{sku}", "itemName": name or f"Test item {sku}",
        "itemNature": "Goods", "measuringUnit": "ea", "price": price, "scheduleIds": [],
        "skuCode": sku, "status": "Active", "taxTypeIds": list(taxes), "type": "Simple",
    }
    entry.update(extra)
    return entry


def add_items(doc: dict[str, Any], *items: dict[str, Any]) -> dict[str, Any]:
    doc["items"].extend(items)
    return doc


def update_item(doc: dict[str, Any], sku: str, **fields: Any) -> dict[str, Any]:
    item(doc, sku).update(fields)
    return doc


def mark_sold_out(doc: dict[str, Any], *skus: str) -> dict[str, Any]:
    doc.setdefault("soldOutSkuCodes", []).extend(skus)
    return doc


# --- option sets ---------------------------------------------------------------------------------


def make_option(option_id: str, price: float | int, *, name: str | None = None, max: int | None = None,
                item_id: str | None = None, is_default: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"optionId": option_id, "optionName": name or f"Option {option_id}",
                             "price": price, "isDefault": is_default,
                             "itemId": item_id or f"opt-item-{option_id}"}
    if max is not None:
        entry["max"] = max
    return entry


def add_option_set(doc: dict[str, Any], set_id: str, options: list[dict[str, Any]], *,
                   min: int | None = None, max: int | None = None, name: str | None = None,
                   for_skus: Iterable[str] = ()) -> dict[str, Any]:
    option_set: dict[str, Any] = {"optionSetId": set_id, "name": name or f"Set {set_id}", "options": options}
    if min is not None:
        option_set["min"] = min
    if max is not None:
        option_set["max"] = max
    doc.setdefault("optionSets", []).append(option_set)
    for sku in for_skus:
        item(doc, sku).setdefault("optionSetIds", []).append(set_id)
    return doc


# --- schedules -----------------------------------------------------------------------------------


def business_hours(days: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    """``{"Mon": [("07:00", "11:00")], "Sun": []}`` → Rista BusinessHours."""
    return {"businessDays": [
        {"day": day, "slots": [{"startTime": start, "endTime": end} for start, end in slots]}
        for day, slots in days.items()
    ]}


def add_schedule(doc: dict[str, Any], schedule_id: str, *,
                 days: dict[str, list[tuple[str, str]]] | None = None, start_date: str | None = None,
                 end_date: str | None = None, for_skus: Iterable[str] = ()) -> dict[str, Any]:
    schedule: dict[str, Any] = {"scheduleId": schedule_id, "name": f"Schedule {schedule_id}"}
    if days is not None:
        schedule["itemHours"] = business_hours(days)
    if start_date:
        schedule["startDate"] = start_date
    if end_date:
        schedule["endDate"] = end_date
    doc.setdefault("schedules", []).append(schedule)
    for sku in for_skus:
        item(doc, sku).setdefault("scheduleIds", []).append(schedule_id)
    return doc


# --- discounts -----------------------------------------------------------------------------------


def add_discount(doc: dict[str, Any], discount_id: str, *, rate: float | int | str | None,
                 discount_type: str = "Percentage", mode: str = "Auto", item_ids: Iterable[str] = (),
                 category_ids: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    """A Rista discount; ``extra`` takes Rista field names (minOrderAmount, maxDiscountAmount, ...)."""
    discount: dict[str, Any] = {"discountId": discount_id, "discountCode": discount_id.upper(),
                                "description": f"Discount {discount_id}", "discountType": discount_type,
                                "mode": mode, "discountRate": rate, "itemIds": list(item_ids),
                                "categoryIds": list(category_ids)}
    discount.update(extra)
    doc.setdefault("discounts", []).append(discount)
    return doc


# --- charges -------------------------------------------------------------------------------------


def add_charge(doc: dict[str, Any], charge_id: str, *, rate: float | int, charge_type: str = "Absolute",
               apply_at: str = "Order", modes: Iterable[str] = ("Pickup", "Delivery", "Others"),
               taxes: Iterable[str] = (), includes_tax: bool = False, name: str | None = None,
               min_order_amount: float | int | None = None, for_skus: Iterable[str] = ()) -> dict[str, Any]:
    charge: dict[str, Any] = {"chargeId": charge_id, "name": name or charge_id.upper(), "applyAt": apply_at,
                              "applicableModes": list(modes), "chargeType": charge_type, "chargeRate": rate,
                              "isIncludesTax": includes_tax, "taxTypeIds": list(taxes)}
    if min_order_amount is not None:
        charge["minOrderAmount"] = min_order_amount
    doc["charges"].append(charge)
    for sku in for_skus:
        item(doc, sku).setdefault("chargeIds", []).append(charge_id)
    return doc


def without_charges(doc: dict[str, Any]) -> dict[str, Any]:
    doc["charges"] = []
    return doc
