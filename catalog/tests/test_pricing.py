"""The pricing engine, rule by rule, on the real Rista sample catalog (docs/pricing.md).

Pure Python: no Django settings, no database.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

import pytest

from catalog.pricing import (
    CartLine,
    CartOption,
    CatalogIndex,
    InvalidOptions,
    ItemNotFound,
    ItemUnavailable,
    Quote,
    quote_cart,
    validate_catalog_document,
)
from catalog.tests.catalog_builders import (
    CATEGORY_COFFEE,
    CATEGORY_IDLI,
    CGST,
    GST5,
    GST18,
    PC_CHARGE_ID,
    SGST,
    add_charge,
    add_discount,
    add_items,
    add_option_set,
    add_schedule,
    at,
    business_hours,
    index_of,
    item,
    item_id_of,
    line,
    make_item,
    make_option,
    mark_sold_out,
    sample_catalog,
    update_item,
    without_charges,
)

D = Decimal


def quote(doc: dict, *lines: CartLine, mode: str = "Pickup", now=None, round_off: bool = False) -> Quote:
    return quote_cart(index=index_of(doc), lines=list(lines), charge_mode=mode, now=now or at(),
                      round_off=round_off)


def taxes_of(entry) -> dict[str, Decimal]:
    return {tax.name: tax.amount for tax in entry.taxes}


# --- the brief's worked example --------------------------------------------------------------------


def test_worked_example_from_the_brief():
    q = quote(sample_catalog(), line("1", 2), line("9", 1), mode="Pickup")

    assert q.subtotal == D("290.00")
    assert [t.name for t in q.taxes] == ["CGST", "SGST"]
    assert taxes_of(q) == {"CGST": D("7.25"), "SGST": D("7.25")}
    assert [(c.name, c.amount, c.tax_amount) for c in q.charges] == [("PC", D("20.00"), D("0.00"))]
    assert q.total_amount_exclude_tax == D("310.00")
    assert q.total_amount_include_tax == D("324.50")
    assert q.round_off == D("0.00")
    assert q.tax_total == D("14.50")
    assert q.items_net_total == D("290.00")
    assert q.charge_total == D("20.00")

    dose, idli = q.lines
    assert (dose.sku, dose.name, dose.quantity, dose.unit_price) == ("1", "Davanagere Benne Sada Dose", 2,
                                                                     D("110.00"))
    assert (dose.item_amount, dose.gross_amount, dose.net_amount) == (D("220.00"), D("220.00"), D("220.00"))
    assert taxes_of(dose) == {"CGST": D("5.50"), "SGST": D("5.50")}
    assert dose.total_amount == D("231.00")
    assert all(not t.included for t in dose.taxes)
    assert taxes_of(idli) == {"CGST": D("1.75"), "SGST": D("1.75")}
    assert (q.taxes[0].items_excluded, q.taxes[0].items_included) == (D("7.25"), D("0.00"))


def test_worked_example_in_mode_others_also_charges_pc():
    q = quote(sample_catalog(), line("1", 2), line("9"), mode="Others")
    assert [c.charge_id for c in q.charges] == [PC_CHARGE_ID]
    assert q.total_amount_include_tax == D("324.50")


@pytest.mark.parametrize("mode", ["Pickup", "DineIn"])
def test_charge_is_skipped_when_the_mode_is_not_applicable(mode):
    doc = sample_catalog()
    doc["charges"][0]["applicableModes"] = ["Delivery"]
    q = quote(doc, line("1", 2), line("9"), mode=mode)
    assert q.charges == ()
    assert q.charge_total == D("0.00")
    assert q.total_amount_include_tax == D("304.50")
    assert quote(doc, line("1", 2), line("9"), mode="Delivery").total_amount_include_tax == D("324.50")


def test_to_dict_is_plain_data_with_decimals():
    data = quote(sample_catalog(), line("1", 2, note="less oil"), line("9")).to_dict()
    assert isinstance(data["lines"], list) and isinstance(data["lines"][0], dict)
    assert isinstance(data["lines"][0]["taxes"], list)
    assert data["lines"][0]["note"] == "less oil"
    assert data["total_amount_include_tax"] == D("324.50")
    assert isinstance(data["taxes"][0]["amount"], Decimal)
    assert set(data["lines"][0]) >= {
        "sku", "item_id", "name", "category_id", "quantity", "unit_price", "options", "note", "item_amount",
        "option_amount", "gross_amount", "discount_amount", "net_amount", "taxes", "tax_amount",
        "total_amount", "price_includes_tax", "tax_included_amount", "tax_excluded_amount",
        "measuring_unit", "item_nature",
    }
    assert set(data["charges"][0]) >= {"charge_id", "name", "type", "rate", "apply_at", "sku", "amount",
                                       "taxes", "tax_amount", "includes_tax"}
    assert set(data["taxes"][0]) >= {"tax_type_id", "name", "percentage", "amount", "items_included",
                                     "items_excluded", "charges_included", "charges_excluded"}


# --- tax-inclusive prices ------------------------------------------------------------------------


def test_inclusive_item_extracts_taxes_from_the_price():
    doc = add_items(sample_catalog(), make_item("500", 105, inclusive=True))
    q = quote(doc, line("500"))
    (ln,) = q.lines
    assert ln.price_includes_tax is True
    assert ln.gross_amount == D("105.00")
    assert ln.net_amount == D("100.00")
    assert taxes_of(ln) == {"CGST": D("2.50"), "SGST": D("2.50")}
    assert all(t.included for t in ln.taxes)
    assert (ln.tax_included_amount, ln.tax_excluded_amount) == (D("5.00"), D("0.00"))
    assert ln.total_amount == D("105.00")
    assert q.items_net_total == D("100.00")
    assert q.total_amount_exclude_tax == D("120.00")  # + PC 20
    assert q.total_amount_include_tax == D("125.00")  # the customer pays the menu price + PC
    assert (q.tax_included_total, q.tax_excluded_total) == (D("5.00"), D("0.00"))
    assert (q.taxes[0].items_included, q.taxes[0].items_excluded) == (D("2.50"), D("0.00"))


@pytest.mark.parametrize(("price", "net", "cgst", "sgst"), [
    # Each tax is round(price x 2.5 / 105); the taxable value is what is left, so the paisa that rounding
    # leaves over is the taxable value's, and CGST == SGST always.
    ("33.33", "31.75", "0.79", "0.79"),  # round(31.742857) would be 31.74; 31.74 + 0.79 + 0.79 = 33.32
    (120, "114.28", "2.86", "2.86"),  # 2.857143 -> 2.86 twice; 114.29 + 5.72 would be 120.01
    (90, "85.72", "2.14", "2.14"),  # 2.142857 -> 2.14 twice; 85.71 + 4.28 would be 89.99
    (105, "100.00", "2.50", "2.50"),  # exact
])
def test_inclusive_taxes_are_equal_halves_and_the_paisa_goes_to_the_taxable_value(price, net, cgst, sgst):
    doc = add_items(sample_catalog(), make_item("500", float(price), inclusive=True))
    q = quote(doc, line("500"))
    (ln,) = q.lines
    assert ln.net_amount == D(net)
    assert taxes_of(ln) == {"CGST": D(cgst), "SGST": D(sgst)}
    assert all(t.taxable_amount == D(net) for t in ln.taxes)
    assert ln.net_amount + ln.tax_amount == D(str(price))
    assert ln.total_amount == D(str(price))
    cgst_total, sgst_total = q.taxes  # the bill shows equal halves too
    assert cgst_total.amount == sgst_total.amount == D(cgst)
    assert cgst_total.taxable_amount == sgst_total.taxable_amount == D(net)


def test_mixed_inclusive_and_exclusive_lines():
    doc = add_items(sample_catalog(), make_item("500", 105, inclusive=True))
    q = quote(doc, line("1", 2), line("500"))
    cgst, sgst = q.taxes
    assert (cgst.items_excluded, cgst.items_included, cgst.amount) == (D("5.50"), D("2.50"), D("8.00"))
    assert (sgst.items_excluded, sgst.items_included, sgst.amount) == (D("5.50"), D("2.50"), D("8.00"))
    assert q.subtotal == D("325.00")
    assert q.items_net_total == D("320.00")
    assert q.tax_total == D("16.00")
    assert q.total_amount_exclude_tax == D("340.00")
    assert q.total_amount_include_tax == D("356.00")  # 220 + 11 (tax on top) + 105 (tax inside) + 20


def test_items_without_tax_types_and_unknown_tax_ids(caplog):
    doc = sample_catalog()
    update_item(doc, "9", taxTypeIds=[CGST, "no-such-tax", SGST])
    with caplog.at_level(logging.WARNING, logger="catalog.pricing"):
        index = CatalogIndex.from_document(doc)
    assert "no-such-tax" in caplog.text
    q = quote_cart(index=index, lines=[line("9"), line("73")], charge_mode="Pickup", now=at())
    idli, dose = q.lines
    assert taxes_of(idli) == {"CGST": D("1.75"), "SGST": D("1.75")}
    assert dose.taxes == () and dose.tax_amount == D("0.00") and dose.total_amount == D("150.00")


# --- options -------------------------------------------------------------------------------------


def _doc_with_options() -> dict:
    doc = sample_catalog()
    add_option_set(doc, "extras", [
        make_option("ghee", 20, name="Extra ghee", max=2),
        make_option("chutney", 10, name="Extra chutney"),
        make_option("idli-side", 35, name="Side idli", item_id=item_id_of(doc, "9")),
    ], max=3, for_skus=["1"])
    add_option_set(doc, "spice", [make_option("mild", 0), make_option("hot", 0)], min=1, max=1,
                   for_skus=["2"])
    add_option_set(doc, "unlinked", [make_option("orphan", 5)])
    return doc


def test_options_are_priced_per_unit_and_taxed_with_the_item():
    q = quote(_doc_with_options(), line("1", 2, ("ghee", 2), "chutney"))
    (ln,) = q.lines
    # (20 x 2 + 10) per dose, 2 doses
    assert ln.option_amount == D("100.00")
    assert ln.item_amount == D("220.00")
    assert ln.gross_amount == D("320.00")
    assert taxes_of(ln) == {"CGST": D("8.00"), "SGST": D("8.00")}
    ghee, chutney = ln.options
    assert (ghee.option_id, ghee.option_set_id, ghee.name, ghee.sku) == ("ghee", "extras", "Extra ghee",
                                                                        "ghee")
    assert (ghee.unit_price, ghee.quantity, ghee.total_quantity) == (D("20.00"), 2, 4)
    assert ghee.amount == D("80.00")
    assert (chutney.quantity, chutney.amount) == (1, D("20.00"))
    assert q.total_amount_include_tax == D("356.00")  # 320 + 16 + PC 20


def test_option_referencing_an_item_uses_that_items_sku_and_menu_order():
    q = quote(_doc_with_options(), line("1", 1, "idli-side", "ghee"))
    assert [(o.option_id, o.sku) for o in q.lines[0].options] == [("ghee", "ghee"), ("idli-side", "9")]


def test_required_option_set_without_a_choice_is_refused():
    with pytest.raises(InvalidOptions) as err:
        quote(_doc_with_options(), line("2"))
    assert err.value.code == "INVALID_OPTIONS" and err.value.status_code == 422
    (problem,) = err.value.details["problems"]
    assert problem.pop("message")
    assert problem == {"line": 0, "sku": "2", "code": "below_min", "option_set_id": "spice", "min": 1,
                       "selected": 0}
    assert quote(_doc_with_options(), line("2", 1, "hot")).lines[0].option_amount == D("0.00")


def test_every_option_problem_is_listed_at_once():
    doc = _doc_with_options()
    with pytest.raises(InvalidOptions) as err:
        quote(doc, line("1", 1, ("ghee", 3), "nope", "orphan"), line("2", 1, "mild", "hot"))
    codes = [(p["line"], p["code"], p.get("option_id") or p.get("option_set_id"))
             for p in err.value.details["problems"]]
    assert codes == [
        (0, "option_quantity_above_max", "ghee"),
        (0, "unknown_option", "nope"),
        (0, "option_not_allowed", "orphan"),
        (1, "above_max", "spice"),
    ]


def test_option_set_max_counts_option_quantities():
    with pytest.raises(InvalidOptions) as err:
        quote(_doc_with_options(), line("1", 1, ("ghee", 2), "chutney", "idli-side"))
    (problem,) = err.value.details["problems"]
    assert (problem["code"], problem["max"], problem["selected"]) == ("above_max", 3, 4)


def test_option_whose_item_is_sold_out_is_refused():
    doc = mark_sold_out(_doc_with_options(), "9")
    with pytest.raises(InvalidOptions) as err:
        quote(doc, line("1", 1, "idli-side"))
    assert err.value.details["problems"][0]["code"] == "option_sold_out"


def test_options_on_an_item_without_option_sets_are_refused():
    with pytest.raises(InvalidOptions) as err:
        quote(_doc_with_options(), line("9", 1, "ghee"))
    assert err.value.details["problems"][0]["code"] == "option_not_allowed"


# --- merging repeated lines ----------------------------------------------------------------------


def test_repeated_skus_with_identical_options_are_merged():
    doc = _doc_with_options()
    q = quote(doc, line("1", 1, "ghee", "chutney", note="less oil"), line("9", 2),
              line("1", 2, "chutney", "ghee", note="extra crispy"), line("9", 1, note=""),
              line("1", 1, "ghee", note="less oil"))
    assert [(ln.sku, ln.quantity, ln.note) for ln in q.lines] == [
        ("1", 3, "less oil; extra crispy"), ("9", 3, None), ("1", 1, "less oil"),
    ]
    assert q.lines[0].option_amount == D("90.00")


def test_an_option_listed_twice_counts_as_its_quantity():
    q = quote(_doc_with_options(), line("1", 1, "ghee", "ghee"), line("1", 1, ("ghee", 2)))
    (ln,) = q.lines
    assert ln.quantity == 2 and ln.options[0].quantity == 2


def test_merging_does_not_change_totals():
    doc = sample_catalog()
    split = quote(doc, line("1"), line("9"), line("1"))
    merged = quote(doc, line("1", 2), line("9"))
    assert split.to_dict() == merged.to_dict()


# --- unknown and unavailable items ---------------------------------------------------------------


def test_unknown_skus_are_all_listed_once():
    with pytest.raises(ItemNotFound) as err:
        quote(sample_catalog(), line("404"), line("1"), line("405"), line("404", 2, note="x"))
    assert err.value.code == "ITEM_NOT_FOUND" and err.value.status_code == 422
    assert err.value.details == {"skus": ["404", "405"]}
    assert err.value.as_envelope()["error"]["details"] == {"skus": ["404", "405"]}


def test_unknown_skus_are_reported_before_unavailable_items():
    doc = update_item(sample_catalog(), "9", status="Inactive")
    with pytest.raises(ItemNotFound):
        quote(doc, line("9"), line("404"))


def test_a_group_item_without_price_is_not_orderable_alone():
    doc = add_items(sample_catalog(), make_item("G1", None, type="Group"))
    with pytest.raises(ItemNotFound) as err:
        quote(doc, line("G1"))
    assert err.value.details == {"skus": ["G1"]}


def test_every_unavailable_item_is_listed_with_its_reason():
    doc = sample_catalog()
    update_item(doc, "2", status="Inactive")
    mark_sold_out(doc, "9", "27")
    add_schedule(doc, "breakfast", days={"Mon": [("07:00", "11:00")]}, for_skus=["12"])
    with pytest.raises(ItemUnavailable) as err:
        quote(doc, line("1"), line("2"), line("9"), line("12"), line("9", 2, note="again"), now=at(hour=12))
    assert err.value.code == "ITEM_UNAVAILABLE" and err.value.status_code == 409
    assert err.value.details == {"items": [
        {"sku": "2", "name": "Davanagere Benne Masala Dose", "reason": "inactive"},
        {"sku": "9", "name": "Idli Chutney", "reason": "sold_out"},
        {"sku": "12", "name": "Ghee Pudi Thatte Idli", "reason": "out_of_schedule"},
    ]}


def _breakfast_doc() -> dict:
    doc = sample_catalog()
    add_schedule(doc, "breakfast", days={"Mon": [("07:00", "11:00")], "Tue": [("07:00", "11:00")]},
                 for_skus=["12"])
    add_schedule(doc, "late", days={"Fri": [("22:00", "02:00")]}, for_skus=["27"])
    add_schedule(doc, "weekend", days={"Sat": [], "Sun": []}, for_skus=["28"])
    add_schedule(doc, "january", start_date="2025-01-10", end_date="2025-01-20", for_skus=["76"])
    return doc


def _available(doc: dict, sku: str, now) -> bool:
    try:
        quote(doc, line(sku), now=now)
    except ItemUnavailable as err:
        assert err.details["items"][0]["reason"] == "out_of_schedule"
        return False
    return True


# 2025-01-06 is a Monday; 2025-01-10 a Friday.
@pytest.mark.parametrize(("sku", "now", "expected"), [
    ("12", at(day=6, hour=7, minute=0), True),  # slot start is inclusive
    ("12", at(day=6, hour=10, minute=59), True),
    ("12", at(day=6, hour=11, minute=0), False),  # slot end is exclusive
    ("12", at(day=8, hour=8), False),  # Wednesday is not listed
    ("27", at(day=10, hour=23, minute=30), True),  # Fri 22:00-02:00 ...
    ("27", at(day=11, hour=1, minute=59), True),  # ... wraps into Saturday morning
    ("27", at(day=11, hour=2, minute=0), False),
    ("27", at(day=10, hour=1, minute=0), False),  # Friday early morning belongs to Thursday (not listed)
    ("27", at(day=10, hour=21, minute=59), False),
    ("28", at(day=11, hour=0, minute=0), True),  # listed day with no slots = all day
    ("28", at(day=12, hour=23, minute=59), True),
    ("28", at(day=10, hour=12), False),
    ("76", at(day=9, hour=23, minute=59), False),  # date range, both ends inclusive
    ("76", at(day=10, hour=0, minute=0), True),
    ("76", at(day=20, hour=23, minute=59), True),
    ("76", at(day=21, hour=0, minute=0), False),
])
def test_schedules(sku, now, expected):
    assert _available(_breakfast_doc(), sku, now) is expected


def test_wrapped_slot_belongs_to_the_day_it_starts_on_for_the_date_range():
    doc = sample_catalog()
    add_schedule(doc, "late", days={"Fri": [("22:00", "02:00")], "Sat": [("22:00", "02:00")]},
                 end_date="2025-01-10", for_skus=["27"])
    assert _available(doc, "27", at(day=11, hour=1)) is True  # Friday 10th's slot, still in range
    assert _available(doc, "27", at(day=11, hour=23)) is False  # Saturday 11th is past endDate


def test_item_in_any_of_several_schedules_is_available():
    doc = sample_catalog()
    add_schedule(doc, "am", days={"Mon": [("07:00", "11:00")]}, for_skus=["12"])
    add_schedule(doc, "pm", days={"Mon": [("17:00", "21:00")]}, for_skus=["12"])
    assert _available(doc, "12", at(hour=18)) is True
    assert _available(doc, "12", at(hour=14)) is False


def test_schedule_price_applies_while_its_schedule_is_active():
    doc = sample_catalog()
    add_schedule(doc, "happy", days={"Mon": [("15:00", "17:00")]})
    update_item(doc, "1", schedulePrices=[{"scheduleId": "happy", "price": 99}])
    assert quote(doc, line("1"), now=at(hour=16)).lines[0].unit_price == D("99.00")
    assert quote(doc, line("1"), now=at(hour=12)).lines[0].unit_price == D("110.00")


def test_now_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        quote(sample_catalog(), line("1"), now=at().replace(tzinfo=None))


def test_empty_cart_and_bad_quantities_are_programming_errors():
    with pytest.raises(ValueError):
        quote(sample_catalog())
    with pytest.raises(ValueError):
        CartLine(sku="1", quantity=0)
    with pytest.raises(ValueError):
        CartOption(option_id="x", quantity=0)


def test_large_quantities_are_exact():
    q = quote(sample_catalog(), line("9", 1_000_003))
    assert q.lines[0].gross_amount == D("70000210.00")
    assert taxes_of(q.lines[0]) == {"CGST": D("1750005.25"), "SGST": D("1750005.25")}


# --- discounts -----------------------------------------------------------------------------------


def test_item_level_percentage_discount():
    doc = add_discount(sample_catalog(), "dosa10", rate=10, item_ids=[item_id_of(sample_catalog(), "1")])
    q = quote(doc, line("1", 2), line("9"))
    dose, idli = q.lines
    assert (dose.discount_amount, dose.item_discount_amount, dose.net_amount) == (D("22.00"), D("22.00"),
                                                                                 D("198.00"))
    assert taxes_of(dose) == {"CGST": D("4.95"), "SGST": D("4.95")}
    assert idli.discount_amount == D("0.00")
    assert [(d.code, d.level, d.amount) for d in q.discounts] == [("DOSA10", "Item", D("22.00"))]
    assert [(d.discount_id, d.level, d.amount) for d in dose.discounts] == [("dosa10", "Item", D("22.00"))]
    assert q.discount_total == D("22.00")
    assert q.total_amount_include_tax == D("301.40")  # 198 + 9.90 + 70 + 3.50 + 20


def test_item_level_absolute_discount_is_per_unit_and_never_above_the_line():
    doc = sample_catalog()
    add_discount(doc, "flat15", rate=15, discount_type="Absolute", item_ids=[item_id_of(doc, "1")])
    add_discount(doc, "huge", rate=500, discount_type="Absolute", item_ids=[item_id_of(doc, "9")])
    dose, idli = quote(doc, line("1", 2), line("9", 1)).lines
    assert dose.discount_amount == D("30.00")
    assert (idli.discount_amount, idli.net_amount, idli.tax_amount) == (D("70.00"), D("0.00"), D("0.00"))


def test_category_discount_skips_deny_discount_items():
    doc = sample_catalog()
    update_item(doc, "10", denyDiscount=True)
    add_discount(doc, "idli20", rate=20, category_ids=[CATEGORY_IDLI])
    idli, ghee_idli, dose = quote(doc, line("9"), line("10"), line("1")).lines
    assert idli.discount_amount == D("14.00")
    assert ghee_idli.discount_amount == D("0.00")
    assert dose.discount_amount == D("0.00")


def test_item_level_percentage_is_capped_by_max_discount_amount_across_lines():
    doc = add_discount(sample_catalog(), "idli50", rate=50, category_ids=[CATEGORY_IDLI],
                       maxDiscountAmount=50)
    q = quote(doc, line("9"), line("10"))  # 35 + 45 uncapped = 80 -> 50, shared 35:45
    assert [ln.discount_amount for ln in q.lines] == [D("21.88"), D("28.12")]
    assert q.discount_total == D("50.00")


def test_order_level_percentage_discount_is_allocated_to_lines():
    doc = add_discount(sample_catalog(), "bill10", rate=10)
    q = quote(doc, line("1", 2), line("9"))
    dose, idli = q.lines
    assert (dose.order_discount_amount, idli.order_discount_amount) == (D("22.00"), D("7.00"))
    assert taxes_of(dose) == {"CGST": D("4.95"), "SGST": D("4.95")}
    assert taxes_of(idli) == {"CGST": D("1.58"), "SGST": D("1.58")}  # 63 x 2.5% = 1.575 -> 1.58
    assert [(d.level, d.amount) for d in q.discounts] == [("Order", D("29.00"))]
    assert q.items_net_total == D("261.00")
    assert q.tax_total == D("13.06")
    assert q.total_amount_include_tax == D("294.06")


def test_order_level_absolute_discount_is_allocated_to_the_paisa():
    doc = add_discount(sample_catalog(), "ten", rate=10, discount_type="Absolute")
    q = quote(doc, line("13"), line("14"), line("17"))  # three Rs 90 lines
    assert [ln.discount_amount for ln in q.lines] == [D("3.34"), D("3.33"), D("3.33")]  # tie -> first line
    assert q.discount_total == D("10.00")


def test_order_level_discount_minimum_and_caps():
    doc = sample_catalog()
    add_discount(doc, "big", rate=50, minOrderAmount=290, maxDiscountAmount=40)
    assert quote(doc, line("1", 2), line("9")).discount_total == D("40.00")  # 145 capped at 40
    assert quote(doc, line("1", 2)).discount_total == D("0.00")  # 220 < 290
    doc = add_discount(sample_catalog(), "more-than-the-bill", rate=1000, discount_type="Absolute")
    q = quote(doc, line("9"))
    assert q.discount_total == D("70.00") and q.items_net_total == D("0.00")
    assert q.total_amount_include_tax == D("20.00")  # only PC remains


def test_order_level_minimum_counts_only_discountable_lines_after_item_discounts():
    doc = sample_catalog()
    update_item(doc, "9", denyDiscount=True)
    add_discount(doc, "dose-flat", rate=20, discount_type="Absolute", item_ids=[item_id_of(doc, "1")])
    add_discount(doc, "bill5", rate=5, minOrderAmount=200)
    q = quote(doc, line("1", 2), line("9", 3))  # eligible: 220 - 40 = 180 < 200
    assert [d.discount_id for d in q.discounts] == ["dose-flat"]
    q = quote(doc, line("1", 3), line("9"))  # eligible: 330 - 60 = 270
    assert [(d.discount_id, d.amount) for d in q.discounts] == [("dose-flat", D("60.00")),
                                                                 ("bill5", D("13.50"))]
    assert q.lines[1].discount_amount == D("0.00")


def test_discounts_stack_in_catalog_order_and_never_exceed_a_line():
    doc = sample_catalog()
    dose_id = item_id_of(doc, "1")
    add_discount(doc, "bill10", rate=10)  # order-level: applied after every item-level discount
    add_discount(doc, "flat100", rate=100, discount_type="Absolute", item_ids=[dose_id])
    add_discount(doc, "half", rate=50, item_ids=[dose_id])
    (dose,) = quote(doc, line("1")).lines
    # 100 off, then 50% of 110 = 55 capped at the 10 left, then 10% of what remains (0)
    assert [(d.discount_id, d.amount) for d in dose.discounts] == [("flat100", D("100.00")),
                                                                    ("half", D("10.00"))]
    assert dose.net_amount == D("0.00")


def test_discount_on_an_inclusive_item_reduces_the_price_that_taxes_are_extracted_from():
    doc = add_items(sample_catalog(), make_item("500", 105, inclusive=True))
    add_discount(doc, "bill10", rate=10)
    (ln,) = quote(doc, line("500")).lines
    assert ln.discount_amount == D("10.50")
    assert ln.net_amount + ln.tax_amount == D("94.50")
    assert ln.net_amount == D("90.00")


def test_unsupported_and_out_of_window_discounts_are_skipped(caplog):
    doc = sample_catalog()
    add_discount(doc, "coupon", rate=10, mode="Coupon")
    add_discount(doc, "bogo", rate=None, discount_type="BuyXGetY", BuyXGetY={"x": 1, "y": 1})
    add_discount(doc, "members", rate=10, membershipIds=["gold"])
    add_discount(doc, "expired", rate=10, startDate="2024-01-01", endDate="2024-12-31")
    add_discount(doc, "future", rate=10, startDate="2025-02-01")
    add_discount(doc, "not-today", rate=10, excludedDates=["2025-01-06"])
    add_discount(doc, "evenings", rate=10, discountHours=business_hours({"Mon": [("17:00", "23:00")]}))
    with caplog.at_level(logging.INFO, logger="catalog.pricing"):
        index = CatalogIndex.from_document(doc)
    assert "coupon" in caplog.text and "bogo" in caplog.text and "members" in caplog.text
    q = quote_cart(index=index, lines=[line("1", 2), line("9")], charge_mode="Pickup", now=at(hour=12))
    assert q.discounts == () and q.total_amount_include_tax == D("324.50")
    q = quote_cart(index=index, lines=[line("1", 2), line("9")], charge_mode="Pickup", now=at(hour=18))
    assert [d.discount_id for d in q.discounts] == ["evenings"]


# --- charges -------------------------------------------------------------------------------------


def test_item_level_absolute_charge_per_unit():
    doc = add_charge(sample_catalog(), "box", rate=5, apply_at="Item", for_skus=["9"], name="Container")
    q = quote(doc, line("1", 2), line("9", 3))
    pc, box = q.charges
    assert pc.charge_id == PC_CHARGE_ID
    assert (box.name, box.apply_at, box.sku, box.type, box.rate) == ("Container", "Item", "9", "Absolute",
                                                                     D("5"))
    assert box.amount == D("15.00")
    assert q.charge_total == D("35.00")


def test_item_level_percentage_charge_with_tax_on_top():
    doc = add_charge(sample_catalog(), "svc", rate=10, charge_type="Percentage", apply_at="Item",
                     taxes=GST18, for_skus=["1"])
    q = quote(doc, line("1", 2), line("9"))
    (svc,) = [c for c in q.charges if c.charge_id == "svc"]
    assert svc.amount == D("22.00")
    assert taxes_of(svc) == {"CGST9": D("1.98"), "SGST9": D("1.98")}
    assert (svc.tax_excluded_amount, svc.total_amount) == (D("3.96"), D("25.96"))
    assert [t.name for t in q.taxes] == ["CGST", "SGST", "CGST9", "SGST9"]
    assert q.taxes[2].charges_excluded == D("1.98")
    assert q.total_amount_include_tax == D("324.50") + D("25.96")


def test_order_level_percentage_charge_on_items_net_after_discounts():
    doc = add_charge(without_charges(sample_catalog()), "svc", rate=5, charge_type="Percentage")
    add_discount(doc, "bill10", rate=10)
    q = quote(doc, line("1", 2), line("9"))
    assert q.items_net_total == D("261.00")
    assert q.charges[0].amount == D("13.05")


def test_inclusive_charge_taxes_are_extracted():
    doc = sample_catalog()
    doc["charges"][0].update(taxTypeIds=list(GST5), isIncludesTax=True)
    q = quote(doc, line("1", 2), line("9"))
    (pc,) = q.charges
    assert pc.includes_tax is True
    assert pc.amount == D("19.04")  # 20 - 0.48 - 0.48: the taxable value takes the rounding
    assert taxes_of(pc) == {"CGST": D("0.48"), "SGST": D("0.48")}
    assert pc.total_amount == D("20.00")
    assert q.charge_total == D("19.04")
    assert (q.taxes[0].charges_included, q.taxes[1].charges_included) == (D("0.48"), D("0.48"))
    assert q.total_amount_include_tax == D("324.50")  # the customer still pays Rs 20 for PC


def test_exclusive_charge_taxes_are_added():
    doc = sample_catalog()
    doc["charges"][0].update(taxTypeIds=list(GST18))
    q = quote(doc, line("1", 2), line("9"))
    assert q.charges[0].tax_amount == D("3.60")
    assert q.total_amount_include_tax == D("328.10")


def test_order_charge_is_waived_at_min_order_amount():
    doc = add_charge(without_charges(sample_catalog()), "delivery", rate=40, modes=["Delivery"],
                     min_order_amount=300)
    assert quote(doc, line("1", 2), line("9"), mode="Delivery").charge_total == D("40.00")  # 290 < 300
    assert quote(doc, line("1", 2), line("4"), mode="Delivery").charges == ()  # 340 >= 300
    assert quote(doc, line("1", 2), line("9"), mode="Pickup").charges == ()


# --- round-off -----------------------------------------------------------------------------------


def test_round_off_to_the_nearest_rupee():
    q = quote(sample_catalog(), line("1", 2), line("9"), round_off=True)
    assert q.round_off == D("0.50")
    assert q.total_amount_include_tax == D("325.00")
    assert q.total_amount_exclude_tax == D("310.00")  # round-off is not part of the taxable amounts


def test_round_off_rounds_down_below_half():
    doc = add_items(sample_catalog(), make_item("500", 100.49, taxes=()))
    q = quote(doc, line("500"), round_off=True)
    assert q.round_off == D("-0.49")
    assert q.total_amount_include_tax == D("120.00")
    assert quote(doc, line("500")).total_amount_include_tax == D("120.49")


# --- catalog validation --------------------------------------------------------------------------


def _broken(mutate) -> dict:
    doc = sample_catalog()
    mutate(doc)
    return doc


@pytest.mark.parametrize(("doc", "message"), [
    ([], "JSON object"),
    ({"taxTypes": []}, "items"),
    ({"items": {"1": {}}}, "items"),
    (_broken(lambda d: d["items"][0].pop("skuCode")), r"items\[0\].skuCode"),
    (_broken(lambda d: d["items"][3].update(itemName=None)), r"items\[3\].itemName"),
    (_broken(lambda d: d["items"][1].update(price="140")), r"items\[1\].price must be a number"),
    (_broken(lambda d: d["items"][1].pop("price")), r"items\[1\].price"),
    (_broken(lambda d: d["items"][1].update(price=-1)), "negative"),
    (_broken(lambda d: d["items"].append("oops")), "must be an object"),
    (_broken(lambda d: d["taxTypes"][0].update(percentage="2.5")), r"taxTypes\[0\].percentage"),
    (_broken(lambda d: d["charges"][0].update(applyAt="Bill")), r"charges\[0\].applyAt"),
    (_broken(lambda d: d["charges"][0].update(chargeRate=None)), r"charges\[0\].chargeRate"),
    (_broken(lambda d: d["items"].append(dict(d["items"][0]))), "duplicate skuCode '1'"),
    (_broken(lambda d: d.update(soldOutSkuCodes="9")), "soldOutSkuCodes"),
    (_broken(lambda d: add_discount(d, "bad", rate="ten")), r"discounts\[0\].discountRate"),
    (_broken(lambda d: add_schedule(d, "s", days={"Mon": [("7am", "11:00")]})), "HH:MM"),
])
def test_unusable_catalogs_raise_value_error(doc, message):
    with pytest.raises(ValueError, match=message):
        validate_catalog_document(doc)
    with pytest.raises(ValueError, match=message):
        CatalogIndex.from_document(doc)


def test_sample_catalog_is_valid_and_indexed():
    doc = sample_catalog()
    validate_catalog_document(doc)
    index = CatalogIndex.from_document(doc)
    assert len(index.items) == 33
    assert index.item_by_sku("9").name == "Idli Chutney"
    assert index.item_by_id("6868ca5d4fda6eabd33ccba2").sku == "1"
    assert list(index.tax_types)[:2] == [CGST, SGST]
    assert index.sold_out_skus == frozenset()


def test_optional_fields_may_be_absent_or_null_and_extra_fields_are_ignored():
    doc = {
        "items": [
            {"skuCode": 7, "itemName": "Plain", "price": 50, "taxTypeIds": None, "chargeIds": None,
             "optionSetIds": None, "scheduleIds": None, "isPriceIncludesTax": None, "denyDiscount": None,
             "status": None, "itemNature": None, "somethingNew": {"x": 1}},
            {"skuCode": "8", "itemName": "Minimal", "price": 12.5},
        ],
        "taxTypes": None, "charges": None, "discounts": None, "optionSets": None, "schedules": None,
        "futureKey": [1, 2, 3], "soldOutSkuCodes": None,
    }
    index = CatalogIndex.from_document(doc)
    q = quote_cart(index=index, lines=[line("7", 2), line("8")], charge_mode="Pickup", now=at())
    assert q.total_amount_include_tax == D("112.50")
    assert q.lines[0].item_id == "7"  # no itemId: the SKU stands in


def test_sold_out_list_from_the_cache_accepts_numbers():
    doc = sample_catalog()
    doc["soldOutSkuCodes"] = [9, "27"]
    assert CatalogIndex.from_document(doc).sold_out_skus == frozenset({"9", "27"})


# --- determinism and speed -----------------------------------------------------------------------


def _everything_doc() -> dict:
    doc = _doc_with_options()
    add_items(doc, make_item("500", 105, inclusive=True, category_id=CATEGORY_COFFEE))
    add_discount(doc, "coffee5", rate=5, category_ids=[CATEGORY_COFFEE])
    add_discount(doc, "bill3", rate=3)
    add_charge(doc, "box", rate=2.5, apply_at="Item", for_skus=["9", "500"], taxes=GST5, includes_tax=True)
    return doc


def test_same_input_gives_identical_output():
    doc = _everything_doc()
    cart = [line("1", 2, "ghee", "chutney", note="less oil"), line("9", 3), line("500", 2), line("27")]
    first = quote_cart(index=CatalogIndex.from_document(doc), lines=cart, charge_mode="Pickup", now=at())
    second = quote_cart(index=CatalogIndex.from_document(doc), lines=cart, charge_mode="Pickup", now=at())
    assert first == second
    assert first.to_dict() == second.to_dict()
    assert repr(first.to_dict()) == repr(second.to_dict())


def test_index_and_quote_are_fast_enough():
    # Budgets from the brief (<5 ms parse, <1 ms per 10-line quote) with a wide margin for slow CI.
    doc = sample_catalog()
    started = time.perf_counter()
    for _ in range(20):
        index = CatalogIndex.from_document(doc)
    assert (time.perf_counter() - started) / 20 < 0.025
    cart = [line(entry["skuCode"], 2) for entry in doc["items"][:10]]
    started = time.perf_counter()
    for _ in range(100):
        quote_cart(index=index, lines=cart, charge_mode="Pickup", now=at())
    assert (time.perf_counter() - started) / 100 < 0.005


def test_item_helper_finds_sample_items():
    assert item(sample_catalog(), "1")["price"] == 110



def test_errors_survive_pickling_and_copying():
    import copy
    import pickle

    errors = (
        ItemNotFound(["404"]),
        ItemUnavailable([{"sku": "9", "name": "Idli", "reason": "sold_out"}]),
        InvalidOptions([{"line": 0, "sku": "1", "code": "unknown_option", "message": "x"}]),
    )
    for error in errors:
        for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error)):  # noqa: S301 - our own bytes
            assert (type(clone), clone.code, clone.status_code, clone.details) == (
                type(error), error.code, error.status_code, error.details)
