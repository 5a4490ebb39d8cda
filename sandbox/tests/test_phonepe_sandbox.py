"""The PhonePe sandbox over real HTTP, driven the way our PhonePe clients drive PhonePe.

No Django, no database: run with
    .venv/bin/pytest -p no:django -p no:cacheprovider sandbox/tests/test_phonepe_sandbox.py -q

Checksums on the client side are computed here independently (hashlib), so a bug in
the sandbox's own signing code cannot hide behind itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.httpkit import Request, Response, SandboxServer
from sandbox.phonepe.auth import check_x_verify, webhook_authorization, x_verify
from sandbox.phonepe.server import PhonePeSandbox

REPO = Path(__file__).resolve().parents[2]
SALT = "099eb0cd-02cf-4e2a-8aca-3e6c6aff0399"
MID = "PGTESTPAYUAT"
CLIENT = {"client_id": "TESTCLIENT", "client_secret": "test-secret", "client_version": "1"}
# The SDK's webhook test vector: sha256("username:password").
HOOK_USER, HOOK_PASS = "username", "password"
HOOK_AUTH = "bc842c31a9e54efe320d30d948be61291f3ceee4766e36ab25fa65243cd76e0e"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# protocols.md §1.1 verified vector (pretty-printed payload, PAY_PAGE).
VECTOR_B64 = (
    "ewogICJtZXJjaGFudElkIjogIlBHVEVTVFBBWVVBVCIsCiAgIm1lcmNoYW50VHJhbnNhY3Rpb25JZCI6ICJNVDc4NTA1OTAwNjgxODgx"
    "MDQiLAogICJtZXJjaGFudFVzZXJJZCI6ICJNVUlEMTIzIiwKICAiYW1vdW50IjogMTAwMDAsCiAgInJlZGlyZWN0VXJsIjogImh0dHBz"
    "Oi8vd2ViaG9vay5zaXRlL3JlZGlyZWN0LXVybCIsCiAgInJlZGlyZWN0TW9kZSI6ICJSRURJUkVDVCIsCiAgImNhbGxiYWNrVXJsIjog"
    "Imh0dHBzOi8vd2ViaG9vay5zaXRlL2NhbGxiYWNrLXVybCIsCiAgIm1vYmlsZU51bWJlciI6ICI5OTk5OTk5OTk5IiwKICAicGF5bWVu"
    "dEluc3RydW1lbnQiOiB7CiAgICAidHlwZSI6ICJQQVlfUEFHRSIKICB9Cn0="
)
VECTOR_PAY = "d7a8e4458caa6fcd781166bbdc85fec76740c18cb9baa9a4c48cf2387d554180###1"
VECTOR_STATUS = "95c6d60f014b7190aa417083aca2489bb5b0a729d0421c17dea19f5913e6d741"


# -- fixtures and helpers ---------------------------------------------------------------------------


class Receiver(SandboxServer):
    """Stands in for our backend: records every webhook/callback it is sent."""

    name = "receiver"

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[dict[str, Any]] = []
        self.answer = 200
        self.router.add("POST", "/{family}", self._hook)

    def _hook(self, req: Request) -> Response:
        with self.lock:
            self.hits.append({"path": req.path, "headers": req.headers, "body": req.json()})
        return Response(self.answer, {"ok": True})

    def clear(self) -> None:
        with self.lock:
            self.hits.clear()
        self.answer = 200

    def wait(self, count: int, timeout: float = 3.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.hits) >= count:
                    return list(self.hits)
            time.sleep(0.02)
        with self.lock:
            raise AssertionError(f"expected {count} callbacks, got {len(self.hits)}: {self.hits}")

    def quiet(self, seconds: float = 0.3) -> list[dict[str, Any]]:
        time.sleep(seconds)
        with self.lock:
            return list(self.hits)


class Clock:
    """Real time plus a jump offset: delays still elapse, expiry can be reached at once."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    """Shadow the root conftest's autouse Redis flush: no Django or Redis here."""


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rx = Receiver().start()
    yield rx  # type: ignore[misc]
    rx.stop()


@pytest.fixture(scope="module")
def _clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def server(receiver: Receiver, _clock: Clock) -> Iterator[PhonePeSandbox]:
    # One server per module (stopping one costs httpkit's 0.5 s poll); reset() between tests.
    sandbox = PhonePeSandbox(
        **CLIENT, merchant_id=MID, salt_keys={1: SALT, 2: "second-salt"},
        webhook_url=receiver.url + "/v2", webhook_username=HOOK_USER, webhook_password=HOOK_PASS,
        token_ttl=600, refund_delay=0.2, clock=_clock,
    ).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def clock(_clock: Clock) -> Clock:
    _clock.offset = 0.0
    return _clock


@pytest.fixture
def sb(server: PhonePeSandbox, receiver: Receiver, clock: Clock) -> PhonePeSandbox:
    """The sandbox, pristine: reset() also restores config changed through /_control/config."""
    server.reset()
    receiver.clear()
    return server


def token(sb: PhonePeSandbox) -> str:
    resp = requests.post(f"{sb.url}/v1/oauth/token", data={**CLIENT, "grant_type": "client_credentials"},
                         timeout=5)
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def bearer(sb: PhonePeSandbox, value: str | None = None) -> dict[str, str]:
    return {"Authorization": f"O-Bearer {value or token(sb)}"}


def v2_pay(sb: PhonePeSandbox, ref: str, amount: int = 32450, auth: dict[str, str] | None = None,
           **extra: Any) -> requests.Response:
    body = {"merchantOrderId": ref, "amount": amount,
            "paymentFlow": {"type": "PG", "paymentMode": {"type": "UPI_QR"}}, **extra}
    return requests.post(f"{sb.url}/payments/v2/pay", json=body, headers=auth or bearer(sb), timeout=5)


def v2_status(sb: PhonePeSandbox, ref: str, auth: dict[str, str] | None = None) -> requests.Response:
    return requests.get(f"{sb.url}/payments/v2/order/{ref}/status", headers=auth or bearer(sb), timeout=5)


def control(sb: PhonePeSandbox, path: str, body: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(f"{sb.url}/_control/{path}", json=body, timeout=5)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def v1_post(sb: PhonePeSandbox, api: str, payload: dict[str, Any], salt: str = SALT, index: int = 1,
            prefix: str = "/apis/pg-sandbox") -> requests.Response:
    encoded = base64.b64encode(json.dumps(payload).encode()).decode()
    headers = {"X-VERIFY": f"{sha(encoded + api + salt)}###{index}"}
    return requests.post(f"{sb.url}{prefix}{api}", json={"request": encoded}, headers=headers, timeout=5)


def v1_pay(sb: PhonePeSandbox, ref: str, amount: int = 10000, receiver: Receiver | None = None,
           **extra: Any) -> requests.Response:
    payload = {"merchantId": MID, "merchantTransactionId": ref, "amount": amount,
               "callbackUrl": (receiver.url if receiver else "http://127.0.0.1:9") + "/v1",
               "paymentInstrument": {"type": "UPI_QR"}, "mobileNumber": None, **extra}
    return v1_post(sb, "/pg/v1/pay", payload)


def v1_status(sb: PhonePeSandbox, ref: str, merchant_header: str | None = MID,
              salt: str = SALT) -> requests.Response:
    path = f"/pg/v1/status/{MID}/{ref}"
    headers = {"X-VERIFY": f"{sha(path + salt)}###1"}
    if merchant_header:
        headers["X-MERCHANT-ID"] = merchant_header
    return requests.get(f"{sb.url}/apis/pg-sandbox{path}", headers=headers, timeout=5)


def v1_callback(hit: dict[str, Any]) -> dict[str, Any]:
    """Verify a v1 S2S callback's X-VERIFY the way a merchant must, then decode it."""
    encoded = hit["body"]["response"]
    assert hit["headers"]["x-verify"] == f"{sha(encoded + SALT)}###1"
    return json.loads(base64.b64decode(encoded))


# -- signing: the documented vectors ---------------------------------------------------------------


def test_x_verify_reproduces_the_documented_vectors() -> None:
    assert x_verify(VECTOR_B64 + "/pg/v1/pay", SALT, 1) == VECTOR_PAY
    status = x_verify(f"/pg/v1/status/{MID}/MT7850590068188104", SALT, 1)
    assert status == f"{VECTOR_STATUS}###1"
    # The docs show uppercase hex once; verification must not care.
    assert check_x_verify(VECTOR_PAY.upper(), VECTOR_B64 + "/pg/v1/pay", {1: SALT}) == 1


def test_webhook_authorization_matches_the_sdk_vector() -> None:
    assert webhook_authorization(HOOK_USER, HOOK_PASS) == HOOK_AUTH


# -- v2 OAuth ---------------------------------------------------------------------------------------


def test_token_response_shape(sb: PhonePeSandbox, clock: Clock) -> None:
    resp = requests.post(f"{sb.url}/v1/oauth/token", data={**CLIENT, "grant_type": "client_credentials"},
                         timeout=5)
    body = resp.json()
    assert resp.status_code == 200
    assert body["token_type"] == "O-Bearer" and body["expires_in"] is None
    assert body["access_token"] and body["encrypted_access_token"]
    assert abs(body["issued_at"] - clock()) < 5  # epoch seconds, not ms
    assert body["expires_at"] == body["session_expires_at"] == body["issued_at"] + 600


@pytest.mark.parametrize("change", [{"client_secret": "no"}, {"client_id": "OTHER"}, {"client_version": "2"}])
def test_bad_client_credentials_are_401(sb: PhonePeSandbox, change: dict[str, str]) -> None:
    form = {**CLIENT, "grant_type": "client_credentials", **change}
    resp = requests.post(f"{sb.url}/v1/oauth/token", data=form, timeout=5)
    assert resp.status_code == 401
    assert resp.json()["errorCode"] == "INVALID_CLIENT" and resp.json()["message"]


def test_business_apis_need_a_live_bearer_token(sb: PhonePeSandbox, clock: Clock) -> None:
    assert v2_pay(sb, "NOAUTH", auth={"X-Other": "1"}).status_code == 401
    assert v2_status(sb, "X", auth={"Authorization": "Bearer abc"}).json()["errorCode"] == "UNAUTHORIZED"
    assert v2_status(sb, "X", auth=bearer(sb, "forged")).json()["errorCode"] == "INVALID_TOKEN"

    live = token(sb)
    clock.advance(601)  # past token_ttl
    expired = v2_pay(sb, "LATE-TOKEN", auth=bearer(sb, live))
    assert expired.status_code == 401 and expired.json()["errorCode"] == "TOKEN_EXPIRED"

    fresh = token(sb)
    assert control(sb, "tokens/expire").json()["expired"] == 2
    assert v2_status(sb, "X", auth=bearer(sb, fresh)).status_code == 401
    assert v2_pay(sb, "AFTER-REFRESH").status_code == 200  # a new token works at once
    assert sb.report()["auth_failures"]["total"] == 5


# -- v2 Custom Checkout UPI_QR ------------------------------------------------------------------------


def test_v2_pay_upi_qr_shape(sb: PhonePeSandbox, clock: Clock) -> None:
    resp = v2_pay(sb, "K-1001", 32450, metaInfo={"udf1": "kiosk-3"}, someFutureField=True)
    body = resp.json()
    assert resp.status_code == 200, body
    assert body["orderId"].startswith("OMO") and body["state"] == "PENDING"
    assert abs(body["expireAt"] - (clock() + 480) * 1000) < 5000  # epoch ms, default 480 s
    url = urlsplit(body["intentUrl"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.scheme == "upi" and query["am"] == "324.50" and query["tr"] == body["orderId"]
    assert query["cu"] == "INR" and query["pa"]
    assert not body["qrData"].startswith("data:")
    assert base64.b64decode(body["qrData"]).startswith(PNG_MAGIC)
    assert v2_status(sb, "K-1001").json()["metaInfo"] == {"udf1": "kiosk-3"}


def test_v2_pay_validation(sb: PhonePeSandbox, clock: Clock) -> None:
    auth = bearer(sb)
    too_small = v2_pay(sb, "K-SMALL", 99, auth=auth)
    assert too_small.status_code == 400 and too_small.json()["code"] == "BAD_REQUEST"
    assert too_small.json()["success"] is False
    bad_mode = v2_pay(sb, "K-MODE", auth=auth, paymentFlow={"type": "PG", "paymentMode": {"type": "CARD"}})
    assert bad_mode.status_code == 400
    assert v2_pay(sb, "bad id!", auth=auth).status_code == 400
    short = v2_pay(sb, "K-SHORT", auth=auth, expireAfter=60).json()
    assert abs(short["expireAt"] - (clock() + 300) * 1000) < 5000  # raised to PhonePe's minimum


def test_v2_duplicate_merchant_order_id_is_417(sb: PhonePeSandbox) -> None:
    auth = bearer(sb)
    assert v2_pay(sb, "K-DUP", auth=auth).status_code == 200
    again = v2_pay(sb, "K-DUP", auth=auth)
    assert again.status_code == 417
    assert again.json() | {"data": {}} == {"success": False, "code": "INVALID_TRANSACTION_ID",
                                          "message": "Order ID has already been used", "data": {}}


def test_standard_checkout_under_the_uat_prefix(sb: PhonePeSandbox, receiver: Receiver) -> None:
    base = f"{sb.url}/apis/pg-sandbox"
    form = {**CLIENT, "grant_type": "client_credentials"}
    auth = bearer(sb, requests.post(f"{base}/v1/oauth/token", data=form, timeout=5).json()["access_token"])
    body = {"merchantOrderId": "K-STD", "amount": 1000,
            "paymentFlow": {"type": "PG_CHECKOUT", "merchantUrls": {"redirectUrl": "https://m.example/r"}}}
    created = requests.post(f"{base}/checkout/v2/pay", json=body, headers=auth, timeout=5).json()
    assert created["redirectUrl"].endswith("/transact/K-STD") and "qrData" not in created
    assert requests.get(created["redirectUrl"], timeout=5).status_code == 200
    sb.pay("K-STD")
    status = requests.get(f"{base}/checkout/v2/order/K-STD/status", headers=auth, timeout=5).json()
    assert status["state"] == "COMPLETED"
    assert receiver.wait(1)[0]["body"]["event"] == "checkout.order.completed"


def test_v2_unknown_order_is_404(sb: PhonePeSandbox) -> None:
    resp = v2_status(sb, "NEVER")
    assert resp.status_code == 404 and resp.json()["code"] == "ORDER_NOT_FOUND"


def test_v2_pending_then_completed_with_signed_webhook(sb: PhonePeSandbox, receiver: Receiver) -> None:
    auth = bearer(sb)
    order_id = v2_pay(sb, "K-PAY", 32450, auth=auth).json()["orderId"]
    pending = v2_status(sb, "K-PAY", auth=auth).json()
    assert pending["state"] == "PENDING" and pending["paymentDetails"] == []

    paid = control(sb, "payments/K-PAY/pay")
    assert paid.status_code == 200 and paid.json()["callbacks"][0]["status"] == 200

    status = v2_status(sb, "K-PAY", auth=auth).json()
    assert status["state"] == "COMPLETED" and status["orderId"] == order_id
    assert status["merchantId"] == MID and status["amount"] == status["payableAmount"] == 32450
    attempt = status["paymentDetails"][0]
    assert attempt["paymentMode"] == "UPI_QR" and attempt["state"] == "COMPLETED"
    assert attempt["rail"]["type"] == "UPI" and len(attempt["rail"]["utr"]) == 12

    (hit,) = receiver.wait(1)
    assert hit["path"] == "/v2" and hit["headers"]["authorization"] == HOOK_AUTH
    assert hit["body"]["event"] == "pg.order.completed" and hit["body"]["type"] == "PG_ORDER_COMPLETED"
    assert hit["body"]["payload"] == status


def test_v2_failed_payment(sb: PhonePeSandbox, receiver: Receiver) -> None:
    v2_pay(sb, "K-FAIL")
    sb.fail("K-FAIL")
    status = v2_status(sb, "K-FAIL").json()
    assert status["state"] == "FAILED" and status["errorCode"] == "PAYMENT_ERROR"
    assert status["paymentDetails"][0]["state"] == "FAILED"
    assert receiver.wait(1)[0]["body"]["event"] == "pg.order.failed"
    assert control(sb, "payments/K-FAIL/pay").status_code == 409  # no second outcome without late


def test_customer_paying_a_different_amount_is_reported(sb: PhonePeSandbox, receiver: Receiver) -> None:
    v2_pay(sb, "K-SHORTPAY", 32450)
    control(sb, "payments/K-SHORTPAY/pay", {"amount": 30000})
    status = v2_status(sb, "K-SHORTPAY").json()
    assert status["amount"] == 30000 and status["paymentDetails"][0]["amount"] == 30000
    assert receiver.wait(1)[0]["body"]["payload"]["amount"] == 30000


# -- callback behaviours ------------------------------------------------------------------------------


def test_callback_drop_then_resend(sb: PhonePeSandbox, receiver: Receiver) -> None:
    v2_pay(sb, "K-DROP")
    control(sb, "payments/K-DROP/callback", {"behaviour": "drop"})
    view = control(sb, "payments/K-DROP/pay").json()
    assert view["callbacks"][0]["delivery"] == "dropped"
    assert receiver.quiet() == []
    resent = control(sb, "payments/K-DROP/resend").json()["callbacks"]
    assert resent[0]["status"] == 200
    assert receiver.wait(1)[0]["body"]["payload"]["state"] == "COMPLETED"


def test_callback_delay(sb: PhonePeSandbox, receiver: Receiver) -> None:
    v2_pay(sb, "K-DELAY")
    sb.set_callback("K-DELAY", "delay", delay=0.4)
    started = time.monotonic()
    sb.pay("K-DELAY")
    assert receiver.quiet(0.2) == []
    receiver.wait(1)
    assert time.monotonic() - started >= 0.4


def test_callback_twice_is_a_replay(sb: PhonePeSandbox, receiver: Receiver) -> None:
    v2_pay(sb, "K-TWICE")
    control(sb, "payments/K-TWICE/callback", {"behaviour": "twice"})
    control(sb, "payments/K-TWICE/pay")
    first, second = receiver.wait(2)
    assert first["body"] == second["body"] and first["headers"]["authorization"] == HOOK_AUTH


def test_callback_stale_failed_after_completed(sb: PhonePeSandbox, receiver: Receiver) -> None:
    v2_pay(sb, "K-STALE")
    control(sb, "payments/K-STALE/callback", {"behaviour": "stale_failed_after"})
    control(sb, "payments/K-STALE/pay")
    completed, stale = receiver.wait(2)
    assert completed["body"]["event"] == "pg.order.completed"
    assert stale["body"]["event"] == "pg.order.failed" and stale["body"]["payload"]["state"] == "FAILED"
    assert stale["headers"]["authorization"] == HOOK_AUTH  # genuinely signed, just out of date
    assert v2_status(sb, "K-STALE").json()["state"] == "COMPLETED"  # the truth is unchanged


def test_callback_bad_signature(sb: PhonePeSandbox, receiver: Receiver) -> None:
    v2_pay(sb, "K-FORGED")
    control(sb, "payments/K-FORGED/callback", {"behaviour": "bad_signature"})
    control(sb, "payments/K-FORGED/pay")
    (hit,) = receiver.wait(1)
    assert hit["headers"]["authorization"] != HOOK_AUTH


def test_callback_wrong_amount(sb: PhonePeSandbox, receiver: Receiver) -> None:
    v2_pay(sb, "K-WRONG", 32450)
    control(sb, "payments/K-WRONG/callback", {"behaviour": "wrong_amount"})
    control(sb, "payments/K-WRONG/pay")
    (hit,) = receiver.wait(1)
    assert hit["body"]["payload"]["amount"] != 32450
    assert hit["headers"]["authorization"] == HOOK_AUTH
    assert v2_status(sb, "K-WRONG").json()["amount"] == 32450  # the status API tells the truth


def test_default_callback_behaviour_applies_to_new_payments(sb: PhonePeSandbox, receiver: Receiver) -> None:
    assert control(sb, "callbacks/default", {"behaviour": "drop"}).status_code == 200
    v2_pay(sb, "K-DEFAULT")
    sb.pay("K-DEFAULT")
    assert receiver.quiet() == []
    assert control(sb, "callbacks/default", {"behaviour": "sideways"}).status_code == 400


def test_unreachable_and_failing_receivers_are_recorded(sb: PhonePeSandbox, receiver: Receiver) -> None:
    receiver.answer = 500
    v2_pay(sb, "K-500")
    assert sb.pay("K-500")["callbacks"][0]["status"] == 500
    requests.post(f"{sb.url}/_control/config", json={"webhookUrl": "http://127.0.0.1:9/nothing"}, timeout=5)
    v2_pay(sb, "K-NOWHERE")
    assert sb.pay("K-NOWHERE")["callbacks"][0]["delivery"] == "unreachable"
    report = sb.report()["callbacks"]
    assert report["by_status"] == {"500": 1, "None": 1}


# -- expiry -------------------------------------------------------------------------------------------


def test_expiry_is_lazy_and_still_calls_back(sb: PhonePeSandbox, receiver: Receiver, clock: Clock) -> None:
    v2_pay(sb, "K-EXP")
    clock.advance(481)
    status = v2_status(sb, "K-EXP").json()
    assert status["state"] == "FAILED" and status["errorCode"] == "TXN_NOT_COMPLETED"
    assert status["paymentDetails"] == []
    assert receiver.wait(1)[0]["body"]["event"] == "pg.order.failed"
    refused = control(sb, "payments/K-EXP/pay")
    assert refused.status_code == 409 and "late" in refused.json()["message"]


def test_expiry_calls_back_even_when_nobody_reads(sb: PhonePeSandbox, receiver: Receiver,
                                                  clock: Clock) -> None:
    v1_pay(sb, "MT-SWEPT", receiver=receiver)
    clock.advance(481)
    decoded = v1_callback(receiver.wait(1)[0])  # the sweeper found it
    assert decoded["code"] == "TIMED_OUT" and decoded["data"]["state"] == "FAILED"


def test_late_payment_after_expiry(sb: PhonePeSandbox, receiver: Receiver) -> None:
    v2_pay(sb, "K-LATE")
    assert control(sb, "payments/K-LATE/expire").json()["state"] == "FAILED"
    view = control(sb, "payments/K-LATE/pay", {"late": True}).json()
    assert view["state"] == "COMPLETED" and view["late"] is True
    events = [h["body"]["event"] for h in receiver.wait(2)]
    assert events == ["pg.order.failed", "pg.order.completed"]
    assert v2_status(sb, "K-LATE").json()["state"] == "COMPLETED"


# -- v2 refunds ---------------------------------------------------------------------------------------


def test_v2_refund_flow_and_webhooks(sb: PhonePeSandbox, receiver: Receiver) -> None:
    auth = bearer(sb)
    v2_pay(sb, "K-REF", 32450, auth=auth)
    refund_url = f"{sb.url}/payments/v2/refund"
    early = requests.post(refund_url, json={"merchantRefundId": "R-0", "originalMerchantOrderId": "K-REF",
                                            "amount": 1000}, headers=auth, timeout=5)
    assert early.status_code == 400  # nothing to refund before payment
    sb.pay("K-REF")
    body = {"merchantRefundId": "R-1", "originalMerchantOrderId": "K-REF", "amount": 30000}
    created = requests.post(refund_url, json=body, headers=auth, timeout=5).json()
    assert created["refundId"].startswith("OMR")
    assert created == {"refundId": created["refundId"], "amount": 30000, "state": "PENDING"}
    assert requests.post(refund_url, json=body, headers=auth, timeout=5).status_code == 417
    excess = requests.post(refund_url, json={**body, "merchantRefundId": "R-2", "amount": 2451},
                           headers=auth, timeout=5)
    assert excess.status_code == 400 and excess.json()["code"] == "EXCESS_REFUND_AMOUNT"

    events = [h["body"]["event"] for h in receiver.wait(3)]  # order completed, refund accepted, completed
    assert events == ["pg.order.completed", "pg.refund.accepted", "pg.refund.completed"]
    status = requests.get(f"{refund_url}/R-1/status", headers=auth, timeout=5).json()
    assert status | {"paymentDetails": []} == {
        "merchantId": MID, "merchantRefundId": "R-1", "originalMerchantOrderId": "K-REF",
        "refundId": created["refundId"], "amount": 30000, "state": "COMPLETED", "paymentDetails": []}
    assert receiver.hits[2]["body"]["payload"]["state"] == "COMPLETED"
    assert receiver.hits[2]["headers"]["authorization"] == HOOK_AUTH


def test_v2_refund_held_then_failed_by_control(sb: PhonePeSandbox, receiver: Receiver) -> None:
    control(sb, "config", {"refundDelay": None})
    v2_pay(sb, "K-HOLD")
    sb.pay("K-HOLD")
    requests.post(f"{sb.url}/payments/v2/refund", headers=bearer(sb), timeout=5,
                  json={"merchantRefundId": "R-HOLD", "originalMerchantOrderId": "K-HOLD", "amount": 500})
    assert receiver.quiet(0.3)[-1]["body"]["event"] == "pg.refund.accepted"
    assert control(sb, "refunds/R-HOLD/fail").json()["state"] == "FAILED"
    assert receiver.wait(3)[-1]["body"]["event"] == "pg.refund.failed"
    assert control(sb, "refunds/R-HOLD/complete").status_code == 409


# -- v1 (salt key) -------------------------------------------------------------------------------------


def test_v1_pay_status_and_signed_callback(sb: PhonePeSandbox, receiver: Receiver) -> None:
    resp = v1_pay(sb, "MT-1", 10000, receiver, someUnknownField="ok")
    body = resp.json()
    assert resp.status_code == 200, body
    assert body["success"] is True and body["code"] == "PAYMENT_INITIATED"
    data = body["data"]
    assert data["merchantId"] == MID and data["merchantTransactionId"] == "MT-1" and data["transactionId"]
    instrument = data["instrumentResponse"]
    assert instrument["type"] == "UPI_QR" and instrument["intentUrl"].startswith("upi://pay?")
    assert base64.b64decode(instrument["qrData"]).startswith(PNG_MAGIC)

    pending = v1_status(sb, "MT-1").json()
    assert pending["code"] == "PAYMENT_PENDING" and pending["data"]["state"] == "PENDING"
    assert receiver.quiet(0.1) == []  # v1 calls back on terminal states only

    sb.pay("MT-1")
    decoded = v1_callback(receiver.wait(1)[0])
    assert decoded["code"] == "PAYMENT_SUCCESS" and decoded["data"]["state"] == "COMPLETED"
    assert decoded["data"]["amount"] == 10000
    status = v1_status(sb, "MT-1").json()
    assert status == decoded
    assert status["data"]["paymentInstrument"]["type"] == "UPI" and status["data"]["paymentInstrument"]["utr"]


def test_v1_checksum_and_merchant_header_are_enforced(sb: PhonePeSandbox) -> None:
    payload = {"merchantId": MID, "merchantTransactionId": "MT-SIG", "amount": 10000,
               "callbackUrl": "http://127.0.0.1:9/cb", "paymentInstrument": {"type": "UPI_QR"}}
    for salt, index in (("wrong-salt", 1), (SALT, 7)):
        resp = v1_post(sb, "/pg/v1/pay", payload, salt=salt, index=index)
        assert resp.status_code == 401 and resp.json()["code"] == "AUTHORIZATION_FAILED"
    assert v1_post(sb, "/pg/v1/pay", payload, salt="second-salt", index=2).status_code == 200
    assert v1_status(sb, "MT-SIG", salt="wrong").json()["code"] == "AUTHORIZATION_FAILED"
    assert v1_status(sb, "MT-SIG", merchant_header=None).status_code == 401
    assert sb.report()["auth_failures"]["by_route"] == {"v1.pay": 2, "v1.status": 2}


def test_v1_validation_duplicates_and_unknown(sb: PhonePeSandbox) -> None:
    small = v1_pay(sb, "MT-SMALL", 99)
    assert small.status_code == 400 and small.json()["code"] == "BAD_REQUEST"
    assert v1_pay(sb, "MT-CARD", paymentInstrument={"type": "CARD"}).status_code == 400
    assert v1_pay(sb, "M" * 35).status_code == 400  # the docs say "< 35" characters
    assert v1_pay(sb, "MT-DUP").status_code == 200
    dup = v1_pay(sb, "MT-DUP")
    assert dup.status_code == 417 and dup.json()["code"] == "INVALID_TRANSACTION_ID"
    unknown = v1_status(sb, "MT-NEVER")
    assert unknown.status_code == 200 and unknown.json()["code"] == "TRANSACTION_NOT_FOUND"
    assert unknown.json()["success"] is False


def test_v1_is_served_at_the_root_too(sb: PhonePeSandbox) -> None:
    payload = {"merchantId": MID, "merchantTransactionId": "MT-ROOT", "amount": 100,
               "callbackUrl": "http://127.0.0.1:9/cb", "paymentInstrument": {"type": "UPI_QR"}}
    assert v1_post(sb, "/pg/v1/pay", payload, prefix="").status_code == 200


def test_v1_decline_and_timeout_codes(sb: PhonePeSandbox, receiver: Receiver) -> None:
    v1_pay(sb, "MT-DECL", receiver=receiver)
    v1_pay(sb, "MT-TIME", receiver=receiver)
    control(sb, "payments/MT-DECL/decline")
    control(sb, "payments/MT-TIME/expire")
    decoded = [v1_callback(h) for h in receiver.wait(2)]
    codes = {d["data"]["merchantTransactionId"]: d["code"] for d in decoded}
    assert codes == {"MT-DECL": "PAYMENT_DECLINED", "MT-TIME": "TIMED_OUT"}
    assert v1_status(sb, "MT-TIME").json()["data"]["state"] == "FAILED"


def test_v1_pay_page_redirects_to_the_sandbox_page(sb: PhonePeSandbox) -> None:
    resp = v1_pay(sb, "MT-PAGE", merchantUserId="MUID123", redirectUrl="https://merchant.example/back",
                  redirectMode="REDIRECT", paymentInstrument={"type": "PAY_PAGE"})
    info = resp.json()["data"]["instrumentResponse"]
    assert info["type"] == "PAY_PAGE" and info["redirectInfo"]["method"] == "GET"
    page = requests.get(info["redirectInfo"]["url"], timeout=5)
    assert page.status_code == 200 and "MT-PAGE" in page.text and "<svg" in page.text


def test_v1_refund_pending_excess_then_success(sb: PhonePeSandbox, receiver: Receiver) -> None:
    v1_pay(sb, "MT-PAID", 10000, receiver)
    sb.pay("MT-PAID")
    refund = {"merchantId": MID, "merchantUserId": "U1", "originalTransactionId": "MT-PAID",
              "merchantTransactionId": "RMT-1", "amount": 4000, "callbackUrl": receiver.url + "/v1"}
    first = v1_post(sb, "/pg/v1/refund", refund).json()
    assert first["code"] == "PAYMENT_PENDING" and first["data"]["state"] == "PENDING"
    second = v1_post(sb, "/pg/v1/refund", {**refund, "merchantTransactionId": "RMT-2", "amount": 100}).json()
    assert second["code"] == "PAYMENT_ERROR" and second["success"] is False
    assert second["data"]["responseCode"] == second["data"]["payResponseCode"] == "EXCESS_REFUND_AMOUNT"

    hits = receiver.wait(2)  # the payment's callback, then the refund's
    decoded = v1_callback(hits[1])
    assert decoded["code"] == "PAYMENT_SUCCESS" and decoded["data"]["merchantTransactionId"] == "RMT-1"
    assert v1_status(sb, "RMT-1").json()["data"]["state"] == "COMPLETED"
    too_much = v1_post(sb, "/pg/v1/refund", {**refund, "merchantTransactionId": "RMT-3", "amount": 6001})
    assert too_much.json()["data"]["responseCode"] == "EXCESS_REFUND_AMOUNT"


# -- faults -------------------------------------------------------------------------------------------


def test_fault_error_for_the_next_n_requests(sb: PhonePeSandbox) -> None:
    auth = bearer(sb)
    assert control(sb, "faults", {"mode": "error", "count": 2}).status_code == 200
    for _ in range(2):
        down = v2_pay(sb, "K-DOWN", auth=auth)
        assert down.status_code == 500 and down.json()["code"] == "INTERNAL_SERVER_ERROR"
    assert v2_pay(sb, "K-DOWN", auth=auth).status_code == 200  # the failed calls created nothing
    assert sb.report()["faults"]["injected"] == {"error": 2}


def test_fault_timeout_and_route_filter(sb: PhonePeSandbox) -> None:
    auth = bearer(sb)
    control(sb, "faults", {"mode": "timeout", "count": 1, "delay": 1.0, "routes": ["status"]})
    assert v2_pay(sb, "K-SLOWNET", auth=auth).status_code == 200  # pay is not targeted
    with pytest.raises(requests.Timeout):
        requests.get(f"{sb.url}/payments/v2/order/K-SLOWNET/status", headers=auth, timeout=0.5)
    assert v2_status(sb, "K-SLOWNET", auth=auth).json()["state"] == "PENDING"


def test_a_request_in_flight_across_a_reset_is_dropped_and_not_counted(sb: PhonePeSandbox) -> None:
    """One test's slow request must not land in the next test's counters (or ledger)."""
    auth = bearer(sb)
    v2_pay(sb, "K-LEAK", auth=auth)
    control(sb, "faults", {"mode": "slow", "count": 1, "delay": 30.0, "routes": ["status"]})
    outcome: list[BaseException | int] = []

    def slow_status() -> None:
        try:
            outcome.append(requests.get(f"{sb.url}/payments/v2/order/K-LEAK/status", headers=auth,
                                        timeout=10).status_code)
        except requests.RequestException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=slow_status)
    caller.start()
    deadline = time.monotonic() + 5
    while sb.faults.injected["slow"] == 0:  # the request is now asleep inside the fault
        assert time.monotonic() < deadline
        time.sleep(0.01)
    started = time.monotonic()
    sb.reset()
    caller.join(timeout=5)
    assert not caller.is_alive() and time.monotonic() - started < 5  # woken, not left sleeping 30 s
    assert isinstance(outcome[0], requests.ConnectionError)  # dropped unanswered
    assert sb.report()["requests"] == {}
    auth = bearer(sb)
    assert sb.report()["requests"] == {"v2.token": 1}


def test_fault_drop_slow_and_clear(sb: PhonePeSandbox) -> None:
    auth = bearer(sb)
    control(sb, "faults", {"mode": "drop", "count": None, "routes": ["pay"]})
    with pytest.raises(requests.ConnectionError):
        v2_pay(sb, "K-DROPPED", auth=auth)
    assert requests.delete(f"{sb.url}/_control/faults", timeout=5).json() == {"active": None}
    control(sb, "faults", {"mode": "slow", "delay": 0.3, "routes": ["pay"]})
    started = time.monotonic()
    assert v2_pay(sb, "K-SLOW", auth=auth).status_code == 200  # late, but processed
    assert time.monotonic() - started >= 0.3
    assert control(sb, "faults", {"mode": "melt"}).status_code == 400


# -- page, report, reset, CLI --------------------------------------------------------------------------


def test_page_lists_pending_payments_and_its_pay_form_works(sb: PhonePeSandbox, receiver: Receiver) -> None:
    v2_pay(sb, "K-PAGE", 32450)
    page = requests.get(f"{sb.url}/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "K-PAGE" in page.text and "324.50" in page.text and "<svg" in page.text
    assert 'action="/_control/payments/K-PAGE/pay?redirect=1' in page.text
    assert requests.get(f"{sb.url}/_control/ui", timeout=5).status_code == 200

    form = requests.post(f"{sb.url}/_control/payments/K-PAGE/pay?redirect=1&next=/", data={"x": ""},
                         allow_redirects=False, timeout=5)
    assert form.status_code == 303 and form.headers["Location"].startswith("/?msg=")
    assert v2_status(sb, "K-PAGE").json()["state"] == "COMPLETED"
    receiver.wait(1)
    after = requests.get(sb.url + form.headers["Location"], timeout=5).text
    assert "pay: K-PAGE" in after and "Pay late" not in after
    again = requests.post(f"{sb.url}/_control/payments/K-PAGE/pay?redirect=1&next=//evil.example",
                          allow_redirects=False, timeout=5)
    assert again.headers["Location"].startswith("/?msg=Error")  # errors come back as a message


def test_report_counts_routes_and_callbacks(sb: PhonePeSandbox, receiver: Receiver) -> None:
    auth = bearer(sb)
    v2_pay(sb, "K-REP", auth=auth)
    v2_status(sb, "K-REP", auth=auth)
    sb.pay("K-REP")
    report = requests.get(f"{sb.url}/_control/report", timeout=5).json()
    assert report["requests"] == {"v2.token": 1, "v2.pay": 1, "v2.order_status": 1}
    assert report["payments"] == {"total": 1, "by_state": {"COMPLETED": 1}}
    (record,) = report["callbacks"]["records"]
    assert record["event"] == "pg.order.completed" and record["status"] == 200
    listed = requests.get(f"{sb.url}/_control/payments", timeout=5).json()["payments"]
    assert [p["ref"] for p in listed] == ["K-REP"]

    assert control(sb, "reset").json() == {"reset": True}
    assert sb.payments == [] and sb.report()["requests"] == {}
    assert v2_status(sb, "K-REP", auth=auth).status_code == 401  # tokens are forgotten too


# -- documented answer shapes a client must handle: qrData forms, orderId-only webhooks ------------------


def qr_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in ("intentUrl", "qrData") if k in body}


def png_of(qr_data: str) -> bytes:
    return base64.b64decode(qr_data.removeprefix("data:image/png;base64,"))


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_pay_answers_with_qr_data_only_in_each_documented_form(sb: PhonePeSandbox, receiver: Receiver,
                                                               api: str) -> None:
    def pay(ref: str) -> dict[str, Any]:
        if api == "v2":
            return qr_fields(v2_pay(sb, ref).json())
        return qr_fields(v1_pay(sb, ref, receiver=receiver).json()["data"]["instrumentResponse"])

    assert control(sb, "config", {"intentUrlForm": "absent", "qrDataForm": "upi"}).status_code == 200
    upi_only = pay("QR-UPI")
    assert list(upi_only) == ["qrData"] and upi_only["qrData"].startswith("upi://pay?")
    intent = sb.payment("QR-UPI")["intentUrl"]
    assert upi_only["qrData"] == intent  # the very link a UPI app must read from the QR

    control(sb, "config", {"qrDataForm": "data-uri", "intentUrlForm": "ppe"})
    data_uri = pay("QR-URI")
    assert data_uri["intentUrl"] == "ppe://url"  # PhonePe's sample: an app link, not a UPI one
    assert data_uri["qrData"].startswith("data:image/png;base64,")
    assert png_of(data_uri["qrData"]).startswith(PNG_MAGIC)

    control(sb, "config", {"qrDataForm": "png", "intentUrlForm": "empty"})
    png = pay("QR-PNG")
    assert png["intentUrl"] == "" and png_of(png["qrData"]).startswith(PNG_MAGIC)
    assert not png["qrData"].startswith("data:")

    sb.reset()  # back to the constructor's forms: a upi:// intentUrl plus a base64 PNG
    default = pay("QR-DEFAULT")
    assert default["intentUrl"].startswith("upi://pay?") and png_of(default["qrData"]).startswith(PNG_MAGIC)


def test_qr_forms_do_not_touch_upi_intent_or_the_status_and_payment_still_works(
        sb: PhonePeSandbox, receiver: Receiver) -> None:
    control(sb, "config", {"intentUrlForm": "absent", "qrDataForm": "absent"})
    intent = v2_pay(sb, "K-INTENT", paymentFlow={"type": "PG", "paymentMode": {"type": "UPI_INTENT"}}).json()
    assert intent["intentUrl"].startswith("upi://pay?") and "qrData" not in intent
    bare = v2_pay(sb, "K-BARE").json()
    assert set(bare) == {"orderId", "state", "expireAt"}
    sb.pay("K-BARE")
    assert v2_status(sb, "K-BARE").json()["state"] == "COMPLETED"


def test_config_switches_are_validated_all_or_nothing(sb: PhonePeSandbox) -> None:
    before = requests.get(f"{sb.url}/_control/config", timeout=5).json()
    assert (before["qrDataForm"], before["intentUrlForm"], before["callbackIds"]) == ("png", "upi", "both")
    refused = control(sb, "config", {"webhookUrl": "http://127.0.0.1:9/elsewhere", "qrDataForm": "svg"})
    assert refused.status_code == 400 and "qrDataForm must be one of" in refused.json()["message"]
    assert control(sb, "config", {"callbackIds": "merchantOrderId"}).status_code == 400
    assert requests.get(f"{sb.url}/_control/config", timeout=5).json() == before  # nothing changed
    with pytest.raises(ValueError, match="qr_data_form"):
        PhonePeSandbox(qr_data_form="jpeg")


def test_webhooks_can_identify_the_order_by_phonepe_order_id_only(sb: PhonePeSandbox,
                                                                  receiver: Receiver) -> None:
    assert control(sb, "config", {"callbackIds": "orderId"}).json()["callbackIds"] == "orderId"
    order_id = v2_pay(sb, "K-OLDSHAPE").json()["orderId"]
    sb.pay("K-OLDSHAPE")
    (hit,) = receiver.wait(1)
    payload = hit["body"]["payload"]
    assert "merchantOrderId" not in payload and payload["orderId"] == order_id
    assert payload["state"] == "COMPLETED" and hit["headers"]["authorization"] == HOOK_AUTH  # signed as ever
    assert v2_status(sb, "K-OLDSHAPE").json()["merchantOrderId"] == "K-OLDSHAPE"  # the status API is unchanged
    receiver.clear()
    sb.resend("K-OLDSHAPE")  # a replay is the same message
    assert "merchantOrderId" not in receiver.wait(1)[0]["body"]["payload"]

    receiver.clear()
    v1_pay(sb, "MT-OLDSHAPE", receiver=receiver)  # v1 callbacks always name merchantTransactionId
    sb.pay("MT-OLDSHAPE")
    assert v1_callback(receiver.wait(1)[0])["data"]["merchantTransactionId"] == "MT-OLDSHAPE"


def test_response_forms_from_the_constructor_and_the_command_line(receiver: Receiver) -> None:
    from sandbox.phonepe.__main__ import parse_args

    args = parse_args(["--qr-data-form", "upi", "--intent-url-form", "absent", "--callback-ids", "orderId"])
    assert (args.qr_data_form, args.intent_url_form, args.callback_ids) == ("upi", "absent", "orderId")
    with pytest.raises(SystemExit):
        parse_args(["--qr-data-form", "gif"])
    other = PhonePeSandbox(**CLIENT, webhook_url=receiver.url + "/v2", qr_data_form="upi",
                           intent_url_form="absent", callback_ids="orderId").start()
    try:
        answer = v2_pay(other, "K-CTOR").json()
        assert "intentUrl" not in answer and answer["qrData"].startswith("upi://")
        other.reset()  # reset keeps what the constructor chose
        assert requests.get(f"{other.url}/_control/config", timeout=5).json()["qrDataForm"] == "upi"
    finally:
        other.stop()


@pytest.mark.parametrize("inherited", ["default", "ignored"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_command_line_starts_prints_its_url_and_stops_on_ctrl_c(signum: int, inherited: str) -> None:
    """Stops on SIGINT and SIGTERM even when started with both ignored (a background job)."""
    env = {**os.environ, "PHONEPE_SANDBOX_WEBHOOK_URL": "", "PHONEPE_MERCHANT_ID": "CLIMERCHANT"}
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.phonepe", "--port", "0"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=_ignore_stop_signals if inherited == "ignored" else None)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]  # printed once it listens
        assert "ready on http://127.0.0.1:" in line, line
        url = line.split("ready on ")[1].split()[0]
        assert requests.get(f"{url}/_control/config", timeout=5).json()["merchantId"] == "CLIMERCHANT"
        proc.send_signal(signum)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
