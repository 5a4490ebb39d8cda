"""PhonePe PG v2 (OAuth): Custom Checkout UPI_QR, order status, refunds, webhooks (protocols.md §1.2).

* Token: `POST {oauth}/v1/oauth/token` (client credentials, form-encoded), used as
  `Authorization: O-Bearer <token>`. Cached per process and shared by threads;
  reused for half its lifetime (the SDK's rule), measured on our clock from when
  we received it so PhonePe's clock skew cannot keep a dead token alive.
* On a 401 from a business API the token is force-refreshed and the call retried
  once. That is safe for every call we make: status reads are idempotent, and a
  401 means PhonePe refused before creating anything (pay, refund).
* Webhooks carry `Authorization: sha256_hex(username + ":" + password)`, compared
  in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
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

TOKEN_PATH = "/v1/oauth/token"  # noqa: S105 (a URL path, not a secret)
PAY_PATH = "/payments/v2/pay"
ORDER_STATUS_PATH = "/payments/v2/order/{ref}/status"
REFUND_PATH = "/payments/v2/refund"
REFUND_STATUS_PATH = "/payments/v2/refund/{ref}/status"

_STATES: dict[str, State] = {"PENDING": PENDING, "COMPLETED": COMPLETED, "FAILED": FAILED}
# A refund PhonePe has accepted but not finished is CONFIRMED in webhooks ("pg.refund.accepted").
_REFUND_STATES: dict[str, State] = {**_STATES, "CONFIRMED": PENDING}


def webhook_authorization(username: str, password: str) -> str:
    """What PhonePe sends as `Authorization` on every v2 webhook (bare hex, no scheme)."""
    return hashlib.sha256(f"{username}:{password}".encode()).hexdigest()


class PhonePeV2(Gateway):
    family = "v2"
    source = "webhook_v2"

    def __init__(self, *, base_url: str, oauth_url: str, client_id: str, client_secret: str, client_version: str,
                 webhook_username: str, webhook_password: str, timeout: tuple[float, float]) -> None:
        self.base_url = base_url.rstrip("/")
        self.oauth_url = oauth_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.client_version = str(client_version)
        # No credentials configured: sha256(":") is public, so nothing may verify against it.
        self._webhook_auth = (webhook_authorization(webhook_username, webhook_password)
                              if webhook_username and webhook_password else "")
        self.session = build_session(timeout=timeout)
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._token_refresh_at = 0.0  # time.monotonic() after which we fetch a new one

    # -- token ------------------------------------------------------------------------------------

    def _access_token(self, *, stale: str | None = None) -> str:
        """The cached token, or a fresh one. `stale` forces a refresh unless another thread already did."""
        with self._token_lock:
            fresh_enough = self._token is not None and time.monotonic() < self._token_refresh_at
            if fresh_enough and (stale is None or self._token != stale):
                return self._token  # type: ignore[return-value]
            return self._fetch_token()

    def _fetch_token(self) -> str:
        form = {"client_id": self.client_id, "client_secret": self.client_secret,
                "client_version": self.client_version, "grant_type": "client_credentials"}
        received = time.monotonic()
        status, body = send(self.session, "POST", self.oauth_url + TOKEN_PATH, data=form,
                            headers={"Accept": "application/json"})
        if status in (400, 401, 403):
            log.error("PhonePe refused our client credentials", extra={"status": status, "code": error_code_of(body)})
            raise GatewayRejected(f"PhonePe token: HTTP {status}", http_status=status, code=error_code_of(body),
                                  body=body)
        raise_for_http(status, body, "token")
        if not isinstance(body, dict) or not body.get("access_token"):
            raise GatewayUnavailable("PhonePe token: answer without access_token", http_status=status)
        issued, expires = body.get("issued_at"), body.get("expires_at")
        lifetime = float(expires - issued) if isinstance(issued, int) and isinstance(expires, int) else 600.0
        self._token = f"{body.get('token_type') or 'O-Bearer'} {body['access_token']}"
        self._token_refresh_at = received + max(lifetime, 0.0) / 2
        return self._token

    def invalidate_token(self) -> None:
        with self._token_lock:
            self._token = None

    # -- calls ------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, what: str, body: dict[str, Any] | None = None) -> Any:
        token = self._access_token()
        for attempt in (1, 2):
            headers = {"Authorization": token, "Accept": "application/json"}
            kwargs: dict[str, Any] = {"headers": headers}
            if body is not None:
                headers["Content-Type"] = "application/json"
                kwargs["data"] = json.dumps(body, separators=(",", ":"))
            status, answer = send(self.session, method, self.base_url + path, **kwargs)
            if status == 401 and attempt == 1:
                log.info("PhonePe answered 401; refreshing the token and retrying once",
                         extra={"call": what, "code": error_code_of(answer)})
                token = self._access_token(stale=token)
                continue
            if status == 401:
                raise GatewayRejected(f"PhonePe {what}: unauthorized with a fresh token", http_status=401,
                                      code=error_code_of(answer) or "UNAUTHORIZED", body=answer)
            raise_for_http(status, answer, what)
            if not isinstance(answer, dict):
                raise GatewayUnavailable(f"PhonePe {what}: answer is not a JSON object", http_status=status)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    # -- payments ---------------------------------------------------------------------------------

    def initiate(self, *, merchant_reference: str, amount_paise: int, expire_after_s: int,
                 callback_url: str) -> InitiateResult:
        # v2 webhooks go to the URL configured in PhonePe's dashboard; callback_url is not sent.
        body = {
            "merchantOrderId": merchant_reference,
            "amount": amount_paise,
            "expireAfter": expire_after_s,
            "paymentFlow": {"type": "PG", "paymentMode": {"type": "UPI_QR"}},
        }
        answer = self._call("POST", PAY_PATH, "pay", body)
        qr = qr_from_answer(answer.get("intentUrl"), answer.get("qrData"))
        if qr is None or not answer.get("orderId"):
            raise GatewayRejected("PhonePe pay: answer has no orderId, or no UPI link or QR image", code="NO_QR",
                                  body=_without_image(answer))
        expire_at = answer.get("expireAt")
        expires = (datetime.fromtimestamp(expire_at / 1000, tz=UTC) if isinstance(expire_at, int | float)
                   else datetime.now(tz=UTC) + timedelta(seconds=expire_after_s))
        return InitiateResult(provider_order_id=str(answer["orderId"]), qr_string=qr[0], qr_image=qr[1],
                              expires_at=expires, raw=_without_image(answer))

    def status(self, merchant_reference: str) -> StatusResult:
        answer = self._call("GET", ORDER_STATUS_PATH.format(ref=merchant_reference) + "?details=false",
                            "order status")
        state = _STATES.get(str(answer.get("state")))
        if state is None:
            raise GatewayUnavailable(f"PhonePe order status: unknown state {answer.get('state')!r}")
        amount = answer.get("amount") if isinstance(answer.get("amount"), int) else None
        details = [d for d in answer.get("paymentDetails") or [] if isinstance(d, dict)]
        attempt = next((d for d in details if d.get("state") == COMPLETED), details[-1] if details else {})
        if state == COMPLETED and isinstance(attempt.get("amount"), int) and attempt["amount"] != amount:
            amount = attempt["amount"]  # what actually moved wins over what the order asked for
        rail: dict[str, Any] = attempt["rail"] if isinstance(attempt.get("rail"), dict) else {}
        return StatusResult(
            state=state, amount_paise=amount, provider_txn_id=str(attempt.get("transactionId") or ""),
            utr=str(rail.get("utr") or ""), raw=answer,
            error_code=str(answer.get("detailedErrorCode") or answer.get("errorCode") or ""),
        )

    # -- refunds ----------------------------------------------------------------------------------

    def refund(self, *, merchant_refund_id: str, original_reference: str, amount_paise: int) -> RefundResult:
        body = {"merchantRefundId": merchant_refund_id, "originalMerchantOrderId": original_reference,
                "amount": amount_paise}
        answer = self._call("POST", REFUND_PATH, "refund", body)
        return _refund_result(answer)

    def refund_status(self, merchant_refund_id: str) -> RefundResult:
        answer = self._call("GET", REFUND_STATUS_PATH.format(ref=merchant_refund_id), "refund status")
        return _refund_result(answer)

    # -- webhooks ---------------------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        given = header(headers, "Authorization").strip().lower()
        if not given or not self._webhook_auth or not hmac.compare_digest(given.encode(),
                                                                          self._webhook_auth.encode()):
            raise WebhookUnauthorized("Authorization does not match sha256(username:password)")
        message = loads(body)  # MalformedJSON (400) for anything the one parser refuses
        payload = message.get("payload") if isinstance(message, dict) else None
        if not isinstance(payload, dict):
            raise WebhookMalformed("no payload object")
        event = str(message.get("event") or "")
        kind_type = str(message.get("type") or "")
        is_refund = event.startswith("pg.refund.") or kind_type.startswith("PG_REFUND_")
        reference = payload.get("merchantRefundId" if is_refund else "merchantOrderId")
        order_id = payload.get("orderId")
        provider_order_id = order_id if isinstance(order_id, str) and not is_refund else ""
        if not isinstance(reference, str) or not reference:
            # Older documented order-webhook shapes carry only PhonePe's orderId: the receiver looks it up.
            if not provider_order_id:
                raise WebhookMalformed("payload has no merchant reference")
            reference = ""
        amount = payload.get("amount")
        return WebhookEvent(kind="refund" if is_refund else "payment", reference=reference,
                            state=str(payload.get("state") or event or "UNKNOWN")[:32],
                            amount_paise=amount if isinstance(amount, int) else None, raw=message, event=event,
                            provider_order_id=provider_order_id[:64])


def _refund_result(answer: dict[str, Any]) -> RefundResult:
    state = _REFUND_STATES.get(str(answer.get("state")))
    if state is None:
        raise GatewayUnavailable(f"PhonePe refund: unknown state {answer.get('state')!r}")
    details = [d for d in answer.get("paymentDetails") or [] if isinstance(d, dict)]
    rail = (details[-1].get("rail") if details else None) or {}
    amount = answer.get("amount")
    return RefundResult(state=state, amount_paise=amount if isinstance(amount, int) else None,
                        provider_refund_id=str(answer.get("refundId") or ""), utr=str(rail.get("utr") or ""),
                        raw=answer, error_code=str(answer.get("errorCode") or ""))


def _without_image(answer: dict[str, Any]) -> dict[str, Any]:
    """The pay answer minus the base64 PNG (tens of KB we never use: we render our own SVG)."""
    return {k: ("<omitted>" if k == "qrData" and v and not str(v).startswith("upi://") else v)
            for k, v in answer.items()}
