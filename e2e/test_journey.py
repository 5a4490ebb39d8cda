"""The whole journey, with every part real.

The API is served by a real HTTP server (pytest-django's live server), the
kitchen hand-off runs in a real Celery worker process on the real Redis broker,
PhonePe and Rista are the sandboxes over HTTP, and each calls our webhooks the
way the real services would: menu, quote, order, initiate, the customer pays
in the PhonePe sandbox, PhonePe's webhook, the worker, the sale in Rista,
Rista's progress callbacks, and the status endpoint showing CONFIRMED, READY.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from payments.models import Payment
from testing.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CART = {"items": [{"item_sku_id": "1", "quantity": 2}, {"item_sku_id": "9", "quantity": 1, "note": "less oil"}],
        "order_mode": "takeaway"}


@pytest.mark.parametrize("family", ["v2", "v1"])
def test_menu_to_ready(family, settings, public_url, worker, rista, phonepe, kiosk):
    settings.PHONEPE_API = family
    api = public_url + "/api/v1"
    kiosk_headers = {"Authorization": f"Kiosk {kiosk[1]}"}
    http = requests.Session()

    # 1. The menu: fetched from Rista once, then served from the cache with an ETag.
    menu = http.get(f"{api}/catalog", timeout=10)
    assert menu.status_code == 200 and len(menu.json()["items"]) == 33
    assert http.get(f"{api}/catalog", headers={"If-None-Match": menu.headers["ETag"]}, timeout=10).status_code == 304

    # 2. The cart screen's quote, then the order with the quoted totals and an idempotency key.
    quote = http.post(f"{api}/orders/quote", json=CART, headers=kiosk_headers, timeout=10).json()
    assert quote["total_amount_include_tax"] == 324.5
    body = {**CART, "total_amount_include_tax": quote["total_amount_include_tax"],
            "total_amount_exclude_tax": quote["total_amount_exclude_tax"]}
    order = http.post(f"{api}/orders", json=body, headers={**kiosk_headers, "Idempotency-Key": "journey-1"},
                      timeout=10)
    assert order.status_code == 201, order.text
    order_id = order.json()["order_id"]
    status_url = f"{api}/orders/{order_id}/status"

    # 3. A UPI QR from PhonePe.
    initiated = http.post(f"{api}/payment/initiate", json={"order_id": order_id, "amount": 324.5},
                          headers=kiosk_headers, timeout=15)
    assert initiated.status_code == 201, initiated.text
    assert initiated.json()["qr_string"].startswith("upi://pay?")
    assert initiated.json()["qr_svg"].lstrip().startswith("<svg")
    assert http.get(status_url, headers=kiosk_headers, timeout=10).json()["status"] == "PENDING"

    # 4. The customer pays on their phone; PhonePe calls our webhook, we confirm with its status API.
    reference = Payment.objects.get(pk=initiated.json()["payment_id"]).merchant_reference
    paid = http.post(f"{phonepe.url}/_control/payments/{reference}/pay", json={}, timeout=30)
    assert paid.status_code == 200, paid.text
    wait_until(lambda: http.get(status_url, headers=kiosk_headers, timeout=10).json()["status"] == "CONFIRMED",
               30, "CONFIRMED")

    # 5. The worker sends the sale to Rista, exactly once, with our totals to the paisa.
    sale = wait_until(lambda: rista.sales[0] if rista.sales else None, 60, "the sale in Rista")
    assert len(rista.sales) == 1
    assert sale["sourceInfo"]["orderTransactionId"] == order_id
    assert Decimal(str(sale["totalAmount"])) == Decimal("324.50")
    assert [i["note"] for i in sale["items"] if i.get("note")] == ["less oil"]
    wait_until(lambda: http.get(status_url, headers=kiosk_headers, timeout=10).json()["kitchen_status"] == "SENT",
               30, "kitchen SENT")

    # 6. The kitchen accepts and prepares it; Rista calls our kitchen webhook each time.
    for rista_status, ours in (("Accepted", "ACCEPTED"), ("Processed", "READY")):
        moved = http.post(f"{rista.url}/_control/sales/{sale['invoiceNumber']}/status",
                          json={"status": rista_status}, timeout=15)
        assert moved.json()["callback_status"] == 200, moved.text
        assert http.get(status_url, headers=kiosk_headers, timeout=10).json()["kitchen_status"] == ours

    final = http.get(f"{api}/orders/{order_id}", headers=kiosk_headers, timeout=10).json()
    assert (final["status"], final["kitchen_status"]) == ("CONFIRMED", "READY")
    history = [(h["kind"], h["to"]) for h in final["history"]]
    assert ("status", "PENDING") in history and ("status", "CONFIRMED") in history
    assert history[-2:] == [("kitchen", "ACCEPTED"), ("kitchen", "READY")]
    assert len(rista.sales) == 1
