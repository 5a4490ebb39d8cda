"""The Rista sale for an order: Rista's formulas hold and every total equals what the customer paid.

Orders are placed through the kiosk API, priced by the real engine from a
catalog served by the Rista sandbox; the sale is built from the stored order.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings

from catalog.services import catalog_refresh
from catalog.tests import catalog_builders as cb
from kds_bridge.payload import SalePayloadError, sale_build, sale_to_wire
from kds_bridge.tests.conftest import PAYMENT_REFERENCE, control, money
from orders.models import Order

pytestmark = pytest.mark.django_db

ZERO = Decimal("0")


def sale_of(order: Order) -> dict[str, Any]:
    order.refresh_from_db()
    return sale_build(order=order, lines=list(order.lines.all()), payment_reference=order.payment_reference or None)


def total(values) -> Decimal:
    return sum(values, ZERO)


def assert_rista_formulas(sale: dict[str, Any], order: Order) -> None:
    """protocols.md §2.3, formula by formula, then against the order's stored totals."""
    for item in sale["items"]:
        assert item["itemAmount"] == item["quantity"] * item["unitPrice"]
        assert item["optionAmount"] == total(o["unitPrice"] * o["quantity"] for o in item["options"])
        assert item["discountAmount"] <= 0
        assert item["itemTotalAmount"] == item["itemAmount"] + item["optionAmount"] + item["discountAmount"]
        assert item["taxAmountIncluded"] == total(t["amountIncluded"] for t in item["taxes"])
        assert item["taxAmountExcluded"] == total(t["amountExcluded"] for t in item["taxes"])
        for tax in item["taxes"]:
            assert tax["amount"] == tax["amountIncluded"] + tax["amountExcluded"]
            assert ZERO in (tax["amountIncluded"], tax["amountExcluded"])
    charge_taxes = [t for c in sale["charges"] for t in c["taxes"]]
    assert sale["itemTotalAmount"] == total(i["itemTotalAmount"] for i in sale["items"])
    assert sale["chargeAmount"] == total(c["amount"] for c in sale["charges"])
    assert sale["discountAmount"] <= 0
    assert sale["discountAmount"] == total(d["amount"] for d in sale["discounts"])
    assert sale["taxAmountIncluded"] == total(i["taxAmountIncluded"] for i in sale["items"]) + total(
        t["amountIncluded"] for t in charge_taxes)
    assert sale["taxAmountExcluded"] == total(i["taxAmountExcluded"] for i in sale["items"]) + total(
        t["amountExcluded"] for t in charge_taxes)
    assert sale["billAmount"] == (sale["itemTotalAmount"] + sale["discountAmount"] + sale["chargeAmount"]
                                  + sale["taxAmountExcluded"])
    assert sale["billAmount"] == sale["netAmount"] + sale["netChargeAmount"] + sale["taxAmount"]
    assert sale["billRoundedAmount"] == sale["billAmount"] + sale["roundOffAmount"]
    assert sale["totalAmount"] == sale["billRoundedAmount"]
    assert total(t["amount"] for t in sale["taxes"]) == sale["taxAmount"]
    assert total(t["amountIncluded"] for t in sale["taxes"]) == sale["taxAmountIncluded"]
    assert total(t["amountExcluded"] for t in sale["taxes"]) == sale["taxAmountExcluded"]
    assert total(p["amount"] for p in sale["payments"]) == sale["totalAmount"]
    # ... and equal to the order, to the paisa.
    assert sale["totalAmount"] == order.total_amount_include_tax
    assert sale["billAmount"] == order.total_amount_include_tax - order.round_off
    assert sale["roundOffAmount"] == order.round_off
    assert sale["taxAmount"] == order.tax_total
    assert sale["netAmount"] == order.items_net_total
    assert sale["netChargeAmount"] == order.charge_total


def assert_wire_exact(sale: dict[str, Any]) -> None:
    """JSON numbers with at most two decimals that read back to the very same Decimals; no -0.0."""
    text = json.dumps(sale_to_wire(sale))
    assert "-0.0" not in text
    assert json.loads(text, parse_float=Decimal) == _as_json_decimals(sale)


def _as_json_decimals(value: Any) -> Any:
    if isinstance(value, Decimal):
        return Decimal(str(float(value)))
    if isinstance(value, dict):
        return {k: _as_json_decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json_decimals(v) for v in value]
    return value


def use_catalog(rista, doc: dict[str, Any]) -> None:
    control(rista, "PUT", "/_control/catalog", **doc)
    catalog_refresh(branch=settings.KIOSK_BRANCH_CODE, channel=settings.KIOSK_DEFAULT_CHANNEL)


def test_worked_example(paid_order, settings):
    settings.PUBLIC_BASE_URL = "https://kiosk.example.com"
    order, _ = paid_order()
    sale = sale_of(order)
    assert_rista_formulas(sale, order)
    assert_wire_exact(sale)

    assert sale["branchCode"] == "BLR01" and sale["channel"] == "Takeaway" and sale["status"] == "Open"
    assert sale["label"] == f"{order.order_number} Takeaway"
    assert sale["delivery"] == {"mode": "Pickup"}
    info = sale["sourceInfo"]
    assert info["invoiceNumber"] == f"BLR01-{order.business_day:%Y%m%d}-{order.order_number}"
    assert info["orderTransactionId"] == str(order.id)
    assert info["invoiceDate"].endswith("+00:00")
    assert info["source"] == settings.KDS_SALE_SOURCE
    assert info["callbackURL"] == "https://kiosk.example.com/api/v1/kds/webhook"
    assert info["callbackHeaders"] == {"X-Kiosk-Kds-Secret": settings.KDS_WEBHOOK_SECRET}

    dose, idli = sale["items"]
    assert (dose["shortName"], dose["skuCode"], dose["quantity"], dose["unitPrice"]) == (
        "Davanagere Benne Sada Dose", "1", 2, money("110.00"))
    assert (dose["itemAmount"], dose["itemTotalAmount"], dose["taxAmountExcluded"]) == (
        money("220.00"), money("220.00"), money("11.00"))
    assert [(t["name"], t["percentage"], t["saleAmount"], t["amountExcluded"]) for t in dose["taxes"]] == [
        ("CGST", money("2.5"), money("220.00"), money("5.50")), ("SGST", money("2.5"), money("220.00"),
                                                                money("5.50"))]
    assert idli["skuCode"] == "9" and idli["itemTotalAmount"] == money("70.00")
    assert sale["charges"] == [{"name": "PC", "type": "Absolute", "rate": money("20"), "saleAmount": money("290.00"),
                                "amount": money("20.00"), "isDirectCharge": False, "taxes": []}]
    assert [(t["name"], t["amount"]) for t in sale["taxes"]] == [("CGST", money("7.25")), ("SGST", money("7.25"))]
    assert (sale["itemTotalAmount"], sale["chargeAmount"], sale["discountAmount"], sale["taxAmountExcluded"],
            sale["billAmount"], sale["roundOffAmount"], sale["totalAmount"]) == (
        money("290.00"), money("20.00"), ZERO, money("14.50"), money("324.50"), ZERO, money("324.50"))
    assert sale["payments"] == [{"mode": "UPI", "amount": money("324.50"), "reference": PAYMENT_REFERENCE,
                                 "postedDate": sale["payments"][0]["postedDate"]}]
    assert sale["payments"][0]["postedDate"].endswith("+05:30")  # branch time zone, as Rista asks


def test_inclusive_price_options_order_discount_and_taxed_inclusive_charge(rista, paid_order):
    doc = cb.sample_catalog()
    cb.add_items(doc, cb.make_item("T120", 120, name="Ghee Podi Idli", inclusive=True))
    cb.add_option_set(doc, "extras", [cb.make_option("ghee", 20, name="Extra ghee", max=2),
                                      cb.make_option("chutney", 10, name="Extra chutney")], max=3, for_skus=["1"])
    cb.add_discount(doc, "tenoff", rate=10)
    doc["charges"][0].update(isIncludesTax=True, taxTypeIds=list(cb.GST5))
    use_catalog(rista, doc)
    order, _ = paid_order({"order_mode": "takeaway", "items": [
        {"item_sku_id": "T120", "quantity": 1, "note": "less spicy"},
        {"item_sku_id": "1", "quantity": 2, "options": [{"option_id": "ghee", "quantity": 2},
                                                         {"option_id": "chutney"}]},
        {"item_sku_id": "9", "quantity": 1},
    ]})
    assert order.discount_total > 0 and order.tax_total > 0
    sale = sale_of(order)
    assert_rista_formulas(sale, order)
    assert_wire_exact(sale)

    inclusive, dose, _ = sale["items"]
    assert inclusive["note"] == "less spicy"
    assert inclusive["taxAmountIncluded"] > 0 and inclusive["taxAmountExcluded"] == 0
    assert all(t["amountExcluded"] == 0 for t in inclusive["taxes"])
    assert dose["options"] == [
        {"name": "Extra ghee", "optionId": "ghee", "skuCode": "ghee", "quantity": 4, "unitPrice": money("20.00")},
        {"name": "Extra chutney", "optionId": "chutney", "skuCode": "chutney", "quantity": 2,
         "unitPrice": money("10.00")},
    ]
    assert dose["optionAmount"] == money("100.00")
    # An order-level discount is the bill's (sale-level); items carry none.
    assert all(i["discountAmount"] == 0 for i in sale["items"])
    assert sale["discountAmount"] == -order.discount_total
    assert sale["discounts"][0]["type"] == "Percentage" and sale["discounts"][0]["rate"] == money("10")
    # The inclusive charge costs 20.00 as charged; its tax is inside.
    (charge,) = sale["charges"]
    assert charge["amount"] == money("20.00")
    # round(20 x 2.5 / 105) = 0.48 for CGST and for SGST: equal halves, the taxable value takes the paisa.
    assert [t["amountIncluded"] for t in charge["taxes"]] == [money("0.48"), money("0.48")]
    assert [t["saleAmount"] for t in charge["taxes"]] == [money("19.04"), money("19.04")]


def test_item_level_discount_dine_in_with_round_off(rista, paid_order, settings):
    settings.ORDER_ROUND_OFF = True
    doc = cb.sample_catalog()
    cb.add_discount(doc, "idli20", rate=20, category_ids=[cb.CATEGORY_IDLI], maxDiscountAmount=25)
    use_catalog(rista, doc)
    order, _ = paid_order({"order_mode": "dine_in", "items": [
        {"item_sku_id": "1", "quantity": 2}, {"item_sku_id": "9", "quantity": 1}, {"item_sku_id": "10",
                                                                                    "quantity": 1}]})
    sale = sale_of(order)
    assert_rista_formulas(sale, order)
    assert_wire_exact(sale)
    assert "delivery" not in sale  # Rista's delivery modes are Pickup | Delivery: dine-in has none
    assert sale["label"] == f"{order.order_number} Dine in"
    assert sale["channel"] == "Takeaway"  # this branch serves no "Dine In" channel: priced from the default
    assert sale["charges"] == []  # no takeaway packing charge on dine-in
    assert [i["discountAmount"] for i in sale["items"]] == [ZERO, money("-10.94"), money("-14.06")]
    assert sale["discountAmount"] == 0 and sale["discounts"] == []
    assert order.round_off != 0
    assert sale["roundOffAmount"] == order.round_off
    assert sale["totalAmount"] == order.total_amount_include_tax == sale["totalAmount"].to_integral_value()


def test_item_and_order_discounts_are_each_reported_at_their_level(rista, paid_order):
    doc = cb.sample_catalog()
    cb.add_discount(doc, "idli20", rate=20, category_ids=[cb.CATEGORY_IDLI])
    cb.add_discount(doc, "fiveoff", rate=5, discount_type="Absolute")
    use_catalog(rista, doc)
    order, _ = paid_order({"order_mode": "takeaway", "items": [
        {"item_sku_id": "1", "quantity": 2}, {"item_sku_id": "9", "quantity": 1}]})
    sale = sale_of(order)
    assert_rista_formulas(sale, order)
    assert total(-i["discountAmount"] for i in sale["items"]) - sale["discountAmount"] == order.discount_total
    assert [-i["discountAmount"] for i in sale["items"]] == [money("0.00"), money("14.00")]  # 20% off the idli
    assert sale["discountAmount"] == money("-5.00")
    assert [d["amount"] for d in sale["discounts"]] == [money("-5.00")]


def test_totals_that_disagree_with_the_order_are_refused(paid_order):
    order, _ = paid_order()
    Order.objects.filter(pk=order.pk).update(total_amount_include_tax=money("324.49"))
    with pytest.raises(SalePayloadError, match="totalAmount"):
        sale_of(order)
