"""The Rista sandbox over real HTTP, with tokens minted the way a Rista client mints them.

No Django, no database: run with
    .venv/bin/pytest -p no:django -p no:cacheprovider sandbox/tests/test_rista_sandbox.py -q
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from sandbox.httpkit import Request, Response, SandboxServer
from sandbox.rista.__main__ import parse_args
from sandbox.rista.auth import mint_token
from sandbox.rista.server import RistaSandbox

API_KEY = "test-api-key"
# >= 32 bytes so the *client side* of these tests gets no PyJWT key-length warning.
SECRET = "test-secret-key-0123456789abcdef-xyz"
BRANCH = "BLR01"
REPO = Path(__file__).resolve().parents[2]


# -- fixtures and helpers ------------------------------------------------------------


class Receiver(SandboxServer):
    """A tiny HTTP endpoint standing in for our backend's Rista webhooks."""

    name = "receiver"

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[tuple[dict[str, str], Any]] = []
        self.arrived = threading.Event()
        self.answer = 200
        self.router.add("POST", "/hook", self._hook)

    def _hook(self, req: Request) -> Response:
        with self.lock:
            self.hits.append((req.headers, req.json()))
        self.arrived.set()
        return Response(self.answer, {"ok": True})


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    """Shadow the root conftest's autouse Redis flush: these tests touch neither Django nor
    Redis, and must run with `-p no:django` on a machine that has neither configured."""


@pytest.fixture(scope="module")
def server() -> Iterator[RistaSandbox]:
    sb = RistaSandbox(api_key=API_KEY, secret_key=SECRET, branch=BRANCH).start()
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rx = Receiver().start()
    yield rx  # type: ignore[misc]
    rx.stop()


@pytest.fixture(autouse=True)
def pristine(server: RistaSandbox, receiver: Receiver) -> None:
    server.reset()
    server.webhook_url = None
    receiver.hits.clear()
    receiver.arrived.clear()
    receiver.answer = 200


def token(*, write: bool = False, key: str = SECRET, alg: str = "HS256", **claims: Any) -> str:
    """A Rista x-api-token; pass claim=None to leave a claim out."""
    payload: dict[str, Any] = {"iss": API_KEY, "iat": int(time.time())}
    if write:
        payload["jti"] = uuid.uuid4().hex
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, None if alg == "none" else key, algorithm=alg)


def auth(write: bool = False, **claims: Any) -> dict[str, str]:
    return {"x-api-key": API_KEY, "x-api-token": token(write=write, **claims)}


def get(sb: RistaSandbox, path: str, params: dict[str, str] | None = None, **kw: Any) -> requests.Response:
    kw.setdefault("headers", auth())
    kw.setdefault("timeout", 5)
    return requests.get(sb.url + path, params=params, **kw)


def post(sb: RistaSandbox, path: str, body: Any, **kw: Any) -> requests.Response:
    kw.setdefault("headers", auth(write=True))
    kw.setdefault("timeout", 5)
    return requests.post(sb.url + path, json=body, **kw)


def control(sb: RistaSandbox, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, sb.url + "/_control" + path, json=body, timeout=5)


def catalog(sb: RistaSandbox, **kw: Any) -> requests.Response:
    return get(sb, "/v1/catalog", {"branch": BRANCH, "channel": "Takeaway"}, **kw)


def sale_body(txn: str | None = "kiosk-order-1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "branchCode": BRANCH,
        "channel": "Takeaway",
        "status": "Open",
        "sourceInfo": {"source": "kiosk", "invoiceNumber": "K-0001", "orderTransactionId": txn},
        "items": [
            {"shortName": "Davanagere Benne Sada Dose", "skuCode": "1", "quantity": 2, "unitPrice": 110},
            {"shortName": "Idli Chutney", "skuCode": "9", "quantity": 1, "unitPrice": 70},
        ],
        "itemTotalAmount": 290,
        "billAmount": 324.5,
        "totalAmount": 324.5,
        "payments": [{"mode": "Digital", "amount": 324.5, "reference": "PHONEPE-1"}],
    }
    if txn is None:
        del body["sourceInfo"]["orderTransactionId"]
    body.update(extra)
    return body


def message(resp: requests.Response) -> str:
    return resp.json()["message"]


# -- auth -------------------------------------------------------------------------------------


def test_good_auth_reads_catalog(server: RistaSandbox) -> None:
    resp = catalog(server)
    assert resp.status_code == 200
    assert len(resp.json()["items"]) == 33
    assert resp.headers["Content-Type"] == "application/json"
    assert server.stats()["requests"]["catalog"] == 1


@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        ({}, "missing x-api-key"),
        ({"x-api-key": "wrong"}, "invalid x-api-key"),
        ({"x-api-key": API_KEY}, "missing x-api-token"),
        ({"x-api-key": API_KEY, "x-api-token": "not-a-jwt"}, "not a valid JWT"),
    ],
)
def test_missing_or_bad_key_and_token(server: RistaSandbox, headers: dict[str, str], needle: str) -> None:
    resp = catalog(server, headers=headers)
    assert resp.status_code == 401
    assert needle in message(resp)


def test_bad_signature(server: RistaSandbox) -> None:
    resp = catalog(server, headers={"x-api-key": API_KEY, "x-api-token": token(key="another-secret-" * 3)})
    assert resp.status_code == 401
    assert "signature" in message(resp)


def test_iss_must_be_the_api_key(server: RistaSandbox) -> None:
    resp = catalog(server, headers=auth(iss="someone-else"))
    assert resp.status_code == 401
    assert "iss" in message(resp)


@pytest.mark.parametrize(("iat_offset", "needle"), [(-301, "old"), (+301, "future"), (None, "required")])
def test_iat_window(server: RistaSandbox, iat_offset: int | None, needle: str) -> None:
    iat = None if iat_offset is None else int(time.time()) + iat_offset
    resp = catalog(server, headers={"x-api-key": API_KEY, "x-api-token": token(iat=iat)})  # None: no iat
    assert resp.status_code == 401
    assert needle in message(resp)


def test_iat_in_milliseconds_gets_a_hint(server: RistaSandbox) -> None:
    resp = catalog(server, headers=auth(iat=int(time.time() * 1000)))
    assert resp.status_code == 401
    assert "milliseconds" in message(resp)


def test_post_requires_jti(server: RistaSandbox) -> None:
    resp = post(server, "/v1/sale", sale_body(), headers=auth(write=False))
    assert resp.status_code == 401
    assert "jti" in message(resp)
    assert server.sales == []


def test_replayed_jti_is_rejected(server: RistaSandbox) -> None:
    headers = auth(write=True)
    assert post(server, "/v1/sale", sale_body("a"), headers=headers).status_code == 201
    replay = post(server, "/v1/sale", sale_body("b"), headers=headers)
    assert replay.status_code == 401
    assert "already used" in message(replay)
    assert len(server.sales) == 1


def test_gets_need_no_jti_and_may_reuse_a_token(server: RistaSandbox) -> None:
    headers = auth()
    assert catalog(server, headers=headers).status_code == 200
    assert catalog(server, headers=headers).status_code == 200


@pytest.mark.parametrize("alg", ["none", "HS512"])
def test_only_hs256_is_accepted(server: RistaSandbox, alg: str) -> None:
    key = SECRET * 2  # long enough for HS512, so only the alg can be wrong
    resp = catalog(server, headers={"x-api-key": API_KEY, "x-api-token": token(alg=alg, key=key)})
    assert resp.status_code == 401
    assert "HS256" in message(resp)


def test_auth_failures_are_counted_not_served(server: RistaSandbox) -> None:
    catalog(server, headers={})
    catalog(server, headers=auth(iss="x"))
    stats = server.stats()
    assert stats["auth_failed"] == 2
    assert stats["requests"]["catalog"] == 0


def test_default_short_secret_works_even_with_warnings_as_errors() -> None:
    """The default secret is < 32 bytes; PyJWT's key-length warning must not turn into a 500."""
    sb = RistaSandbox().start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            headers = {
                "x-api-key": "sandbox-api-key",
                "x-api-token": mint_token("sandbox-api-key", "sandbox-rista-secret-key-not-for-production"),
            }
            resp = requests.post(sb.url + "/v1/sale", json=sale_body(), headers=headers, timeout=5)
        assert resp.status_code == 201
    finally:
        sb.stop()


# -- read routes ---------------------------------------------------------------------------


def test_catalog_params_branch_and_channel(server: RistaSandbox) -> None:
    assert get(server, "/v1/catalog", {"branch": BRANCH}).status_code == 400
    assert get(server, "/v1/catalog", {"branch": "NOPE", "channel": "Takeaway"}).status_code == 404
    assert get(server, "/v1/catalog", {"branch": BRANCH, "channel": "Swiggy"}).status_code == 404
    dine_in = get(server, "/v1/catalog", {"branch": BRANCH, "channel": "Dine In"})
    assert dine_in.status_code == 200
    item = dine_in.json()["items"][0]
    assert {"itemId", "skuCode", "itemName", "price", "taxTypeIds", "status", "type"} <= set(item)


def test_soldout_and_branch_list_shapes(server: RistaSandbox) -> None:
    assert get(server, "/v1/items/soldout", {"branch": BRANCH}).json() == {"data": []}
    assert get(server, "/v1/items/soldout").status_code == 400
    assert get(server, "/v1/items/soldout", {"branch": "NOPE"}).status_code == 404
    branches = get(server, "/v1/branch/list").json()
    assert branches == [
        {
            "branchName": f"Sandbox Branch {BRANCH}",
            "branchCode": BRANCH,
            "businessName": "Sandbox Restaurant",
            "status": "Active",
            "channels": [{"name": "Takeaway"}, {"name": "Dine In"}],
        }
    ]


# -- sales -----------------------------------------------------------------------------------


def test_sale_post_get_and_dedupe(server: RistaSandbox) -> None:
    first = post(server, "/v1/sale", sale_body())
    assert first.status_code == 201
    sale = first.json()
    assert sale["invoiceNumber"].startswith(f"{BRANCH}-")
    assert sale["orderNumber"] == "1"
    assert sale["status"] == "Open" and sale["fulfillmentStatus"] == "Confirmed"
    assert sale["sourceInfo"]["orderTransactionId"] == "kiosk-order-1"
    assert sale["items"][0]["skuCode"] == "1" and sale["payments"][0]["amount"] == 324.5
    assert sale["totalAmount"] == 324.5 and sale["channel"] == "Takeaway" and sale["branchCode"] == BRANCH
    assert {"invoiceDate", "invoiceDay"} <= set(sale) and "_receivedAt" not in sale

    by_invoice = get(server, "/v1/sale", {"invoice": sale["invoiceNumber"]})
    assert by_invoice.status_code == 200 and by_invoice.json() == sale
    by_txn = get(server, "/v1/sale", {"orderTransactionId": "kiosk-order-1"})
    assert by_txn.json()["invoiceNumber"] == sale["invoiceNumber"]
    assert get(server, "/v1/sale", {"invoice": "BLR01-999999"}).status_code == 404
    assert get(server, "/v1/sale", {"orderTransactionId": "nope"}).status_code == 404

    again = post(server, "/v1/sale", sale_body())
    assert again.status_code == 200
    assert again.json()["invoiceNumber"] == sale["invoiceNumber"]

    stored = server.sales
    assert len(stored) == 1 and stored[0]["_duplicates"] == 1
    assert abs(stored[0]["_receivedAt"] - time.time()) < 5
    stats = server.stats()
    assert stats["sale_duplicates"] == 1 and stats["sales"] == 1
    assert stats["requests"]["sale_post"] == 2 and stats["requests"]["sale_get"] == 4


def test_sales_without_transaction_id_are_not_deduped(server: RistaSandbox) -> None:
    a = post(server, "/v1/sale", sale_body(None)).json()
    b = post(server, "/v1/sale", sale_body(None)).json()
    assert a["invoiceNumber"] != b["invoiceNumber"]


def test_dedupe_can_be_switched_off_so_a_second_post_is_a_second_sale(server: RistaSandbox) -> None:
    assert control(server, "POST", "/dedupe", {"enabled": False}).json() == {"dedupe_sales": False}
    first = post(server, "/v1/sale", sale_body()).json()
    second = post(server, "/v1/sale", sale_body())
    assert second.status_code == 201 and second.json()["invoiceNumber"] != first["invoiceNumber"]
    # The lookup still finds the first sale stored for that orderTransactionId.
    assert get(server, "/v1/sale", {"orderTransactionId": "kiosk-order-1"}).json()["invoiceNumber"] == \
        first["invoiceNumber"]
    assert server.stats()["sales"] == 2 and server.stats()["sale_duplicates"] == 0
    assert control(server, "POST", "/dedupe", {"enabled": "no"}).status_code == 400
    server.reset()  # back on after a reset
    assert server.stats()["dedupe_sales"] is True


def test_concurrent_duplicates_make_one_sale(server: RistaSandbox) -> None:
    codes: list[int] = []
    headers = [auth(write=True) for _ in range(8)]

    def send(h: dict[str, str]) -> None:
        codes.append(post(server, "/v1/sale", sale_body("race"), headers=h).status_code)

    threads = [threading.Thread(target=send, args=(h,)) for h in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] * 7 + [201]
    assert len(server.sales) == 1


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"branchCode": None}, "branchCode"),
        ({"channel": None}, "channel"),
        ({"items": []}, "items"),
        ({"items": [{"shortName": "x", "quantity": 1, "unitPrice": 1}]}, "skuCode"),
        ({"items": [{"shortName": "x", "skuCode": "1", "quantity": 0, "unitPrice": 1}]}, "quantity"),
        ({"items": [{"shortName": "x", "skuCode": "1", "quantity": 1}]}, "unitPrice"),
        ({"items": [{"skuCode": "1", "quantity": 1, "unitPrice": 1}]}, "shortName"),
        ({"branchCode": "NOPE"}, "unknown branch"),
        ({"channel": "Zomato"}, "unknown channel"),
        ({"status": "Paid"}, "status"),
    ],
)
def test_sale_validation(server: RistaSandbox, change: dict[str, Any], needle: str) -> None:
    body = {k: v for k, v in {**sale_body(), **change}.items() if v is not None}
    resp = post(server, "/v1/sale", body)
    assert resp.status_code == 400
    assert needle in message(resp)
    assert server.sales == []


def test_sale_body_must_be_json(server: RistaSandbox) -> None:
    resp = requests.post(server.url + "/v1/sale", data="{oops", headers=auth(write=True), timeout=5)
    assert resp.status_code == 400


def test_sale_status_api(server: RistaSandbox) -> None:
    invoice = post(server, "/v1/sale", sale_body()).json()["invoiceNumber"]
    ok = post(server, "/v1/sale/status", {"invoiceNumber": invoice, "status": "Accepted"})
    assert ok.status_code == 200
    assert get(server, "/v1/sale", {"invoice": invoice}).json()["fulfillmentStatus"] == "Accepted"
    assert post(server, "/v1/sale/status", {"invoiceNumber": invoice, "status": "Closed"}).status_code == 400
    assert post(server, "/v1/sale/status", {"invoiceNumber": "X", "status": "Accepted"}).status_code == 404
    assert server.stats()["requests"]["sale_status"] == 3


# -- faults -----------------------------------------------------------------------------------


def add_fault(sb: RistaSandbox, **spec: Any) -> None:
    resp = control(sb, "POST", "/faults", spec)
    assert resp.status_code == 200, resp.text


def test_fault_error_counts_and_routes(server: RistaSandbox) -> None:
    add_fault(server, mode="error", count=2, routes=["catalog"], status=503)
    assert get(server, "/v1/branch/list").status_code == 200  # other routes untouched
    first, second = catalog(server), catalog(server)
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.json() == {"message": "injected failure"}
    assert catalog(server).status_code == 200
    assert server.stats()["faults_served"] == 2


def test_fault_timeout_fires_client_read_timeout(server: RistaSandbox) -> None:
    add_fault(server, mode="timeout", delay=1.5, routes=["catalog"])
    with pytest.raises(requests.ReadTimeout):
        catalog(server, timeout=(2, 0.5))
    assert catalog(server, timeout=(2, 0.5)).status_code == 200


def test_fault_slow_still_answers(server: RistaSandbox) -> None:
    add_fault(server, mode="slow", delay=0.3)
    started = time.monotonic()
    assert catalog(server).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fault_malformed_cycles_through_broken_bodies(server: RistaSandbox) -> None:
    add_fault(server, mode="malformed", count=4, routes=["catalog"])
    nothing, page, bad_items, no_items = (catalog(server) for _ in range(4))
    assert nothing.status_code == 200 and nothing.json() is None
    assert page.headers["Content-Type"].startswith("text/html")
    assert bad_items.json() == {"items": "oops"}
    assert "items" not in no_items.json()


def test_fault_malformed_with_given_body(server: RistaSandbox) -> None:
    add_fault(server, mode="malformed", body="{truncated", routes=["sale_post"])
    resp = post(server, "/v1/sale", sale_body())
    assert resp.status_code == 200 and resp.text == "{truncated"
    assert server.sales == []  # the handler did not run


def test_fault_drop_closes_the_connection(server: RistaSandbox) -> None:
    add_fault(server, mode="drop", routes=["sale_post"])
    with pytest.raises(requests.ConnectionError):
        post(server, "/v1/sale", sale_body())
    assert server.sales == []


def test_fault_store_then_error_stores_the_sale(server: RistaSandbox) -> None:
    add_fault(server, mode="store_then_error")  # defaults to routes ["sale_post"]
    assert catalog(server).status_code == 200
    failed = post(server, "/v1/sale", sale_body())
    assert failed.status_code == 500
    assert len(server.sales) == 1
    retry = post(server, "/v1/sale", sale_body())  # the client's retry, new token
    assert retry.status_code == 200
    assert retry.json()["invoiceNumber"] == server.sales[0]["invoiceNumber"]
    assert len(server.sales) == 1


def test_fault_store_then_timeout(server: RistaSandbox) -> None:
    add_fault(server, mode="store_then_error", delay=1.5)
    with pytest.raises(requests.ReadTimeout):
        post(server, "/v1/sale", sale_body(), timeout=(2, 0.5))
    assert len(server.sales) == 1


def test_faults_listing_clearing_and_validation(server: RistaSandbox) -> None:
    add_fault(server, mode="error", count=3)
    assert len(control(server, "GET", "/faults").json()["pending"]) == 1
    assert control(server, "DELETE", "/faults").json() == {"cleared": 1}
    assert catalog(server).status_code == 200
    assert control(server, "POST", "/faults", {"mode": "explode"}).status_code == 400
    assert control(server, "POST", "/faults", {"mode": "error", "routes": ["menu"]}).status_code == 400
    assert control(server, "POST", "/faults", {"mode": "error", "count": 0}).status_code == 400


def test_auth_runs_before_faults(server: RistaSandbox) -> None:
    add_fault(server, mode="error")
    assert catalog(server, headers={}).status_code == 401
    assert catalog(server).status_code == 500


# -- catalog control ----------------------------------------------------------------------------


def item(sb: RistaSandbox, sku: str) -> dict[str, Any]:
    return next(i for i in catalog(sb).json()["items"] if i["skuCode"] == sku)


def test_item_price_status_name_and_soldout(server: RistaSandbox) -> None:
    updated = control(server, "POST", "/items/1", {"price": 125.5, "status": "Inactive", "name": "Dose"})
    assert updated.status_code == 200
    assert updated.json()["price"] == 125.5 and updated.json()["soldOut"] is False
    live = item(server, "1")
    assert (live["price"], live["status"], live["itemName"]) == (125.5, "Inactive", "Dose")

    control(server, "POST", "/items/9", {"soldOut": True})
    soldout = get(server, "/v1/items/soldout", {"branch": BRANCH}).json()
    assert soldout == {"data": [{"shortName": "Idli Chutney", "longName": "Idli Chutney", "skuCode": "9"}]}
    control(server, "POST", "/items/9", {"soldOut": False})
    assert get(server, "/v1/items/soldout", {"branch": BRANCH}).json() == {"data": []}

    assert control(server, "POST", "/items/404404", {"price": 1}).status_code == 404
    assert control(server, "POST", "/items/1", {"sold_out": True}).status_code == 400
    assert control(server, "POST", "/items/1", {"price": -1}).status_code == 400


def test_catalog_replace_and_reset(server: RistaSandbox) -> None:
    doc = control(server, "GET", "/catalog").json()
    doc["optionSets"] = [{"optionSetId": "os1", "name": "Extra", "min": 0, "max": 1, "options": []}]
    doc["items"] = doc["items"][:2]
    assert control(server, "PUT", "/catalog", doc).status_code == 200
    live = catalog(server).json()
    assert len(live["items"]) == 2 and live["optionSets"][0]["optionSetId"] == "os1"
    assert control(server, "PUT", "/catalog", {"items": "nope"}).status_code == 400

    control(server, "POST", "/items/1", {"price": 1})
    assert control(server, "POST", "/reset").status_code == 200
    assert len(catalog(server).json()["items"]) == 33 and item(server, "1")["price"] == 110


# -- callbacks and webhooks ----------------------------------------------------------------


def sale_with_callback(sb: RistaSandbox, rx: Receiver, **source: Any) -> str:
    body = sale_body()
    body["sourceInfo"].update(
        callbackURL=rx.url + "/hook", callbackHeaders={"X-Kiosk-Secret": "cb-secret"}, **source
    )
    return post(sb, "/v1/sale", body).json()["invoiceNumber"]


def test_status_callback_delivered_with_callback_headers(server: RistaSandbox, receiver: Receiver) -> None:
    invoice = sale_with_callback(server, receiver)
    resp = control(server, "POST", f"/sales/{invoice}/status", {"status": "Accepted"})
    assert resp.status_code == 200 and resp.json()["callback_status"] == 200
    headers, body = receiver.hits[0]
    assert headers["x-kiosk-secret"] == "cb-secret"
    assert headers["content-type"] == "application/json"
    assert body == {
        "type": "order.status",
        "context": {"branchCode": BRANCH},
        "data": {
            "invoiceNumber": invoice,
            "orderNumber": "1",
            "status": "Accepted",
            "channelName": "Takeaway",
            "sourceInvoiceNumber": "K-0001",
        },
    }
    assert get(server, "/v1/sale", {"invoice": invoice}).json()["fulfillmentStatus"] == "Accepted"
    [attempt] = server.stats()["callbacks"]
    assert attempt["url"] == receiver.url + "/hook" and attempt["status"] == 200


def test_status_callback_duplicate_delayed_dropped(server: RistaSandbox, receiver: Receiver) -> None:
    invoice = sale_with_callback(server, receiver)
    dup = control(server, "POST", f"/sales/{invoice}/status", {"status": "Processed", "duplicate": True})
    assert dup.json()["callback_statuses"] == [200, 200] and len(receiver.hits) == 2

    dropped = control(server, "POST", f"/sales/{invoice}/status", {"status": "Closed", "drop": True})
    assert dropped.json()["dropped"] is True and len(receiver.hits) == 2
    assert server.sales[0]["status"] == "Closed"

    receiver.arrived.clear()
    delayed = control(server, "POST", f"/sales/{invoice}/status", {"status": "Delivered", "delay": 0.2})
    assert delayed.json()["callback_status"] is None and len(receiver.hits) == 2
    assert receiver.arrived.wait(3)
    assert receiver.hits[-1][1]["data"]["status"] == "Delivered"
    assert control(server, "POST", f"/sales/{invoice}/status", {"status": "Eaten"}).status_code == 400
    assert control(server, "POST", "/sales/NOPE/status", {"status": "Accepted"}).status_code == 404


def test_status_callback_to_an_unreachable_url(server: RistaSandbox, receiver: Receiver) -> None:
    dead = SandboxServer()  # bound, then closed: nothing listens on its port
    url = dead.url
    dead.httpd.server_close()
    body = sale_body()
    body["sourceInfo"]["callbackURL"] = url + "/hook"
    invoice = post(server, "/v1/sale", body).json()["invoiceNumber"]
    resp = control(server, "POST", f"/sales/{invoice}/status", {"status": "Accepted"})
    assert resp.json()["callback_status"] is None
    assert server.stats()["callbacks"][0]["status"] is None


def test_menu_sync_webhook(server: RistaSandbox, receiver: Receiver) -> None:
    assert control(server, "POST", "/webhooks/menu-sync", {}).status_code == 400  # no URL configured
    server.webhook_url = receiver.url + "/hook"
    resp = control(server, "POST", "/webhooks/menu-sync", {"channel": "Dine In"})
    assert resp.json()["webhook_status"] == 200
    headers, body = receiver.hits[0]
    assert headers["x-rista-secret"] == "sandbox-webhook-secret"
    assert body == {
        "type": "menu.sync",
        "context": {
            "branchCode": BRANCH,
            "branchName": f"Sandbox Branch {BRANCH}",
            "channelName": "Dine In",
            "outletId": f"sandbox-outlet-{BRANCH}",
        },
    }
    receiver.answer = 403
    override = {"type": "menu.item_stock_status_change", "secret": "other", "url": receiver.url + "/hook"}
    assert control(server, "POST", "/webhooks/menu-sync", override).json()["webhook_status"] == 403
    assert receiver.hits[1][0]["x-rista-secret"] == "other"
    assert [w["status"] for w in server.stats()["webhooks"]] == [200, 403]


def test_item_change_notifies_only_when_asked(server: RistaSandbox, receiver: Receiver) -> None:
    server.webhook_url = receiver.url + "/hook"
    control(server, "POST", "/items/9", {"soldOut": True})
    assert receiver.hits == []
    resp = control(server, "POST", "/items/9", {"soldOut": False, "notify": True})
    assert resp.json()["webhook_status"] == 200
    assert receiver.hits[0][1]["type"] == "menu.item_stock_status_change"
    control(server, "POST", "/items/9", {"price": 80, "notify": True})
    assert receiver.hits[1][1]["type"] == "menu.sync"


# -- several branches --------------------------------------------------------------------------

MYS = "MYS01"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RistaSandbox]:
    """BLR01 with the sample menu on both channels; MYS01 with its own 2-item menu, Takeaway only."""
    sample = json.loads((REPO / "sandbox/rista/data/catalog.json").read_text())
    mysuru = {**sample, "items": [{**i, "price": i["price"] + 5} for i in sample["items"][:2]]}
    path = tmp_path_factory.mktemp("catalogs") / "mysuru.json"
    path.write_text(json.dumps(mysuru))
    sb = RistaSandbox(api_key=API_KEY, secret_key=SECRET, branch=[BRANCH, MYS], branch_catalogs={MYS: path},
                      branch_channels={MYS: ["Takeaway"]}).start()
    yield sb
    sb.stop()


@pytest.fixture
def branches(chain: RistaSandbox, receiver: Receiver) -> RistaSandbox:
    chain.reset()
    chain.webhook_url = receiver.url + "/hook"
    return chain


def branch_sale(branch: str, txn: str, channel: str = "Takeaway", **extra: Any) -> dict[str, Any]:
    return sale_body(txn, branchCode=branch, channel=channel, **extra)


def test_branch_list_and_catalogs_are_per_branch(branches: RistaSandbox) -> None:
    listed = get(branches, "/v1/branch/list").json()
    assert [(b["branchCode"], [c["name"] for c in b["channels"]]) for b in listed] == [
        (BRANCH, ["Takeaway", "Dine In"]), (MYS, ["Takeaway"])]
    assert listed[1]["branchName"] == "Sandbox Branch MYS01" and listed[1]["status"] == "Active"
    blr = get(branches, "/v1/catalog", {"branch": BRANCH, "channel": "Dine In"}).json()
    mys = get(branches, "/v1/catalog", {"branch": MYS, "channel": "Takeaway"}).json()
    assert len(blr["items"]) == 33 and len(mys["items"]) == 2
    assert mys["items"][0]["price"] == blr["items"][0]["price"] + 5
    assert get(branches, "/v1/catalog", {"branch": MYS, "channel": "Dine In"}).status_code == 404  # not its channel
    assert get(branches, "/v1/catalog", {"branch": "GOA01", "channel": "Takeaway"}).status_code == 404
    assert branches.branch == BRANCH and branches.branches == [BRANCH, MYS]


def test_sold_out_prices_and_catalog_replacement_stay_in_their_branch(branches: RistaSandbox) -> None:
    assert control(branches, "POST", "/items/1", {"soldOut": True, "branch": MYS}).json()["soldOut"] is True
    control(branches, "POST", "/items/2?branch=MYS01", {"price": 999})
    assert get(branches, "/v1/items/soldout", {"branch": MYS}).json()["data"][0]["skuCode"] == "1"
    assert get(branches, "/v1/items/soldout", {"branch": BRANCH}).json() == {"data": []}
    assert item(branches, "2")["price"] == 140  # BLR01, the default branch, untouched
    control(branches, "POST", "/items/1", {"soldOut": True})  # no branch: the first one
    assert get(branches, "/v1/items/soldout", {"branch": BRANCH}).json()["data"][0]["skuCode"] == "1"

    mys = requests.get(branches.url + "/_control/catalog", params={"branch": MYS}, timeout=5).json()
    mys["items"] = mys["items"][:1]
    put = requests.put(branches.url + "/_control/catalog?branch=MYS01", json=mys, timeout=5)
    assert put.json() == {"replaced": True, "branch": MYS, "items": 1}
    assert len(catalog(branches).json()["items"]) == 33
    assert control(branches, "POST", "/items/1", {"soldOut": True, "branch": "GOA01"}).status_code == 404
    assert control(branches, "POST", "/items/1", {"branch": MYS, "channel": "Dine In"}).status_code == 400
    assert requests.get(branches.url + "/_control/catalog?branch=GOA01", timeout=5).status_code == 404

    overview = requests.get(branches.url + "/_control/branches", timeout=5).json()
    assert [(b["branchCode"], b["soldOut"], b["catalogItems"]) for b in overview] == [
        (BRANCH, ["1"], 33), (MYS, ["1"], 1)]
    branches.reset()
    assert get(branches, "/v1/items/soldout", {"branch": MYS}).json() == {"data": []}
    assert len(get(branches, "/v1/catalog", {"branch": MYS, "channel": "Takeaway"}).json()["items"]) == 2


def test_sales_and_numbers_are_per_branch(branches: RistaSandbox) -> None:
    a = post(branches, "/v1/sale", branch_sale(BRANCH, "order-a")).json()
    b = post(branches, "/v1/sale", branch_sale(MYS, "order-b")).json()
    c = post(branches, "/v1/sale", branch_sale(MYS, "order-c")).json()
    def seq(sale: dict[str, Any], branch: str) -> int:
        prefix, _, number = sale["invoiceNumber"].rpartition("-")
        assert prefix == branch and len(number) >= 6
        return int(number)

    # Each branch numbers its own invoices and orders (invoice numbers survive reset, orders restart).
    assert (seq(b, MYS) + 1, c["orderNumber"]) == (seq(c, MYS), "2")
    assert a["orderNumber"] == b["orderNumber"] == "1" and seq(a, BRANCH) > 0
    assert post(branches, "/v1/sale", branch_sale(MYS, "order-d", "Dine In")).status_code == 400
    assert "unknown branch" in message(post(branches, "/v1/sale", branch_sale("GOA01", "order-e")))
    assert post(branches, "/v1/sale", branch_sale(MYS, "order-b")).json()["invoiceNumber"] == b["invoiceNumber"]

    invoice = c["invoiceNumber"]
    assert get(branches, "/v1/sale", {"invoice": invoice}).json()["sourceInfo"]["orderTransactionId"] == "order-c"
    assert get(branches, "/v1/sale", {"invoice": invoice, "branch": MYS}).status_code == 200
    assert get(branches, "/v1/sale", {"invoice": invoice, "branch": BRANCH}).status_code == 404
    assert get(branches, "/v1/sale", {"invoice": invoice, "branch": "GOA01"}).status_code == 404
    assert get(branches, "/v1/sale", {"orderTransactionId": "order-b", "branch": MYS}).status_code == 200
    wrong = post(branches, "/v1/sale/status", {"invoiceNumber": invoice, "status": "Accepted", "branchCode": BRANCH})
    assert wrong.status_code == 404 and branches.sales_of(MYS)[1]["fulfillmentStatus"] == "Confirmed"
    right = post(branches, "/v1/sale/status", {"invoiceNumber": invoice, "status": "Accepted", "branchCode": MYS})
    assert right.status_code == 200 and branches.sales_of(MYS)[1]["fulfillmentStatus"] == "Accepted"

    assert [s["invoiceNumber"] for s in branches.sales] == [a["invoiceNumber"], b["invoiceNumber"], invoice]
    stats = branches.stats()
    assert stats["sales"] == 3 and stats["sales_by_branch"] == {BRANCH: 1, MYS: 2}
    branches.reset()
    again = post(branches, "/v1/sale", branch_sale(MYS, "order-f")).json()
    assert seq(again, MYS) == seq(c, MYS) + 1 and again["orderNumber"] == "1"  # invoice numbers never repeat


def test_control_sales_lookup_is_exact(branches: RistaSandbox, receiver: Receiver) -> None:
    first = post(branches, "/v1/sale", branch_sale(BRANCH, "order-1")).json()["invoiceNumber"]
    body = branch_sale(MYS, "order-2")
    body["sourceInfo"]["invoiceNumber"] = "MYS-K002"
    second = post(branches, "/v1/sale", body).json()["invoiceNumber"]

    def lookup(**params: str) -> list[str]:
        resp = requests.get(branches.url + "/_control/sales", params=params, timeout=5)
        assert resp.status_code == 200, resp.text
        return [s["invoiceNumber"] for s in resp.json()]

    assert lookup() == [first, second]  # every branch, oldest first
    assert lookup(orderTransactionId="order-2") == [second]  # our order id finds its sale in any branch
    assert lookup(sourceInvoiceNumber="MYS-K002") == [second]
    assert lookup(invoiceNumber=first) == [first]
    assert lookup(branch=MYS) == [second] and lookup(branch=MYS, orderTransactionId="order-1") == []
    assert lookup(orderTransactionId="nope") == []
    assert requests.get(branches.url + "/_control/sales?branch=GOA01", timeout=5).status_code == 404
    odd = requests.get(branches.url + "/_control/sales?invoice=x", timeout=5)
    assert odd.status_code == 400 and "allowed: branch, orderTransactionId" in odd.json()["message"]
    one = requests.get(f"{branches.url}/_control/sales/{second}", timeout=5).json()
    assert one["sourceInfo"]["orderTransactionId"] == "order-2" and one["_duplicates"] == 0
    assert requests.get(branches.url + "/_control/sales/MYS01-99999999", timeout=5).status_code == 404


def test_menu_webhooks_name_their_branch(branches: RistaSandbox, receiver: Receiver) -> None:
    control(branches, "POST", "/webhooks/menu-sync", {"branch": MYS})
    control(branches, "POST", "/webhooks/menu-sync", {})
    control(branches, "POST", "/items/1", {"soldOut": True, "notify": True, "branch": MYS})
    contexts = [body["context"] for _, body in receiver.hits]
    assert [(c["branchCode"], c["channelName"], c["outletId"]) for c in contexts] == [
        (MYS, "Takeaway", "sandbox-outlet-MYS01"), (BRANCH, "Takeaway", "sandbox-outlet-BLR01"),
        (MYS, "Takeaway", "sandbox-outlet-MYS01")]
    assert contexts[0]["branchName"] == "Sandbox Branch MYS01"
    assert receiver.hits[2][1]["type"] == "menu.item_stock_status_change"
    assert [w["branch"] for w in branches.stats()["webhooks"]] == [MYS, BRANCH, MYS]
    assert control(branches, "POST", "/webhooks/menu-sync", {"branch": MYS, "channel": "Dine In"}).status_code == 400
    assert control(branches, "POST", "/webhooks/menu-sync", {"branch": "GOA01"}).status_code == 404


def test_order_status_callbacks_carry_the_sale_branch(branches: RistaSandbox, receiver: Receiver) -> None:
    body = branch_sale(MYS, "order-cb")
    body["sourceInfo"]["callbackURL"] = receiver.url + "/hook"
    invoice = post(branches, "/v1/sale", body).json()["invoiceNumber"]
    control(branches, "POST", f"/sales/{invoice}/status", {"status": "Accepted"})
    assert receiver.hits[0][1]["context"] == {"branchCode": MYS}


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"branch": ""}, "at least one branch"),
        ({"branch": "BLR01,BLR01"}, "repeat"),
        ({"branch": "BLR 01"}, "letters, digits"),
        ({"branch": "BLR01", "branch_catalogs": {"MYS01": "x.json"}}, "does not serve: MYS01"),
        ({"branch": "BLR01", "branch_channels": {"BLR01": []}}, "channels"),
    ],
)
def test_branch_arguments_are_checked(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        RistaSandbox(**kwargs)


def test_a_comma_separated_branch_string_works_in_process_too() -> None:
    sb = RistaSandbox(branch="BLR01, MYS01")
    try:
        assert sb.branches == ["BLR01", "MYS01"]
    finally:
        sb.httpd.server_close()


def test_cli_serves_several_branches(tmp_path: Path) -> None:
    menu = tmp_path / "one-item.json"
    sample = json.loads((REPO / "sandbox/rista/data/catalog.json").read_text())
    menu.write_text(json.dumps({**sample, "items": sample["items"][:1]}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.rista", "--port", "0", "--branch", "BLR01,MYS01",
         "--branch-catalog", f"MYS01={menu}", "--branch-channels", "MYS01=Takeaway,Delivery"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Rista sandbox for branches BLR01, MYS01 listening on http://"), line
        url = line.rsplit(" ", 1)[-1].strip()
        assert "Kitchen page" in proc.stdout.readline()
        overview = requests.get(url + "/_control/branches", timeout=5).json()
        assert [(b["branchCode"], b["catalogItems"], [c["name"] for c in b["channels"]]) for b in overview] == [
            ("BLR01", 33, ["Takeaway", "Dine In"]), ("MYS01", 1, ["Takeaway", "Delivery"])]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(
    "args",
    [["--branch", "BLR01,BLR01"], ["--branch-catalog", "MYS01"], ["--branch-catalog", "BLR01=/nonexistent.json"]],
)
def test_cli_refuses_bad_branch_options_with_a_message(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "sandbox.rista", "--port", "0", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.strip()


# -- the kitchen page -----------------------------------------------------------------------------


def kitchen(sb: RistaSandbox, **params: str) -> requests.Response:
    return requests.get(sb.url + "/", params=params, timeout=5)


def press(sb: RistaSandbox, invoice: str, status: str, back: str = "/?branch=BLR01") -> requests.Response:
    """What the browser sends when a kitchen button is pressed."""
    return requests.post(f"{sb.url}/_control/sales/{invoice}/status", params={"redirect": "1", "next": back},
                         data={"status": status}, allow_redirects=False, timeout=5)


def tickets(page: str) -> list[str]:
    return re.findall(r'data-invoice="([^"]+)"', page)


def test_kitchen_page_shows_each_branch_sales_newest_first(branches: RistaSandbox) -> None:
    empty = kitchen(branches)
    assert empty.status_code == 200 and "No open orders" in empty.text
    assert 'http-equiv="refresh" content="5;url=/?branch=BLR01"' in empty.text
    assert "<script" not in empty.text and "<link" not in empty.text and "src=" not in empty.text
    assert re.findall(r'(?:href|action)="(?!/)', empty.text) == []  # every link stays on the sandbox
    older = branch_sale(BRANCH, "order-old", label="K041 Takeaway")
    older["items"][0]["note"] = "less oil"
    old = post(branches, "/v1/sale", older).json()["invoiceNumber"]
    new = post(branches, "/v1/sale", branch_sale(BRANCH, "order-new", "Dine In", label="K042 Dine In")).json()
    mys = post(branches, "/v1/sale", branch_sale(MYS, "order-mys", label="K001 Takeaway")).json()

    page = kitchen(branches).text  # the first branch by default
    assert tickets(page) == [new["invoiceNumber"], old]
    assert "K042 Dine In" in page and "2 &times;</span>Davanagere Benne Sada Dose" in page
    assert "less oil" in page and "order-old" in page and "K-0001" in page and "&#8377;&nbsp;324.50" in page
    assert "BLR01 (2 open)" in page and "MYS01 (1 open)" in page
    assert tickets(kitchen(branches, branch=MYS).text) == [mys["invoiceNumber"]]
    assert kitchen(branches, branch="GOA01").status_code == 404


def test_kitchen_buttons_move_the_sale_and_call_the_backend(branches: RistaSandbox, receiver: Receiver) -> None:
    body = branch_sale(BRANCH, "order-kds")
    body["sourceInfo"].update(callbackURL=receiver.url + "/hook", callbackHeaders={"X-Kiosk-Secret": "k"})
    invoice = post(branches, "/v1/sale", body).json()["invoiceNumber"]
    page = kitchen(branches).text
    assert f'action="/_control/sales/{invoice}/status?redirect=1&amp;next=/%3Fbranch%3DBLR01"' in page
    assert ">Accept</button>" in page and ">Reject</button>" in page and ">Ready</button>" not in page

    accepted = press(branches, invoice, "Accepted")
    assert accepted.status_code == 303
    location = accepted.headers["Location"]
    assert location.startswith("/?branch=BLR01&msg=") and "answered%20200" in location
    headers, callback = receiver.hits[0]
    assert callback["data"] == {**callback["data"], "invoiceNumber": invoice, "status": "Accepted"}
    assert headers["x-kiosk-secret"] == "k"  # the very callback the control route sends
    page = requests.get(branches.url + location, timeout=5).text
    assert f"{invoice} is now Accepted; the backend answered 200" in page
    assert ">Ready</button>" in page and ">Accept</button>" not in page and "Accepted &rarr; 200" in page

    assert press(branches, invoice, "Processed").status_code == 303
    assert press(branches, invoice, "Delivered").status_code == 303
    assert [h[1]["data"]["status"] for h in receiver.hits] == ["Accepted", "Processed", "Delivered"]
    sale = branches.sales[0]
    assert sale["fulfillmentStatus"] == "Delivered" and sale["orderReadyTimestamp"]
    page = kitchen(branches).text
    assert "In the kitchen (0)" in page and "Finished (1)" in page and ">Ready</button>" not in page

    refused = press(branches, invoice, "Eaten")
    assert refused.status_code == 303 and "msg=Error" in refused.headers["Location"]
    assert len(receiver.hits) == 3 and branches.sales[0]["fulfillmentStatus"] == "Delivered"
    elsewhere = press(branches, invoice, "Closed", back="https://evil.example/")
    assert elsewhere.headers["Location"].startswith("/?msg=")  # never an open redirect


def test_kitchen_page_escapes_what_the_sale_says(branches: RistaSandbox) -> None:
    body = branch_sale(BRANCH, "<script>x</script>", label="<img src=x onerror=alert(1)>")
    body["items"][0]["shortName"] = "<b>Dose</b>"
    post(branches, "/v1/sale", body)
    page = kitchen(branches, msg="<i>hi</i>").text
    assert "<img src=x" not in page and "<b>Dose</b>" not in page and "<script>x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;i&gt;hi&lt;/i&gt;" in page


# -- stats, reset, index, CLI -------------------------------------------------------------------


def test_stats_counts_every_route_kind(server: RistaSandbox) -> None:
    catalog(server)
    get(server, "/v1/items/soldout", {"branch": BRANCH})
    get(server, "/v1/branch/list")
    invoice = post(server, "/v1/sale", sale_body()).json()["invoiceNumber"]
    get(server, "/v1/sale", {"invoice": invoice})
    post(server, "/v1/sale/status", {"invoiceNumber": invoice, "status": "Accepted"})
    stats = control(server, "GET", "/stats").json()
    assert stats == server.stats()
    assert stats["requests"] == dict.fromkeys(
        ["catalog", "soldout", "branch_list", "sale_post", "sale_get", "sale_status"], 1
    )
    assert stats["sales"] == 1
    assert control(server, "GET", "/sales").json()[0]["_receivedAt"] > 0


def test_reset_is_pristine_but_invoice_numbers_never_repeat(server: RistaSandbox) -> None:
    first = post(server, "/v1/sale", sale_body()).json()["invoiceNumber"]
    add_fault(server, mode="error")
    server.reset()
    stats = server.stats()
    assert stats["sales"] == 0 and stats["requests"]["sale_post"] == 0 and server.faults.pending() == []
    second = post(server, "/v1/sale", sale_body()).json()
    assert second["invoiceNumber"] != first and second["orderNumber"] == "1"


def test_routes_page_lists_endpoints(server: RistaSandbox) -> None:
    resp = requests.get(server.url + "/_control", timeout=5)
    assert resp.status_code == 200 and "/_control/faults" in resp.text and 'href="/"' in resp.text


def test_cli_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISTA_API_KEY", "env-key")
    monkeypatch.setenv("KIOSK_BRANCH_CODE", "MYS02")
    monkeypatch.delenv("RISTA_SECRET_KEY", raising=False)
    args = parse_args([])
    assert (args.api_key, args.branch, args.secret_key, args.port) == (
        "env-key",
        "MYS02",
        "sandbox-rista-secret-key-not-for-production",
        8081,
    )
    assert args.webhook_url == "http://127.0.0.1:8000/api/v1/catalog/refresh"


@pytest.mark.parametrize("inherited", ["default", "ignored"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_cli_prints_its_url_and_stops_on_ctrl_c(signum: int, inherited: str) -> None:
    """Stops on SIGINT and SIGTERM even when started with both ignored (a background job)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.rista", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        preexec_fn=_ignore_stop_signals if inherited == "ignored" else None,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url + "/_control/stats", timeout=5).status_code == 200
        proc.send_signal(signum)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
