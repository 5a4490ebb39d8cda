"""Smoke test of a running `make run`: what a person trying the demo would do, checked.

Menu, quote, order, UPI QR, the customer pays in the PhonePe sandbox, the order
is CONFIRMED, the sale reaches the Rista sandbox, the kitchen moves it to READY.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

BASE = "http://127.0.0.1:8000"
API = BASE + "/api/v1"
RISTA = "http://127.0.0.1:8081"
PHONEPE = "http://127.0.0.1:8082"
CART = {"items": [{"item_sku_id": "1", "quantity": 2}, {"item_sku_id": "9", "quantity": 1}],
        "order_mode": "takeaway"}


def call(method: str, url: str, body: object = None, headers: dict | None = None) -> tuple[int, dict, object]:
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, dict(exc.headers), json.loads(raw) if raw else {}


def check(cond: bool, what: str) -> None:
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        sys.exit(1)


def wait_for(fetch, done, what: str, timeout: float = 30.0):
    deadline = time.time() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.time() > deadline:
            check(False, f"{what} (last seen: {value})")
        time.sleep(0.3)


def back_office_is_styled() -> None:
    """The admin's pages and their CSS come from gunicorn itself (WhiteNoise), not a CDN or nothing."""
    import re

    with urllib.request.urlopen(f"{BASE}/admin/login/", timeout=30) as resp:
        page = resp.read().decode()
    sheets = re.findall(r'href="(/static/[^"]+\.css)"', page)
    check(any("admin/css/base" in s for s in sheets) and any("backoffice" in s for s in sheets),
          "the back office's login page links its stylesheets")
    for sheet in sheets:
        with urllib.request.urlopen(BASE + sheet, timeout=30) as resp:
            check(resp.status == 200 and resp.headers["Content-Type"].startswith("text/css"), f"{sheet} is served")


def main() -> None:
    back_office_is_styled()
    status, headers, menu = call("GET", f"{API}/catalog")
    check(status == 200, f"menu answers 200 (got {status})")
    check(len(menu.get("items", [])) == 33, "menu has the sample's 33 items")
    status, _, _ = call("GET", f"{API}/catalog", headers={"If-None-Match": headers.get("ETag", "")})
    check(status == 304, "menu revalidates with 304")

    key = json.loads(Path(".run/demo-kiosk.json").read_text())["key"]
    kiosk = {"Authorization": f"Kiosk {key}"}
    status, _, quote = call("POST", f"{API}/orders/quote", CART, kiosk)
    check(status == 200 and quote["total_amount_include_tax"] == 324.5, "quote is Rs 324.50")
    status, _, _ = call("GET", f"{API}/catalog?order_mode=dine_in")
    check(status == 200, f"the dine-in menu answers 200 (got {status})")
    status, _, dine_in = call("POST", f"{API}/orders/quote", {**CART, "order_mode": "dine_in"}, kiosk)
    check(status == 200 and (dine_in["total_amount_include_tax"], dine_in["channel"]) == (304.5, "Dine In"),
          "dine-in quote is Rs 304.50 on the Dine In channel, no packing charge "
          f"(got {dine_in.get('total_amount_include_tax')} on {dine_in.get('channel')})")
    status, _, order = call("POST", f"{API}/orders", CART, {**kiosk, "Idempotency-Key": f"smoke-{time.time()}"})
    check(status == 201 and order["status"] == "PENDING", f"order placed ({order.get('order_number')})")
    order_id = order["order_id"]

    status, _, payment = call("POST", f"{API}/payment/initiate", {"order_id": order_id, "amount": 324.5}, kiosk)
    check(status == 201 and payment["qr_string"].startswith("upi://"), "UPI QR issued")

    _, _, pending = call("GET", f"{PHONEPE}/_control/payments")
    refs = [p["ref"] for p in pending["payments"] if p["state"] == "PENDING"]
    check(len(refs) >= 1, "the PhonePe sandbox shows the pending payment")
    status, _, _ = call("POST", f"{PHONEPE}/_control/payments/{refs[-1]}/pay", {})
    check(status == 200, "the customer pays in the PhonePe sandbox")

    def order_status() -> dict:
        return call("GET", f"{API}/orders/{order_id}/status", headers=kiosk)[2]

    wait_for(order_status, lambda s: s["status"] == "CONFIRMED", "order CONFIRMED")
    check(True, "order CONFIRMED after PhonePe's callback")

    def sale() -> dict | None:
        sales = call("GET", f"{RISTA}/_control/sales")[2]
        return next((s for s in sales if s["sourceInfo"]["orderTransactionId"] == order_id), None)

    found = wait_for(sale, lambda s: s is not None, "the sale in the Rista sandbox")
    check(True, f"the kitchen received sale {found['invoiceNumber']}")
    for rista_status, ours in (("Accepted", "ACCEPTED"), ("Processed", "READY")):
        call("POST", f"{RISTA}/_control/sales/{found['invoiceNumber']}/status", {"status": rista_status})
        wait_for(order_status, lambda s, ours=ours: s["kitchen_status"] == ours, f"kitchen {ours}")
    check(True, "kitchen status READY on the kiosk's status endpoint")


if __name__ == "__main__":
    main()
