"""The three journeys of docs/kiosk-api.md ("Worked journey"), written from that page alone and run against a
real HTTP server, a real Celery worker, and the PhonePe and Rista sandboxes calling our webhooks.

Only the page's endpoints and fields are used on our side; the customer's phone is the PhonePe sandbox's
control API (pay, decline), reached by the merchant reference the initiation answer gives.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
import requests

from testing.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The page's example cart: item_id (the contract's name), totals as toFixed(2) strings, no order_mode.
CART = {"items": [{"item_id": "1", "quantity": 2}, {"item_id": "9", "quantity": 1}]}


class KioskApp:
    """A kiosk app as docs/kiosk-api.md describes one."""

    def __init__(self, base: str, key: str, phonepe_url: str) -> None:
        self.api = base + "/api/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Kiosk {key}"
        self.phonepe_url = phonepe_url
        self.etag: str | None = None
        self.document: dict[str, Any] | None = None

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        answer = self.http.request(method, self.api + path, timeout=15, **kwargs)
        assert answer.status_code == expect, (method, path, answer.status_code, answer.text[:500])
        return answer

    def start(self) -> dict[str, Any]:
        me = self.call("GET", "/kiosk", 200).json()
        assert me["default_order_mode"] in me["order_modes"] and me["poll_seconds"] == 3
        menu = self.call("GET", f"/catalog?order_mode={me['default_order_mode']}", 200)
        assert len(menu.json()["items"]) == 33
        self.call("GET", f"/catalog?order_mode={me['default_order_mode']}", 304,
                  headers={"If-None-Match": menu.headers["ETag"]})
        return me

    def checkout(self, key: str) -> dict[str, Any]:
        quote = self.call("POST", "/orders/quote", 200, json=CART).json()
        assert (quote["total_amount_exclude_tax"], quote["total_amount_include_tax"]) == (310, 324.5)
        body = {**CART, "total_amount_include_tax": f"{quote['total_amount_include_tax']:.2f}"}
        order = self.call("POST", "/orders", 201, json=body, headers={"Idempotency-Key": key}).json()
        assert order["status"] == "PENDING" and order["order_mode"] == "takeaway"
        again = self.call("POST", "/orders", 201, json=body, headers={"Idempotency-Key": key})
        assert again.headers["Idempotent-Replayed"] == "true" and again.json()["order_id"] == order["order_id"]
        return order

    def initiate(self, order: dict[str, Any]) -> dict[str, Any]:
        amount = f"{order['total_amount_include_tax']:.2f}"  # toFixed(2)
        qr = self.call("POST", "/payment/initiate", 201, json={"order_id": order["order_id"], "amount": amount}).json()
        assert qr["qr_image"].startswith("data:image/") and base64.b64decode(qr["qr_image"].split(",", 1)[1])
        assert qr["merchant_reference"] and qr["expires_at"]
        return qr

    def poll(self, order: dict[str, Any]) -> dict[str, Any]:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        answer = self.http.get(f"{self.api}/orders/{order['order_id']}/status", headers=headers, timeout=15)
        assert answer.status_code in (200, 304), answer.text
        self.etag = answer.headers["ETag"]
        if answer.status_code == 200:
            self.document = answer.json()
        assert self.document is not None
        return self.document

    def poll_until(self, order: dict[str, Any], done: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        return wait_until(lambda: (lambda doc: doc if done(doc) else None)(self.poll(order)), 30, what)

    def phone(self, qr: dict[str, Any], action: str) -> None:  # the customer's UPI app, at PhonePe
        answer = requests.post(f"{self.phonepe_url}/_control/payments/{qr['merchant_reference']}/{action}",
                               json={}, timeout=30)
        assert answer.status_code == 200, answer.text


@pytest.fixture
def app(public_url, worker, kiosk, phonepe, rista) -> KioskApp:
    kiosk_app = KioskApp(public_url, kiosk[1], phonepe.url)
    kiosk_app.start()
    return kiosk_app


def test_pay_and_succeed(app, rista):
    order = app.checkout("kiosk-1-0001")
    first = app.poll(order)
    assert first["payment"]["status"] == "NONE" and first["payment"]["can_retry"] is True
    qr = app.initiate(order)
    assert app.poll(order)["payment"] | {"message": None} == {
        "status": "PENDING", "payment_id": qr["payment_id"], "merchant_reference": qr["merchant_reference"],
        "failure_code": None, "message": None, "can_retry": False, "expires_at": qr["expires_at"]}
    app.phone(qr, "pay")
    paid = app.poll_until(order, lambda d: d["status"] == "CONFIRMED", "CONFIRMED")
    assert paid["payment"]["status"] == "SUCCEEDED" and paid["payment"]["can_retry"] is False
    app.poll_until(order, lambda d: d["kitchen_status"] == "SENT", "the sale in the kitchen")
    sale = rista.sales[0]
    moved = requests.post(f"{rista.url}/_control/sales/{sale['invoiceNumber']}/status", json={"status": "Processed"},
                          timeout=15)
    assert moved.status_code == 200
    app.poll_until(order, lambda d: d["kitchen_status"] == "READY", "READY")
    assert app.call("POST", f"/orders/{order['order_id']}/cancel", 409).json()["error"]["code"] == "ORDER_ALREADY_PAID"


def test_pay_fail_pay_again_and_succeed(app):
    order = app.checkout("kiosk-1-0002")
    first = app.initiate(order)
    app.phone(first, "decline")
    failed = app.poll_until(order, lambda d: d["payment"]["status"] == "FAILED", "the declined payment")
    assert failed["status"] == "PENDING"
    assert failed["payment"]["failure_code"] == "PAYMENT_DECLINED" and failed["payment"]["can_retry"] is True
    assert failed["payment"]["message"]
    second = app.initiate(order)  # "Try again"
    assert second["payment_id"] != first["payment_id"]
    app.phone(second, "pay")
    paid = app.poll_until(order, lambda d: d["status"] == "CONFIRMED", "CONFIRMED")
    assert paid["payment"]["payment_id"] == second["payment_id"] and paid["payment"]["status"] == "SUCCEEDED"
    detail = app.call("GET", f"/orders/{order['order_id']}", 200).json()
    assert [h["to"] for h in detail["history"] if h["kind"] == "status"] == ["PENDING", "CONFIRMED"]


def test_walk_away_and_cancel_then_a_late_payment_is_refunded(app, rista):
    order = app.checkout("kiosk-1-0003")
    qr = app.initiate(order)
    cancelled = app.call("POST", f"/orders/{order['order_id']}/cancel", 200, json={"reason": "walked_away"}).json()
    assert cancelled["status"] == "CANCELLED" and cancelled["payment"]["can_retry"] is False
    again = app.call("POST", f"/orders/{order['order_id']}/cancel", 200, json={"reason": "walked_away"}).json()
    assert again == cancelled
    refused = app.call("POST", "/payment/initiate", 409,
                       json={"order_id": order["order_id"], "amount": order["total_amount_include_tax"]})
    assert refused.json()["error"]["code"] == "ORDER_NOT_PAYABLE"
    detail = app.call("GET", f"/orders/{order['order_id']}", 200).json()
    cancel = next(h for h in detail["history"] if h["to"] == "CANCELLED")
    assert (cancel["actor"], cancel["reason"]) == ("kiosk:kiosk-1", "walked_away")

    app.phone(qr, "pay")  # the customer had scanned the QR and pays anyway
    refunded = app.poll_until(order, lambda d: d["payment"]["status"] in ("REFUND_PENDING", "REFUNDED"),
                              "the automatic refund")
    assert refunded["status"] == "CANCELLED" and refunded["payment"]["payment_id"] == qr["payment_id"]
    assert refunded["payment"]["message"]
    assert not rista.sales  # nothing reached the kitchen
