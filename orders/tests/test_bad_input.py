"""Hostile and malformed checkout requests: always 4xx in the envelope, never a write."""

from __future__ import annotations

import json
import random

import pytest

from orders.models import Order

pytestmark = pytest.mark.django_db

GOOD_LINE = {"item_sku_id": "1", "quantity": 1}
BAD_BODIES = {
    "empty object": {},
    "no items": {"items": []},
    "items not a list": {"items": {"item_sku_id": "1"}},
    "item not an object": {"items": ["1"]},
    "zero quantity": {"items": [{"item_sku_id": "1", "quantity": 0}]},
    "negative quantity": {"items": [{"item_sku_id": "1", "quantity": -2}]},
    "fractional quantity": {"items": [{"item_sku_id": "1", "quantity": 1.5}]},
    "integral float quantity": {"items": [{"item_sku_id": "1", "quantity": 2.0}]},
    "string quantity": {"items": [{"item_sku_id": "1", "quantity": "2"}]},
    "boolean quantity": {"items": [{"item_sku_id": "1", "quantity": True}]},
    "huge quantity": {"items": [{"item_sku_id": "1", "quantity": 10**30}]},
    "quantity over the limit": {"items": [{"item_sku_id": "1", "quantity": 100}]},
    "null quantity": {"items": [{"item_sku_id": "1", "quantity": None}]},
    "missing quantity": {"items": [{"item_sku_id": "1"}]},
    "missing sku": {"items": [{"quantity": 1}]},
    "sku not a string": {"items": [{"item_sku_id": {"$ne": 1}, "quantity": 1}]},
    "very long sku": {"items": [{"item_sku_id": "9" * 500, "quantity": 1}]},
    "too many lines": {"items": [GOOD_LINE] * 51},
    "long note": {"items": [{**GOOD_LINE, "note": "x" * 251}]},
    "unknown order mode": {"items": [GOOD_LINE], "order_mode": "drive_through"},
    "extra top-level field": {"items": [GOOD_LINE], "discount": 100},
    "price smuggled at top level": {"items": [GOOD_LINE], "price": 1},
    "three-decimal string total": {"items": [GOOD_LINE], "total_amount_include_tax": "115.505"},
    "string total with spaces": {"items": [GOOD_LINE], "total_amount_include_tax": " 115.50"},
    "exponent string total": {"items": [GOOD_LINE], "total_amount_include_tax": "1.155e2"},
    "negative string total": {"items": [GOOD_LINE], "total_amount_include_tax": "-1"},
    "empty string total": {"items": [GOOD_LINE], "total_amount_include_tax": ""},
    "price smuggled into an item": {"items": [{**GOOD_LINE, "price": 1}]},
    "field smuggled into an option": {"items": [{**GOOD_LINE, "options": [{"option_id": "a", "price": 0}]}]},
    "item_id and item_sku_id disagree": {"items": [{**GOOD_LINE, "item_id": "9"}]},
    "negative total": {"items": [GOOD_LINE], "total_amount_include_tax": -1},
    "three-decimal total": {"items": [GOOD_LINE], "total_amount_include_tax": 115.505},
    "options not a list": {"items": [{**GOOD_LINE, "options": "none"}]},
    "option without id": {"items": [{**GOOD_LINE, "options": [{"quantity": 1}]}]},
    "option zero quantity": {"items": [{**GOOD_LINE, "options": [{"option_id": "a", "quantity": 0}]}]},
    "unknown option": {"items": [{**GOOD_LINE, "options": [{"option_id": "not-an-option"}]}]},
    "body is a list": [GOOD_LINE],
    "body is a number": 5,
    "body is null": None,
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/orders/quote"])
def test_bad_bodies_are_refused_in_the_envelope(name, path, kiosk_client, menu):
    resp = kiosk_client.post(path, data=json.dumps(BAD_BODIES[name]), content_type="application/json")
    assert 400 <= resp.status_code < 500, (name, resp.status_code, resp.content)
    error = resp.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["code"], str) and error["code"].isupper()
    assert Order.objects.count() == 0


def test_fields_smuggled_into_items_are_refused_by_name(kiosk_client, menu):
    body = {"items": [{"item_sku_id": "1", "quantity": 2},
                      {"item_sku_id": "9", "quantity": 1, "price": 0, "unit_price": 0}]}
    resp = kiosk_client.post("/api/v1/orders", body, format="json")
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == {"items": {"1": {"price": ["Unknown field."], "unit_price": ["Unknown field."]}}}
    assert Order.objects.count() == 0


def test_the_contracts_example_body_is_accepted(kiosk_client, menu):
    """The customer's documents send `item_id`, totals as strings (toFixed(2)), and no order_mode."""
    body = {"items": [{"item_id": "1", "quantity": 2}, {"item_id": "9", "quantity": 1}],
            "total_amount_include_tax": "324.50", "total_amount_exclude_tax": "310"}
    resp = kiosk_client.post("/api/v1/orders", body, format="json")
    assert resp.status_code == 201, resp.content
    order = resp.json()
    assert (order["order_mode"], order["total_amount_include_tax"]) == ("takeaway", 324.5)
    assert [line["sku"] for line in order["lines"]] == ["1", "9"]


def test_a_string_total_that_differs_is_a_price_change(kiosk_client, menu):
    body = {"items": [{"item_id": "1", "quantity": 2}, {"item_id": "9", "quantity": 1}],
            "total_amount_include_tax": "300.00"}
    resp = kiosk_client.post("/api/v1/orders", body, format="json")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "PRICE_CHANGED"


@pytest.mark.parametrize("raw, content_type, status", [
    (b"{not json", "application/json", 400),
    (b'{"items": [', "application/json", 400),
    (b"\xff\xfe\x00garbage", "application/json", 400),
    (b'{"items": [{"item_sku_id": "1", "quantity": NaN}]}', "application/json", 400),
    (b"items=1", "application/x-www-form-urlencoded", 415),
    (b"<order/>", "text/xml", 415),
])
def test_non_json_bodies(raw, content_type, status, kiosk_client, menu):
    resp = kiosk_client.generic("POST", "/api/v1/orders", raw, content_type=content_type)
    assert resp.status_code == status
    assert "error" in resp.json()
    assert Order.objects.count() == 0


def test_bodies_over_64kb_are_413(kiosk_client, menu):
    body = json.dumps({"items": [{"item_sku_id": "1", "quantity": 1, "note": "x" * 70_000}]})
    resp = kiosk_client.generic("POST", "/api/v1/orders", body, content_type="application/json")
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert Order.objects.count() == 0


def test_bad_idempotency_key(kiosk_client, menu):
    resp = kiosk_client.post("/api/v1/orders", {"items": [GOOD_LINE]}, format="json",
                             HTTP_IDEMPOTENCY_KEY="x" * 200)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "INVALID_IDEMPOTENCY_KEY"


def test_random_garbage_never_500s(kiosk_client, menu, settings):
    """A small fuzz: random JSON-ish structures never crash the endpoint or write anything."""
    settings.QUOTE_RATE_LIMIT_PER_MINUTE = 0  # unlimited: this test sends 300 requests
    rng = random.Random(1234)
    atoms = [None, True, 0, -1, 1.5, 10**20, "", "1", "x" * 300, [], {}, "\u0000", "💥"]

    def junk(depth: int = 0):
        if depth > 3 or rng.random() < 0.3:
            return rng.choice(atoms)
        if rng.random() < 0.5:
            return [junk(depth + 1) for _ in range(rng.randint(0, 4))]
        keys = ["items", "item_sku_id", "quantity", "options", "option_id", "note", "order_mode",
                "total_amount_include_tax", "zzz"]
        return {rng.choice(keys): junk(depth + 1) for _ in range(rng.randint(0, 5))}

    for _ in range(300):
        body = junk()
        resp = kiosk_client.post("/api/v1/orders/quote", data=json.dumps(body), content_type="application/json")
        assert resp.status_code < 500, (body, resp.content)
        assert resp.status_code in (200, 400, 409, 422), (body, resp.status_code)
    assert Order.objects.count() == 0


def test_wrong_methods_are_405_in_the_envelope(kiosk_client, menu):
    resp = kiosk_client.delete("/api/v1/orders")
    assert resp.status_code == 405
    assert resp.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
