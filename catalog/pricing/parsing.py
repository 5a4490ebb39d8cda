"""Rista ``Catalog`` JSON → the frozen models of ``catalog.pricing.models``.

Tolerant where Rista is optional, strict where money is at stake:

* absent/null optional fields take Rista's documented defaults; unknown extra
  fields are ignored;
* anything we would have to *guess* a price, a rate or a tax percentage for
  raises ``ValueError`` naming the field (``items[3].price must be a number``),
  because the cache uses this to refuse a bad upstream answer and keep serving
  the last good catalog rather than charging wrong amounts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from catalog.pricing.models import (
    ABSOLUTE,
    APPLY_AT_ITEM,
    APPLY_AT_ORDER,
    MODE_AUTO,
    PERCENTAGE,
    SELLABLE_TYPES,
    CatalogItem,
    Charge,
    Discount,
    OptionChoice,
    OptionSet,
    SchedulePrice,
    TaxType,
)
from catalog.pricing.money import PAISA, to_decimal
from catalog.pricing.schedules import TimeWindow, parse_business_hours, parse_date, parse_dates

logger = logging.getLogger(__name__)


def list_field(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where}.{key} must be a list, got {type(value).__name__}")
    return value


def objects(obj: dict[str, Any], key: str, where: str) -> Iterable[tuple[str, dict[str, Any]]]:
    for i, entry in enumerate(list_field(obj, key, where)):
        path = f"{key}[{i}]" if where == "catalog" else f"{where}.{key}[{i}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{path} must be an object, got {type(entry).__name__}")
        yield path, entry


def required_str(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    # skuCode is a string in Rista ("1"); a bare number is accepted and stringified.
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise ValueError(f"{where}.{key} is required (a non-empty string), got {value!r}")
    return str(value)


def optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return None if value is None or value == "" else str(value)


def id_list(obj: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    return tuple(str(v) for v in list_field(obj, key, where) if v is not None and v != "")


def flag(obj: dict[str, Any], key: str) -> bool:
    # Rista booleans; absent/null means false (the documented default for every flag we read).
    return obj.get(key) is True


def non_negative(obj: dict[str, Any], key: str, where: str) -> Decimal:
    number = to_decimal(obj.get(key), field=f"{where}.{key}")
    if number < 0:
        raise ValueError(f"{where}.{key} must not be negative, got {obj.get(key)!r}")
    return number


def price_of(obj: dict[str, Any], key: str, where: str) -> Decimal:
    """A catalog price; shown with two decimals (110 -> 110.00) when that changes nothing.

    A price with fractions of a paisa is kept exact: the engine rounds the
    amounts computed from it (``unit price x quantity``), never the price itself.
    """
    number = non_negative(obj, key, where)
    as_money = number.quantize(PAISA)
    return as_money if as_money == number else number


def optional_amount(obj: dict[str, Any], key: str, where: str) -> Decimal | None:
    return None if obj.get(key) is None else non_negative(obj, key, where)


def optional_count(obj: dict[str, Any], key: str, where: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    number = to_decimal(value, field=f"{where}.{key}")
    if number != number.to_integral_value():
        raise ValueError(f"{where}.{key} must be a whole number, got {value!r}")
    return int(number)


def known(ids: Iterable[str], valid: dict[str, Any], *, what: str, owner: str) -> tuple[str, ...]:
    """Keep the ids the catalog defines; warn once about the others (Rista data drift)."""
    ids = tuple(ids)
    unknown = [i for i in ids if i not in valid]
    if unknown:
        logger.warning("pricing: %s refers to unknown %s %s; ignored", owner, what, unknown)
    return tuple(i for i in ids if i in valid)


def parse_tax_type(raw: dict[str, Any], where: str) -> TaxType:
    return TaxType(
        tax_type_id=required_str(raw, "taxTypeId", where),
        name=optional_str(raw, "name") or required_str(raw, "taxTypeId", where),
        percentage=non_negative(raw, "percentage", where),
    )


def parse_item(raw: dict[str, Any], where: str, *, tax_types: dict[str, TaxType],
               option_sets: dict[str, Any], schedules: dict[str, Any],
               charges: dict[str, Charge]) -> CatalogItem:
    sku = required_str(raw, "skuCode", where)
    name = required_str(raw, "itemName", where)
    item_type = optional_str(raw, "type") or "Simple"  # type is required by Rista; absent = plain item
    # Rista: price is "present only for type = Simple/Variant", so it is mandatory
    # there; Group/Option items may carry one (then they can be sold alone).
    price = None
    if item_type in SELLABLE_TYPES or raw.get("price") is not None:
        price = price_of(raw, "price", where)
    schedule_prices = []
    for path, entry in objects(raw, "schedulePrices", where):
        schedule_prices.append(SchedulePrice(
            schedule_id=required_str(entry, "scheduleId", path),
            price=price_of(entry, "price", path),
        ))
    owner = f"item sku {sku}"
    status = (optional_str(raw, "status") or "Active").lower()
    return CatalogItem(
        item_id=optional_str(raw, "itemId") or sku,
        sku=sku,
        name=name,
        type=item_type,
        category_id=optional_str(raw, "categoryId"),
        price=price,
        schedule_prices=tuple(p for p in schedule_prices if p.schedule_id in schedules),
        tax_type_ids=known(id_list(raw, "taxTypeIds", where), tax_types, what="tax types", owner=owner),
        charge_ids=frozenset(known(id_list(raw, "chargeIds", where), charges, what="charges", owner=owner)),
        option_set_ids=known(id_list(raw, "optionSetIds", where), option_sets, what="option sets",
                             owner=owner),
        schedule_ids=known(id_list(raw, "scheduleIds", where), schedules, what="schedules", owner=owner),
        price_includes_tax=flag(raw, "isPriceIncludesTax"),
        deny_discount=flag(raw, "denyDiscount"),
        inactive=status == "inactive",
        measuring_unit=optional_str(raw, "measuringUnit"),
        item_nature=optional_str(raw, "itemNature"),
    )


def parse_option_set(raw: dict[str, Any], where: str) -> OptionSet:
    set_id = required_str(raw, "optionSetId", where)
    options = []
    for path, entry in objects(raw, "options", where):
        option_id = required_str(entry, "optionId", path)
        per_option_max = optional_count(entry, "max", path)
        options.append(OptionChoice(
            option_id=option_id,
            option_set_id=set_id,
            item_id=optional_str(entry, "itemId"),
            name=optional_str(entry, "optionName") or option_id,
            price=price_of(entry, "price", path),
            # Rista: "max (default 1)". Zero or less is no usable limit: fall back to the default.
            max_quantity=per_option_max if per_option_max and per_option_max > 0 else 1,
            is_default=flag(entry, "isDefault"),
        ))
    max_selections = optional_count(raw, "max", where)
    return OptionSet(
        option_set_id=set_id,
        name=optional_str(raw, "displayName") or optional_str(raw, "name") or set_id,
        min_selections=max(optional_count(raw, "min", where) or 0, 0),
        # A max of 0 would make the set unusable; Rista-style "0 = unlimited" is the only sane reading.
        max_selections=max_selections if max_selections and max_selections > 0 else None,
        options=tuple(options),
    )


def parse_charge(raw: dict[str, Any], where: str, *, tax_types: dict[str, TaxType]) -> Charge:
    charge_id = required_str(raw, "chargeId", where)
    apply_at = raw.get("applyAt")
    if apply_at not in (APPLY_AT_ITEM, APPLY_AT_ORDER):
        raise ValueError(f"{where}.applyAt must be Item or Order, got {apply_at!r}")
    charge_type = raw.get("chargeType")
    if charge_type not in (ABSOLUTE, PERCENTAGE):
        raise ValueError(f"{where}.chargeType must be Absolute or Percentage, got {charge_type!r}")
    return Charge(
        charge_id=charge_id,
        name=optional_str(raw, "name") or charge_id,
        apply_at=apply_at,
        charge_type=charge_type,
        rate=non_negative(raw, "chargeRate", where),
        applicable_modes=frozenset(id_list(raw, "applicableModes", where)),
        min_order_amount=optional_amount(raw, "minOrderAmount", where),
        tax_type_ids=known(id_list(raw, "taxTypeIds", where), tax_types, what="tax types",
                           owner=f"charge {charge_id}"),
        includes_tax=flag(raw, "isIncludesTax"),
    )


def parse_discount(raw: dict[str, Any], where: str) -> Discount:
    discount_id = required_str(raw, "discountId", where)
    discount_type = str(raw.get("discountType") or "")
    mode = str(raw.get("mode") or "")
    membership_ids = id_list(raw, "membershipIds", where)
    unsupported = None
    if mode != MODE_AUTO:
        unsupported = f"mode {mode or 'missing'} (only Auto discounts are applied)"
    elif discount_type not in (ABSOLUTE, PERCENTAGE):
        unsupported = f"discountType {discount_type or 'missing'} is not supported yet"
    elif membership_ids:
        unsupported = "membership discounts need a member; the kiosk has none"
    rate = None
    if unsupported is None:
        # Only discounts we would apply must have a usable rate; skipped ones are not read further.
        rate = non_negative(raw, "discountRate", where)
        window = TimeWindow(
            start_date=parse_date(raw.get("startDate"), field=f"{where}.startDate"),
            end_date=parse_date(raw.get("endDate"), field=f"{where}.endDate"),
            excluded_dates=parse_dates(raw.get("excludedDates"), field=f"{where}.excludedDates"),
            hours=parse_business_hours(raw.get("discountHours"), field=f"{where}.discountHours"),
        )
        min_order = optional_amount(raw, "minOrderAmount", where)
        max_amount = optional_amount(raw, "maxDiscountAmount", where)
    else:
        logger.info("pricing: discount %s (%s) skipped: %s", discount_id, raw.get("discountCode"),
                    unsupported)
        window, min_order, max_amount = TimeWindow(), None, None
    return Discount(
        discount_id=discount_id,
        code=optional_str(raw, "discountCode") or discount_id,
        description=optional_str(raw, "description"),
        discount_type=discount_type,
        mode=mode,
        rate=rate,
        window=window,
        membership_ids=membership_ids,
        min_order_amount=min_order,
        max_discount_amount=max_amount,
        item_ids=frozenset(id_list(raw, "itemIds", where)),
        category_ids=frozenset(id_list(raw, "categoryIds", where)),
        unsupported_reason=unsupported,
    )
