"""Property tests: the invariants of docs/pricing.md hold for any catalog and cart.

Hypothesis generates Rista-shaped catalogs (random prices with at most two
decimals, realistic GST rates, inclusive and exclusive items, option sets,
charges of both kinds at both levels, automatic discounts of both kinds at both
levels, denyDiscount items) and valid carts for them, then checks the
arithmetic that must never drift.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.pricing import CartLine, CartOption, CatalogIndex, Quote, quote_cart
from catalog.pricing.models import TaxType
from catalog.pricing.money import allocate, included_tax_of, round_money
from catalog.pricing.taxes import compute_taxes
from catalog.tests.catalog_builders import at

D = Decimal
CENT = D("0.01")
MODES = ["Pickup", "Delivery", "Others"]

# Realistic Indian GST: intra-state CGST+SGST halves, or one rate (IGST-like, or 0%).
HALF_RATES = (2.5, 6, 9, 14)
WHOLE_RATES = (0, 5, 12, 18, 28)
TAX_TYPES = (
    [{"taxTypeId": f"cgst-{r}", "name": f"CGST{r}", "percentage": r} for r in HALF_RATES]
    + [{"taxTypeId": f"sgst-{r}", "name": f"SGST{r}", "percentage": r} for r in HALF_RATES]
    + [{"taxTypeId": f"igst-{r}", "name": f"IGST{r}", "percentage": r} for r in WHOLE_RATES]
)
TAX_IDS = [t["taxTypeId"] for t in TAX_TYPES]
PERCENT_BY_ID = {t["taxTypeId"]: D(str(t["percentage"])) for t in TAX_TYPES}

gst_pairs = st.sampled_from(HALF_RATES).map(lambda r: [f"cgst-{r}", f"sgst-{r}"])
tax_sets = st.one_of(
    gst_pairs,
    st.sampled_from(WHOLE_RATES).map(lambda r: [f"igst-{r}"]),
    st.lists(st.sampled_from(TAX_IDS), unique=True, max_size=3),
)


def money(low: int, high: int) -> st.SearchStrategy[float]:
    """Rupee amounts with at most two decimals, as JSON would carry them (floats)."""
    return st.integers(low * 100, high * 100).map(lambda paise: paise / 100)


percentages = st.integers(0, 10000).map(lambda hundredths: hundredths / 100)


def subset(draw: st.DrawFn, values: list[str]) -> list[str]:
    return draw(st.lists(st.sampled_from(values), unique=True)) if values else []


@st.composite
def priced_carts(draw: st.DrawFn, taxes: st.SearchStrategy[list[str]] = tax_sets,
                 ) -> tuple[dict[str, Any], list[CartLine], str, bool]:
    n_items = draw(st.integers(1, 6))
    item_ids = [f"item-{i}" for i in range(n_items)]

    option_sets = []
    for s in range(draw(st.integers(0, 2))):
        options = [
            {"optionId": f"opt-{s}-{k}", "optionName": f"Option {s}.{k}", "price": draw(money(0, 150)),
             "max": draw(st.integers(1, 3)), "isDefault": False,
             "itemId": draw(st.sampled_from([f"opt-item-{s}-{k}", *item_ids]))}
            for k in range(draw(st.integers(1, 3)))
        ]
        option_sets.append({"optionSetId": f"set-{s}", "name": f"Set {s}", "options": options,
                            "min": draw(st.sampled_from([None, 0, 1])),
                            "max": draw(st.sampled_from([None, 10]))})

    charges = []
    for c in range(draw(st.integers(0, 3))):
        apply_at = draw(st.sampled_from(["Item", "Order"]))
        charge_type = draw(st.sampled_from(["Absolute", "Percentage"]))
        charges.append({
            "chargeId": f"charge-{c}", "name": f"Charge {c}", "applyAt": apply_at, "chargeType": charge_type,
            "chargeRate": draw(money(0, 60)) if charge_type == "Absolute" else draw(percentages),
            "applicableModes": draw(st.lists(st.sampled_from(MODES), unique=True, min_size=1)),
            "taxTypeIds": draw(taxes), "isIncludesTax": draw(st.booleans()),
            "minOrderAmount": draw(st.none() | money(0, 1500)) if apply_at == "Order" else None,
        })
    item_charge_ids = [c["chargeId"] for c in charges if c["applyAt"] == "Item"]

    set_ids = [s["optionSetId"] for s in option_sets]
    items = [
        {"skuCode": f"sku-{i}", "itemId": item_ids[i], "itemName": f"Item {i}", "type": "Simple",
         "categoryId": draw(st.sampled_from(["cat-a", "cat-b"])), "price": draw(money(0, 2500)),
         "taxTypeIds": draw(taxes), "isPriceIncludesTax": draw(st.booleans()),
         "denyDiscount": draw(st.booleans()), "optionSetIds": subset(draw, set_ids),
         "chargeIds": subset(draw, item_charge_ids), "status": "Active", "measuringUnit": "ea"}
        for i in range(n_items)
    ]

    discounts = []
    for d in range(draw(st.integers(0, 3))):
        discount_type = draw(st.sampled_from(["Absolute", "Percentage"]))
        level = draw(st.sampled_from(["items", "categories", "order"]))
        discounts.append({
            "discountId": f"disc-{d}", "discountCode": f"D{d}", "mode": "Auto", "discountType": discount_type,
            "discountRate": draw(money(0, 300)) if discount_type == "Absolute" else draw(percentages),
            "itemIds": subset(draw, item_ids) if level == "items" else [],
            "categoryIds": subset(draw, ["cat-a", "cat-b"]) if level == "categories" else [],
            "minOrderAmount": draw(st.none() | money(0, 3000)),
            "maxDiscountAmount": draw(st.none() | money(0, 500)),
        })

    doc = {"taxTypes": TAX_TYPES, "items": items, "optionSets": option_sets, "charges": charges,
           "discounts": discounts}

    sets_by_id = {s["optionSetId"]: s for s in option_sets}
    cart = []
    for _ in range(draw(st.integers(1, 6))):
        entry = draw(st.sampled_from(items))
        chosen = []
        for set_id in entry["optionSetIds"]:
            option_set = sets_by_id[set_id]
            picks = draw(st.lists(st.sampled_from(option_set["options"]), unique_by=lambda o: o["optionId"],
                                  min_size=option_set["min"] or 0, max_size=len(option_set["options"])))
            chosen += [CartOption(option_id=o["optionId"], quantity=draw(st.integers(1, o["max"])))
                       for o in picks]
        cart.append(CartLine(sku=entry["skuCode"], quantity=draw(st.integers(1, 25)), options=tuple(chosen)))
    return doc, cart, draw(st.sampled_from([*MODES, "DineIn"])), draw(st.booleans())


def price(doc: dict[str, Any], cart: list[CartLine], mode: str, round_off: bool) -> Quote:
    return quote_cart(index=CatalogIndex.from_document(doc), lines=cart, charge_mode=mode, now=at(),
                      round_off=round_off)


def money_values(value: Any, key: str = "") -> list[tuple[str, Decimal]]:
    """Every Decimal in a to_dict() tree except rates/percentages (which are not money)."""
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in money_values(v, k)]
    if isinstance(value, list):
        return [pair for v in value for pair in money_values(v, key)]
    if isinstance(value, Decimal) and key not in ("rate", "percentage"):
        return [(key, value)]
    return []


def total(values: Any) -> Decimal:
    return sum(values, D("0"))


def assert_equal_rates_equal_amounts(taxes: Any) -> None:
    """On one line or charge, taxes with the same percentage have the same amount (CGST == SGST)."""
    by_rate: dict[Decimal, set[Decimal]] = {}
    for tax in taxes:
        by_rate.setdefault(tax.percentage, set()).add(tax.amount)
    assert all(len(amounts) == 1 for amounts in by_rate.values()), by_rate


@settings(max_examples=200, deadline=None, database=None)
@given(priced_carts())
def test_totals_add_up_to_the_paisa(case):
    doc, cart, mode, round_off = case
    q = price(doc, cart, mode, round_off)

    # The bill.
    assert q.total_amount_include_tax == q.items_net_total + q.charge_total + q.tax_total + q.round_off
    assert q.total_amount_exclude_tax == q.items_net_total + q.charge_total
    assert q.items_net_total == total(ln.net_amount for ln in q.lines)
    assert q.charge_total == total(c.amount for c in q.charges)
    if round_off:
        assert q.total_amount_include_tax == q.total_amount_include_tax.to_integral_value()
        assert abs(q.round_off) <= D("0.50")
    else:
        assert q.round_off == 0

    # Taxes: per type == per line + per charge; CGST/SGST summaries add up to the tax total.
    line_taxes = total(ln.tax_amount for ln in q.lines)
    charge_taxes = total(c.tax_amount for c in q.charges)
    assert total(t.amount for t in q.taxes) == q.tax_total == line_taxes + charge_taxes
    assert q.tax_total == q.tax_included_total + q.tax_excluded_total
    for summary in q.taxes:
        assert summary.amount == (summary.items_included + summary.items_excluded + summary.charges_included
                                  + summary.charges_excluded)
        per_line = [t for ln in q.lines for t in ln.taxes if t.tax_type_id == summary.tax_type_id]
        per_charge = [t for c in q.charges for t in c.taxes if t.tax_type_id == summary.tax_type_id]
        assert summary.items_included == total(t.amount for t in per_line if t.included)
        assert summary.items_excluded == total(t.amount for t in per_line if not t.included)
        assert summary.charges_included == total(t.amount for t in per_charge if t.included)
        assert summary.charges_excluded == total(t.amount for t in per_charge if not t.included)
    present = {summary.tax_type_id for summary in q.taxes}
    assert [summary.tax_type_id for summary in q.taxes] == [i for i in TAX_IDS if i in present]

    # Lines: gross, discount, net and tax.
    for ln in q.lines:
        assert ln.gross_amount == ln.item_amount + ln.option_amount
        assert ln.option_amount == total(o.amount for o in ln.options)
        assert ln.discount_amount == ln.item_discount_amount + ln.order_discount_amount
        assert ln.discount_amount == total(d.amount for d in ln.discounts)
        assert ln.discount_amount <= ln.gross_amount
        base = ln.gross_amount - ln.discount_amount
        if ln.price_includes_tax:
            assert ln.net_amount + ln.tax_amount == base  # the customer pays exactly the menu price
            assert ln.tax_excluded_amount == 0
        else:
            assert ln.net_amount == base
            assert ln.tax_included_amount == 0
        assert ln.total_amount == ln.net_amount + ln.tax_amount
        assert ln.tax_amount == total(t.amount for t in ln.taxes)
    for charge in q.charges:
        assert charge.total_amount == charge.amount + charge.tax_amount > 0
    for taxed in (*q.lines, *q.charges):
        assert_equal_rates_equal_amounts(taxed.taxes)

    # Discounts: reported per line and per discount, consistently.
    assert q.subtotal == total(ln.gross_amount for ln in q.lines)
    assert q.subtotal - q.discount_total == total(ln.gross_amount - ln.discount_amount for ln in q.lines)
    assert q.discount_total == total(d.amount for d in q.discounts)
    assert q.item_discount_total == total(d.amount for d in q.discounts if d.level == "Item")
    assert q.order_discount_total == total(d.amount for d in q.discounts if d.level == "Order")

    # Nothing negative (except the signed round-off), every amount in whole paise.
    for key, value in money_values(q.to_dict()):
        assert value == value.quantize(CENT), (key, value)
        if key != "round_off":
            assert value >= 0, (key, value)


@settings(max_examples=200, deadline=None, database=None)
@given(priced_carts(), st.randoms(use_true_random=False))
def test_same_input_same_output_and_merge_order_does_not_matter(case, rnd: random.Random):
    doc, cart, mode, round_off = case
    first = price(doc, cart, mode, round_off)
    assert price(doc, cart, mode, round_off).to_dict() == first.to_dict()

    # Split every line into unit lines with shuffled options; keep the first
    # occurrence of each distinct line where it was and scatter the repeats after it.
    firsts, repeats = [], []
    for ln in cart:
        options = list(ln.options)
        rnd.shuffle(options)
        units = [CartLine(sku=ln.sku, quantity=1, options=tuple(options)) for _ in range(ln.quantity)]
        firsts.append(units[0])
        repeats.extend(units[1:])
    scattered = list(firsts)
    for unit in repeats:
        key = (unit.sku, unit.option_key())
        first_at = next(i for i, x in enumerate(scattered) if (x.sku, x.option_key()) == key)
        scattered.insert(rnd.randint(first_at + 1, len(scattered)), unit)
    assert price(doc, scattered, mode, round_off).to_dict() == first.to_dict()


@settings(max_examples=200, deadline=None, database=None)
@given(priced_carts(taxes=gst_pairs))
def test_equal_rates_give_equal_cgst_and_sgst_on_every_line_and_on_the_bill(case):
    """Intra-state GST (every item and charge taxed CGST r% + SGST r%): equal halves everywhere.

    Holds for exclusive and inclusive prices, discounts, options and charges alike:
    on every line and charge, and so on the bill, CGST r% == SGST r% to the paisa.
    """
    doc, cart, mode, round_off = case
    q = price(doc, cart, mode, round_off)
    for taxed in (*q.lines, *q.charges):
        assert len(taxed.taxes) == 2
        cgst, sgst = taxed.taxes
        assert cgst.percentage == sgst.percentage
        assert (cgst.amount, cgst.taxable_amount) == (sgst.amount, sgst.taxable_amount)
    summaries = {t.tax_type_id: t for t in q.taxes}
    for rate in HALF_RATES:
        cgst, sgst = summaries.get(f"cgst-{rate}"), summaries.get(f"sgst-{rate}")
        assert (cgst is None) == (sgst is None)
        if cgst is not None and sgst is not None:
            assert cgst.amount == sgst.amount and cgst.taxable_amount == sgst.taxable_amount
            assert (cgst.items_included, cgst.items_excluded, cgst.charges_included, cgst.charges_excluded) == (
                sgst.items_included, sgst.items_excluded, sgst.charges_included, sgst.charges_excluded)


@settings(max_examples=200, deadline=None, database=None)
@given(price_paise=st.integers(1, 500_000), taxes=tax_sets, quantity=st.integers(1, 50))
def test_inclusive_price_matches_its_exclusive_twin(price_paise, taxes, quantity):
    """What we assert, precisely (docs/pricing.md, "Inclusive prices"):

    For an inclusive item at P (taxes with total rate T, n of them with a non-zero
    rate) and an exclusive twin priced at N = round(P x 100 / (100 + T)), both with
    the same tax types:
    1. with quantity 1, the inclusive line's net is within max(1, n) paise of N (one
       paisa for CGST+SGST), each of its taxes is within one paisa of the twin's tax
       of the same type, and the payable amounts differ by at most one paisa per
       tax type with a non-zero rate;
    2. with any quantity q, each tax is exactly round(P x q x pct / (100 + T)), the
       net is P x q minus the taxes (so net + taxes == P x q), the net is within
       max(1, n) paise of round(P x q x 100 / (100 + T)), and each tax is within one
       paisa of round(net x pct / 100).
    """
    p = D(price_paise) / 100
    total_rate = total(PERCENT_BY_ID[t] for t in taxes)
    taxed = sum(1 for t in taxes if PERCENT_BY_ID[t] > 0)
    n = round_money(p * 100 / (100 + total_rate))
    doc = {"taxTypes": TAX_TYPES, "items": [
        {"skuCode": "incl", "itemName": "Inclusive", "price": float(p), "taxTypeIds": taxes,
         "isPriceIncludesTax": True},
        {"skuCode": "excl", "itemName": "Exclusive twin", "price": float(n), "taxTypeIds": taxes},
    ]}
    index = CatalogIndex.from_document(doc)

    def single(sku: str, qty: int) -> Any:
        q = quote_cart(index=index, lines=[CartLine(sku=sku, quantity=qty)], charge_mode="Pickup", now=at())
        return q

    incl, excl = single("incl", 1), single("excl", 1)
    assert excl.lines[0].net_amount == n
    assert abs(incl.lines[0].net_amount - n) <= CENT * max(1, taxed)
    for a, b in zip(incl.lines[0].taxes, excl.lines[0].taxes, strict=True):
        assert a.tax_type_id == b.tax_type_id and abs(a.amount - b.amount) <= CENT
    assert abs(incl.total_amount_include_tax - excl.total_amount_include_tax) <= CENT * taxed
    assert incl.total_amount_include_tax == p

    (line,) = single("incl", quantity).lines
    gross = p * quantity
    for tax in line.taxes:
        assert tax.amount == round_money(gross * tax.percentage / (100 + total_rate))
        assert abs(tax.amount - round_money(line.net_amount * tax.percentage / 100)) <= CENT
        assert tax.amount >= 0 and tax.taxable_amount == line.net_amount
    assert line.net_amount == gross - line.tax_amount
    assert abs(line.net_amount - round_money(gross * 100 / (100 + total_rate))) <= CENT * max(1, taxed)


@settings(max_examples=300, deadline=None, database=None)
@given(base_paise=st.integers(0, 10_000_000),
       rates=st.lists(st.sampled_from([0, 2.5, 5, 6, 9, 12, 14, 18, 28]), max_size=4))
def test_inclusive_split_is_exact_and_never_negative(base_paise, rates):
    """Each tax is its own share of the price, rounded once; the taxable value takes the rest."""
    base = D(base_paise) / 100
    tax_types = [TaxType(tax_type_id=str(i), name=f"T{i}", percentage=D(str(r))) for i, r in enumerate(rates)]
    total_rate = total(t.percentage for t in tax_types)
    net, taxes = compute_taxes(base, tax_types, included=True)
    assert net + total(t.amount for t in taxes) == base
    assert net >= 0 and all(t.amount >= 0 for t in taxes)
    for tax in taxes:
        assert tax.amount == included_tax_of(base, tax.percentage, total_rate)
        assert abs(tax.amount - round_money(net * tax.percentage / 100)) <= CENT
        assert tax.percentage > 0 or tax.amount == 0
    assert_equal_rates_equal_amounts(taxes)


@settings(max_examples=300, deadline=None, database=None)
@given(weights=st.lists(st.integers(0, 1_000_000), min_size=1, max_size=8), data=st.data())
def test_allocation_is_exact_proportional_and_bounded(weights, data):
    weight_sum = sum(weights)
    amount_paise = data.draw(st.integers(0, weight_sum)) if weight_sum else 0
    shares = allocate(D(amount_paise) / 100, [D(w) / 100 for w in weights])
    assert sum(shares) == D(amount_paise) / 100
    for share, weight in zip(shares, weights, strict=True):
        assert 0 <= share <= D(weight) / 100
        if weight_sum:
            exact = D(amount_paise) * weight / weight_sum / 100
            assert abs(share - exact) < CENT
