"""The Rista sandbox over real HTTP, with tokens minted the way a Rista client mints them.

No Django, no database: run with
    .venv/bin/pytest -p no:django -p no:cacheprovider sandbox/tests/test_rista_sandbox.py -q
"""

from __future__ import annotations

import os
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


def test_index_page_lists_endpoints(server: RistaSandbox) -> None:
    resp = requests.get(server.url + "/", timeout=5)
    assert resp.status_code == 200 and "/_control/faults" in resp.text


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
