"""Checkout on real PostgreSQL and Redis, with the menu from the Rista sandbox."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.services import catalog_refresh
from conftest import WORKED_EXAMPLE
from orders.models import Order, OrderEvent, OrderLine, OrderStatus
from orders.numbers import allocate_order_number, business_day
from testing.waiting import run_together

pytestmark = pytest.mark.django_db


def test_worked_example_from_the_brief(place_order):
    order = place_order()
    assert order["status"] == "PENDING"
    assert order["kitchen_status"] == "NOT_SENT"
    assert order["total_amount_exclude_tax"] == 310.0
    assert order["total_amount_include_tax"] == 324.5
    assert order["tax_total"] == 14.5
    assert order["round_off"] == 0
    assert [(t["name"], t["percentage"], t["amount"]) for t in order["taxes"]] == [
        ("CGST", 2.5, 7.25), ("SGST", 2.5, 7.25)]
    assert [(c["name"], c["amount"]) for c in order["charges"]] == [("PC", 20.0)]
    assert [(ln["sku"], ln["quantity"], ln["unit_price"], ln["total_amount"]) for ln in order["lines"]] == [
        ("1", 2, 110.0, 231.0), ("9", 1, 70.0, 73.5)]
    assert order["order_number"] == "K001"
    uuid.UUID(order["order_id"])
    stored = Order.objects.get(pk=order["order_id"])
    assert stored.total_amount_include_tax == Decimal("324.50")
    assert stored.expires_at - stored.created_at == timedelta(minutes=15)
    assert OrderLine.objects.filter(order=stored).count() == 2
    assert list(OrderEvent.objects.filter(order=stored).values_list("to_status", flat=True)) == ["PENDING"]


def test_money_is_rendered_as_json_numbers(kiosk_client, menu):
    resp = kiosk_client.post("/api/v1/orders", WORKED_EXAMPLE, format="json")
    assert b'"total_amount_include_tax":324.5' in resp.content


def test_matching_client_totals_are_accepted(place_order):
    order = place_order({**WORKED_EXAMPLE, "total_amount_include_tax": 324.50, "total_amount_exclude_tax": 310})
    assert order["total_amount_include_tax"] == 324.5


def test_different_client_totals_create_nothing_and_show_the_real_price(kiosk_client, menu):
    resp = kiosk_client.post("/api/v1/orders", {**WORKED_EXAMPLE, "total_amount_include_tax": 300.00},
                             format="json")
    assert resp.status_code == 409
    error = resp.json()["error"]
    assert error["code"] == "PRICE_CHANGED"
    assert error["details"]["quote"]["total_amount_include_tax"] == 324.5
    assert error["details"]["mismatched"]["total_amount_include_tax"]["actual"] == 324.5
    assert Order.objects.count() == 0


def test_price_change_in_rista_reaches_the_next_quote(kiosk_client, menu, rista, settings):
    requests.post(f"{rista.url}/_control/items/1", json={"price": 120}, timeout=5)
    catalog_refresh(branch=settings.KIOSK_BRANCH_CODE, channel=settings.KIOSK_DEFAULT_CHANNEL)
    resp = kiosk_client.post("/api/v1/orders", {**WORKED_EXAMPLE, "total_amount_include_tax": 324.5},
                             format="json")
    assert resp.status_code == 409
    assert resp.json()["error"]["details"]["quote"]["subtotal"] == 310.0


def test_quote_stores_nothing(kiosk_client, menu):
    resp = kiosk_client.post("/api/v1/orders/quote", WORKED_EXAMPLE, format="json")
    assert resp.status_code == 200
    assert resp.json()["total_amount_include_tax"] == 324.5
    assert "order_id" not in resp.json()
    assert Order.objects.count() == 0


DOSE = {"items": [{"item_sku_id": "1", "quantity": 1}]}


def test_dine_in_pays_no_takeaway_packing_charge(place_order):
    """The sample's PC (Rs 20) lists Delivery, Pickup and Others: none of them is dine-in."""
    order = place_order({**DOSE, "order_mode": "dine_in"})
    assert order["total_amount_include_tax"] == 115.5  # 110 + CGST 2.75 + SGST 2.75, not 135.50
    assert order["charges"] == []
    assert (order["channel"], order["charge_mode"]) == ("Takeaway", None)  # this branch serves no "Dine In"
    stored = Order.objects.get(pk=order["order_id"])
    assert (stored.order_mode, stored.channel, stored.charge_mode) == ("dine_in", "Takeaway", "")
    takeaway = place_order({**DOSE, "order_mode": "takeaway"})
    assert takeaway["total_amount_include_tax"] == 135.5
    assert (takeaway["channel"], takeaway["charge_mode"]) == ("Takeaway", "Pickup")


def test_the_worked_example_is_unchanged_for_takeaway(kiosk_client, menu):
    resp = kiosk_client.post("/api/v1/orders/quote", WORKED_EXAMPLE, format="json")
    body = resp.json()
    assert (body["total_amount_include_tax"], body["channel"], body["charge_mode"]) == (324.5, "Takeaway", "Pickup")
    assert [c["name"] for c in body["charges"]] == ["PC"]


def test_dine_in_is_priced_from_the_dine_in_channel_when_the_branch_has_one(kiosk_client, menu, rista, settings):
    settings.KIOSK_CHANNELS = ["Takeaway", "Dine In"]
    # Rista's Dine In price list says 120 for the dose, Takeaway's still 110 (the sandbox serves one
    # catalog to every channel, so each channel's copy is fetched at a different price).
    requests.post(f"{rista.url}/_control/items/1", json={"price": 120}, timeout=5)
    catalog_refresh(branch=settings.KIOSK_BRANCH_CODE, channel="Dine In")
    dine_in = kiosk_client.post("/api/v1/orders", {**DOSE, "order_mode": "dine_in"}, format="json").json()
    assert dine_in["lines"][0]["unit_price"] == 120.0
    assert dine_in["total_amount_include_tax"] == 126.0  # 120 + 3.00 + 3.00, no packing charge
    assert (dine_in["channel"], dine_in["charge_mode"]) == ("Dine In", None)
    assert Order.objects.get(pk=dine_in["order_id"]).channel == "Dine In"
    takeaway = kiosk_client.post("/api/v1/orders/quote", WORKED_EXAMPLE, format="json").json()
    assert (takeaway["total_amount_include_tax"], takeaway["channel"]) == (324.5, "Takeaway")


def test_dine_in_on_the_sample_dine_in_menu_costs_115_50(kiosk_client, dine_in_menu):
    resp = kiosk_client.post("/api/v1/orders/quote", {**DOSE, "order_mode": "dine_in"}, format="json")
    assert resp.status_code == 200, resp.content
    assert (resp.json()["total_amount_include_tax"], resp.json()["channel"]) == (115.5, "Dine In")


def test_a_restaurant_that_charges_dine_in_maps_it_to_a_charge_mode(kiosk_client, menu, settings):
    settings.ORDER_CHARGE_MODES = {**settings.ORDER_CHARGE_MODES, "dine_in": "Others"}
    resp = kiosk_client.post("/api/v1/orders/quote", {**WORKED_EXAMPLE, "order_mode": "dine_in"}, format="json")
    body = resp.json()
    assert (body["total_amount_include_tax"], body["charge_mode"]) == (324.5, "Others")
    assert [c["name"] for c in body["charges"]] == ["PC"]


def test_order_mode_must_be_allowed_for_the_kiosk(kiosk, kiosk_client, menu):
    device = kiosk[0]
    device.allowed_order_modes = ["takeaway"]
    device.save()
    from kiosk_project.core.kiosk_auth import forget_cached_keys

    forget_cached_keys()
    resp = kiosk_client.post("/api/v1/orders", {**WORKED_EXAMPLE, "order_mode": "dine_in"}, format="json")
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "ORDER_MODE_NOT_ALLOWED"


def test_round_off_setting(place_order, settings):
    settings.ORDER_ROUND_OFF = True
    order = place_order()
    assert order["total_amount_include_tax"] == 325.0
    assert order["round_off"] == 0.5


def test_repeated_skus_are_merged(place_order):
    body = {"items": [{"item_sku_id": "1", "quantity": 1}, {"item_sku_id": "9", "quantity": 1},
                      {"item_sku_id": "1", "quantity": 1}]}
    order = place_order(body)
    assert [(ln["sku"], ln["quantity"]) for ln in order["lines"]] == [("1", 2), ("9", 1)]
    assert order["total_amount_include_tax"] == 324.5


def test_unknown_skus_are_all_listed(kiosk_client, menu):
    body = {"items": [{"item_sku_id": "nope", "quantity": 1}, {"item_sku_id": "1", "quantity": 1},
                      {"item_sku_id": "also-nope", "quantity": 2}]}
    resp = kiosk_client.post("/api/v1/orders", body, format="json")
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "ITEM_NOT_FOUND"
    assert sorted(resp.json()["error"]["details"]["skus"]) == ["also-nope", "nope"]
    assert Order.objects.count() == 0


def test_sold_out_and_inactive_items_are_all_listed(kiosk_client, menu, rista, settings):
    requests.post(f"{rista.url}/_control/items/9", json={"soldOut": True}, timeout=5)
    requests.post(f"{rista.url}/_control/items/13", json={"status": "Inactive"}, timeout=5)
    catalog_refresh(branch=settings.KIOSK_BRANCH_CODE, channel=settings.KIOSK_DEFAULT_CHANNEL)
    body = {"items": [{"item_sku_id": "9", "quantity": 1}, {"item_sku_id": "13", "quantity": 1},
                      {"item_sku_id": "1", "quantity": 1}]}
    resp = kiosk_client.post("/api/v1/orders", body, format="json")
    assert resp.status_code == 409
    error = resp.json()["error"]
    assert error["code"] == "ITEM_UNAVAILABLE"
    assert {(i["sku"], i["reason"]) for i in error["details"]["items"]} == {("9", "sold_out"), ("13", "inactive")}
    assert Order.objects.count() == 0


def rista_catalog_calls(rista) -> int:
    return requests.get(rista.url + "/_control/stats", timeout=5).json()["requests"].get("catalog", 0)


@pytest.mark.django_db(transaction=True)
def test_with_no_menu_anywhere_checkouts_fetch_it_once_between_them(kiosk, rista):
    """Redis lost its data before any snapshot existed: the first checkouts fetch the menu, once."""
    from rest_framework.test import APIClient

    def place() -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Kiosk {kiosk[1]}")
        return client.post("/api/v1/orders", WORKED_EXAMPLE, format="json").status_code

    requests.post(rista.url + "/_control/faults", json={"mode": "slow", "delay": 0.5, "routes": ["catalog"]},
                  timeout=5).raise_for_status()  # the fetch takes a moment: everyone arrives while it runs
    assert run_together([place] * 6) == [201] * 6
    assert rista_catalog_calls(rista) == 1
    assert Order.objects.count() == 6


def test_with_no_menu_anywhere_and_rista_down_checkout_is_503(kiosk_client, rista):
    requests.post(rista.url + "/_control/faults", json={"mode": "error", "count": 5, "routes": ["catalog"]},
                  timeout=5).raise_for_status()
    resp = kiosk_client.post("/api/v1/orders", WORKED_EXAMPLE, format="json")
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "CATALOG_UNAVAILABLE"
    assert Order.objects.count() == 0


def test_snapshot_prices_orders_when_redis_lost_the_menu(kiosk_client, menu, rista):
    from django.core.cache import cache

    cache.clear()
    before = rista_catalog_calls(rista)
    resp = kiosk_client.post("/api/v1/orders", WORKED_EXAMPLE, format="json")
    assert resp.status_code == 201
    assert rista_catalog_calls(rista) == before  # the snapshot was enough: Rista was not asked


# --- idempotency -------------------------------------------------------------------------------------
def test_same_key_same_body_replays_the_original(kiosk_client, menu):
    first = kiosk_client.post("/api/v1/orders", WORKED_EXAMPLE, format="json", HTTP_IDEMPOTENCY_KEY="attempt-1")
    again = kiosk_client.post("/api/v1/orders", WORKED_EXAMPLE, format="json", HTTP_IDEMPOTENCY_KEY="attempt-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert again.json() == first.json()
    assert Order.objects.count() == 1


def test_same_key_different_body_is_422(kiosk_client, menu):
    kiosk_client.post("/api/v1/orders", WORKED_EXAMPLE, format="json", HTTP_IDEMPOTENCY_KEY="attempt-1")
    other = {"items": [{"item_sku_id": "27", "quantity": 1}]}
    resp = kiosk_client.post("/api/v1/orders", other, format="json", HTTP_IDEMPOTENCY_KEY="attempt-1")
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Order.objects.count() == 1


def test_keys_are_scoped_per_kiosk(kiosk_client, other_kiosk, menu):
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Kiosk {other_kiosk[1]}")
    a = kiosk_client.post("/api/v1/orders", WORKED_EXAMPLE, format="json", HTTP_IDEMPOTENCY_KEY="same")
    b = other.post("/api/v1/orders", WORKED_EXAMPLE, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert a.status_code == b.status_code == 201
    assert a.json()["order_id"] != b.json()["order_id"]


def _run_threads(count: int, target) -> list:
    """`count` copies of `target` started together (testing.waiting.run_together); an error fails the test."""
    results = run_together([target] * count)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_exactly_one_order(kiosk, menu):
    def place():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Kiosk {kiosk[1]}")
        resp = client.post("/api/v1/orders", WORKED_EXAMPLE, format="json", HTTP_IDEMPOTENCY_KEY="race")
        return resp.status_code, resp.json().get("order_id")

    results = _run_threads(12, place)
    assert len(results) == 12
    assert {status for status, _ in results} == {201}
    assert len({order_id for _, order_id in results}) == 1
    assert Order.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_placements_get_distinct_consecutive_numbers(kiosk, menu):
    def place():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Kiosk {kiosk[1]}")
        return client.post("/api/v1/orders", WORKED_EXAMPLE, format="json").json()["order_number"]

    numbers = _run_threads(20, place)
    assert sorted(numbers) == [f"K{n:03d}" for n in range(1, 21)]


@pytest.mark.django_db(transaction=True)
def test_order_number_allocation_is_race_free_and_restarts_each_day():
    day = date(2026, 11, 22)
    values = _run_threads(30, lambda: allocate_order_number(branch_code="BLR01", day=day))
    assert sorted(values) == list(range(1, 31))
    assert allocate_order_number(branch_code="BLR01", day=day + timedelta(days=1)) == 1
    assert allocate_order_number(branch_code="OTHER", day=day) == 1


def test_business_day_starts_at_the_configured_hour(settings):
    settings.ORDER_BUSINESS_DAY_START_HOUR = 4
    late_night = timezone.make_aware(timezone.datetime(2026, 11, 23, 1, 30))  # Asia/Kolkata
    morning = timezone.make_aware(timezone.datetime(2026, 11, 23, 9, 0))
    assert business_day(late_night) == date(2026, 11, 22)
    assert business_day(morning) == date(2026, 11, 23)


def test_placing_an_order_takes_a_handful_of_queries(kiosk_client, menu, django_assert_num_queries):
    kiosk_client.post("/api/v1/orders/quote", WORKED_EXAMPLE, format="json")  # warm the kiosk-key cache
    # idempotency lookup, order number, then one transaction: order, lines (one bulk INSERT), event.
    # The test runs inside a transaction, so the service's atomic block adds SAVEPOINT and RELEASE.
    with django_assert_num_queries(7):
        resp = kiosk_client.post("/api/v1/orders", {"items": [{"item_sku_id": str(s), "quantity": 1}
                                                              for s in (1, 2, 3, 4, 5, 9, 10, 11)]},
                                 format="json", HTTP_IDEMPOTENCY_KEY="q")
    assert resp.status_code == 201
    assert len(resp.json()["lines"]) == 8


# --- reading -----------------------------------------------------------------------------------------
def test_detail_includes_history(kiosk_client, place_order):
    order = place_order()
    resp = kiosk_client.get(f"/api/v1/orders/{order['order_id']}")
    assert resp.status_code == 200
    body = resp.json()
    assert body["total_amount_include_tax"] == 324.5
    assert [h["to"] for h in body["history"]] == ["PENDING"]


def test_status_is_cheap_and_revalidates(kiosk_client, place_order, django_assert_num_queries):
    order = place_order()
    url = f"/api/v1/orders/{order['order_id']}/status"
    with django_assert_num_queries(1):
        resp = kiosk_client.get(url)
    assert resp.status_code == 200
    assert resp.json() == {"order_id": order["order_id"], "order_number": "K001", "status": "PENDING",
                           "kitchen_status": "NOT_SENT", "updated_at": resp.json()["updated_at"],
                           "expires_at": order["expires_at"], "payment": {
                               "status": "NONE", "payment_id": None, "merchant_reference": None,
                               "failure_code": None, "message": "Tap Pay to get a QR code.", "can_retry": True,
                               "expires_at": None}}
    assert kiosk_client.get(url, HTTP_IF_NONE_MATCH=resp["ETag"]).status_code == 304
    Order.objects.filter(pk=order["order_id"]).update(status=OrderStatus.CONFIRMED, confirmed_at=timezone.now(),
                                                    updated_at=timezone.now())
    changed = kiosk_client.get(url, HTTP_IF_NONE_MATCH=resp["ETag"])
    assert changed.status_code == 200 and changed.json()["status"] == "CONFIRMED"


def test_a_kiosk_sees_only_its_own_orders(place_order, other_kiosk):
    order = place_order()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Kiosk {other_kiosk[1]}")
    for path in (f"/api/v1/orders/{order['order_id']}", f"/api/v1/orders/{order['order_id']}/status"):
        resp = other.get(path)
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "ORDER_NOT_FOUND"


def test_unknown_and_malformed_order_ids_are_404(kiosk_client, menu):
    assert kiosk_client.get(f"/api/v1/orders/{uuid.uuid4()}/status").status_code == 404
    assert kiosk_client.get("/api/v1/orders/not-a-uuid/status").status_code == 404


# --- auth and limits ---------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [None, "Kiosk", "Kiosk nope", "Bearer abc", "Kiosk kk_deadbeef_wrong"])
def test_orders_need_a_valid_kiosk_key(header, menu, kiosk):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    resp = client.post("/api/v1/orders", WORKED_EXAMPLE, format="json")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert Order.objects.count() == 0


def test_an_inactive_kiosk_is_refused(kiosk, kiosk_client, menu):
    from kiosk_project.core.kiosk_auth import forget_cached_keys

    kiosk[0].is_active = False
    kiosk[0].save()
    forget_cached_keys()
    assert kiosk_client.post("/api/v1/orders", WORKED_EXAMPLE, format="json").status_code == 401


def test_a_kiosk_key_cannot_reach_the_back_office(kiosk_client):
    resp = kiosk_client.get("/admin/")
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]


def test_rate_limit_per_kiosk(kiosk_client, menu, settings):
    settings.ORDER_RATE_LIMIT_PER_MINUTE = 3
    statuses = [kiosk_client.post("/api/v1/orders", WORKED_EXAMPLE, format="json").status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    resp = kiosk_client.post("/api/v1/orders", WORKED_EXAMPLE, format="json")
    assert resp.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(resp["Retry-After"]) <= 60
