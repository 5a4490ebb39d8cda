"""PhonePe PG v1 (salt key / X-VERIFY): UPI_QR pay, status, refund, S2S callbacks (protocols.md §1.1).

    X-VERIFY = sha256_hex(signed text + saltKey) + "###" + saltIndex
    signed text: base64 + "/pg/v1/pay" | base64 + "/pg/v1/refund" | "/pg/v1/status/{mid}/{mtid}"
                 | the callback's base64 `response`

The API path prefix (/apis/pg-sandbox, /apis/hermes) is part of the URL but never
of the signed text. Null keys are dropped before base64-encoding (PhonePe's
rule), and digests are compared case-insensitively in constant time. v1 answers
business outcomes with HTTP 200 and `success`/`code`: we decide on `code`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from kiosk_project.core.http import build_session
from kiosk_project.core.parsers import loads
from payments.gateway.base import (
    COMPLETED,
    FAILED,
    PENDING,
    Gateway,
    GatewayNotFound,
    GatewayRejected,
    GatewayUnavailable,
    InitiateResult,
    RefundResult,
    State,
    StatusResult,
    WebhookEvent,
    WebhookMalformed,
    WebhookUnauthorized,
    error_code_of,
    header,
    qr_from_answer,
    raise_for_http,
    send,
)

log = logging.getLogger(__name__)

PAY_PATH = "/pg/v1/pay"
REFUND_PATH = "/pg/v1/refund"
STATUS_PATH = "/pg/v1/status/{mid}/{mtid}"

# `code` decides (protocols.md: "Decide on code"); data.state is informational.
CODE_STATES: dict[str, State] = {
    "PAYMENT_SUCCESS": COMPLETED,
    "PAYMENT_PENDING": PENDING,
    "PAYMENT_ERROR": FAILED,
    "PAYMENT_DECLINED": FAILED,
    "PAYMENT_CANCELLED": FAILED,
    "TIMED_OUT": FAILED,
}
RETRY_CODES = frozenset({"INTERNAL_SERVER_ERROR", "API_RATE_LIMIT_REACHED"})


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def x_verify(signed_text: str, salt_key: str, salt_index: int | str) -> str:
    return f"{sha256_hex(signed_text + salt_key)}###{salt_index}"


def drop_nulls(value: Any) -> Any:
    """PhonePe: "If the value of any parameter is null, it should not be included"."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def encode_request(payload: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(drop_nulls(payload), separators=(",", ":")).encode()).decode("ascii")


def verify_x_verify(given: str, signed_text: str, salt_key: str, salt_index: int) -> bool:
    """Constant-time check of `<hex>###<index>`; the index picks the salt (we hold one)."""
    digest, sep, index = given.strip().rpartition("###")
    if not salt_key:  # no salt configured (a v2 deployment): sha256(response) alone would verify
        return False
    if not sep or index.strip() != str(salt_index):
        return False
    return hmac.compare_digest(digest.lower().encode(), sha256_hex(signed_text + salt_key).encode())


class PhonePeV1(Gateway):
    family = "v1"
    source = "webhook_v1"

    def __init__(self, *, base_url: str, path_prefix: str, merchant_id: str, salt_key: str, salt_index: int,
                 callback_url: str, timeout: tuple[float, float]) -> None:
        self.base_url = base_url.rstrip("/") + ("/" + path_prefix.strip("/") if path_prefix.strip("/") else "")
        self.merchant_id = merchant_id
        self.salt_key = salt_key
        self.salt_index = int(salt_index)
        self.callback_url = callback_url
        self.session = build_session(timeout=timeout)

    def _sign(self, text: str) -> str:
        return x_verify(text, self.salt_key, self.salt_index)

    def _post(self, path: str, payload: dict[str, Any], what: str) -> dict[str, Any]:
        encoded = encode_request(payload)
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "X-VERIFY": self._sign(encoded + path)}
        status, body = send(self.session, "POST", self.base_url + path, headers=headers,
                            data=json.dumps({"request": encoded}))
        return _checked(status, body, what)

    def _status(self, mtid: str, what: str) -> dict[str, Any]:
        path = STATUS_PATH.format(mid=self.merchant_id, mtid=mtid)
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "X-VERIFY": self._sign(path), "X-MERCHANT-ID": self.merchant_id}
        status, body = send(self.session, "GET", self.base_url + path, headers=headers)
        return _checked(status, body, what)

    # -- payments ---------------------------------------------------------------------------------

    def initiate(self, *, merchant_reference: str, amount_paise: int, expire_after_s: int,
                 callback_url: str) -> InitiateResult:
        payload = {
            "merchantId": self.merchant_id,
            "merchantTransactionId": merchant_reference,
            "amount": amount_paise,
            "callbackUrl": callback_url or self.callback_url,
            "paymentInstrument": {"type": "UPI_QR"},
        }
        body = self._post(PAY_PATH, payload, "pay")
        if body.get("code") != "PAYMENT_INITIATED" or not body.get("success"):
            raise GatewayRejected(f"PhonePe pay: {body.get('code')}", code=str(body.get("code") or ""), body=body)
        data = body.get("data") or {}
        instrument = data.get("instrumentResponse") or {}
        qr = qr_from_answer(instrument.get("intentUrl"), instrument.get("qrData"))
        if qr is None:
            raise GatewayRejected("PhonePe pay: answer has no UPI link or QR image", code="NO_QR",
                                  body=_without_image(body))
        # v1 does not say when the QR expires; PhonePe applies its own window, ours is the configured one.
        return InitiateResult(provider_order_id=str(data.get("transactionId") or ""), qr_string=qr[0],
                              qr_image=qr[1],
                              expires_at=datetime.now(tz=UTC) + timedelta(seconds=expire_after_s),
                              raw=_without_image(body))

    def status(self, merchant_reference: str) -> StatusResult:
        body = self._status(merchant_reference, "status")
        state, data = _state_of(body, "status")
        amount = data.get("amount")
        instrument = data.get("paymentInstrument") or {}
        return StatusResult(state=state, amount_paise=amount if isinstance(amount, int) else None,
                            provider_txn_id=str(data.get("transactionId") or ""),
                            utr=str(instrument.get("utr") or "") if isinstance(instrument, dict) else "",
                            raw=body, error_code="" if state == COMPLETED else str(
                                data.get("responseCode") or body.get("code") or ""))

    # -- refunds ----------------------------------------------------------------------------------

    def refund(self, *, merchant_refund_id: str, original_reference: str, amount_paise: int) -> RefundResult:
        payload = {
            "merchantId": self.merchant_id,
            "originalTransactionId": original_reference,
            "merchantTransactionId": merchant_refund_id,
            "amount": amount_paise,
            "callbackUrl": self.callback_url,
        }
        return _refund_result(self._post(REFUND_PATH, payload, "refund"))

    def refund_status(self, merchant_refund_id: str) -> RefundResult:
        return _refund_result(self._status(merchant_refund_id, "refund status"))

    # -- callbacks --------------------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        envelope = loads(body)  # MalformedJSON (400) for anything the one parser refuses
        response = envelope.get("response") if isinstance(envelope, dict) else None
        if not isinstance(response, str) or not response:
            raise WebhookUnauthorized("no base64 `response` to verify")
        if not verify_x_verify(header(headers, "X-VERIFY"), response, self.salt_key, self.salt_index):
            raise WebhookUnauthorized("X-VERIFY does not match sha256(response + salt)###index")
        try:
            decoded_bytes = base64.b64decode(response, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WebhookMalformed("response is not base64") from exc
        decoded = loads(decoded_bytes)
        data = decoded.get("data") if isinstance(decoded, dict) else None
        if not isinstance(data, dict) or not data.get("merchantTransactionId"):
            raise WebhookMalformed("decoded response has no data.merchantTransactionId")
        code = str(decoded.get("code") or "")
        state = data.get("state") or data.get("paymentState") or CODE_STATES.get(code) or code or "UNKNOWN"
        amount = data.get("amount")
        return WebhookEvent(
            kind="refund" if data.get("originalTransactionId") else "payment",
            reference=str(data["merchantTransactionId"]), state=str(state)[:32],
            amount_paise=amount if isinstance(amount, int) else None,
            raw={"response": response, "decoded": decoded}, event=code,
        )


def _checked(status: int, body: Any, what: str) -> dict[str, Any]:
    if status == 401:
        # X-VERIFY or merchant mismatch: our configuration is wrong; a retry will not help.
        raise GatewayRejected(f"PhonePe {what}: AUTHORIZATION_FAILED", http_status=401,
                              code=error_code_of(body) or "AUTHORIZATION_FAILED", body=body)
    raise_for_http(status, body, what)
    if not isinstance(body, dict):
        raise GatewayUnavailable(f"PhonePe {what}: answer is not a JSON object", http_status=status)
    code = str(body.get("code") or "")
    if code in RETRY_CODES:
        raise GatewayUnavailable(f"PhonePe {what}: {code}", http_status=status, code=code, body=body)
    if code == "TRANSACTION_NOT_FOUND":
        raise GatewayNotFound(f"PhonePe {what}: {code}", http_status=status, code=code, body=body)
    if code in ("BAD_REQUEST", "AUTHORIZATION_FAILED"):
        raise GatewayRejected(f"PhonePe {what}: {code}", http_status=status, code=code, body=body)
    return body


def _state_of(body: dict[str, Any], what: str) -> tuple[State, dict[str, Any]]:
    code = str(body.get("code") or "")
    state = CODE_STATES.get(code)
    if state is None:
        raise GatewayUnavailable(f"PhonePe {what}: unexpected code {code!r}", code=code, body=body)
    data: dict[str, Any] = body["data"] if isinstance(body.get("data"), dict) else {}
    reported = data.get("state") or data.get("paymentState")
    if state == COMPLETED and reported not in (None, COMPLETED):
        # `code` says success but the state disagrees: not proof of payment; ask again later.
        state = PENDING
    return state, data


def _refund_result(body: dict[str, Any]) -> RefundResult:
    state, data = _state_of(body, "refund")
    amount = data.get("amount")
    instrument = data.get("paymentInstrument") or {}
    return RefundResult(state=state, amount_paise=amount if isinstance(amount, int) else None,
                        provider_refund_id=str(data.get("transactionId") or ""),
                        utr=str(instrument.get("utr") or "") if isinstance(instrument, dict) else "",
                        raw=body, error_code="" if state != FAILED else str(
                            data.get("responseCode") or body.get("code") or ""))


def _without_image(body: dict[str, Any]) -> dict[str, Any]:
    data = dict(body.get("data") or {})
    instrument = dict(data.get("instrumentResponse") or {})
    if instrument.get("qrData") and not str(instrument["qrData"]).startswith("upi://"):
        instrument["qrData"] = "<omitted>"
    if instrument:
        data["instrumentResponse"] = instrument
    return {**body, "data": data}
