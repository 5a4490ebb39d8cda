"""The payment gateway interface: what the rest of the app may ask PhonePe, in our words.

Implementations (phonepe_v2, phonepe_v1) own every PhonePe HTTP detail: URLs,
credentials, signatures, timeouts, token caching, and the translation of
PhonePe's failures into the three exceptions below. Nothing outside
`payments.gateway` imports `requests` for PhonePe.

States are normalised to PhonePe's own three: PENDING, COMPLETED, FAILED.
Amounts are paise (int) at this boundary and nowhere else.
"""

from __future__ import annotations

import abc
import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from kiosk_project.core.errors import ServiceUnavailable, UpstreamError

State = Literal["PENDING", "COMPLETED", "FAILED"]
PENDING: State = "PENDING"
COMPLETED: State = "COMPLETED"
FAILED: State = "FAILED"


class GatewayError(Exception):
    """Base for gateway failures; `api_error()` turns one into the kiosk-facing error."""

    def __init__(self, message: str, *, http_status: int | None = None, code: str = "",
                 body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code  # PhonePe's code / errorCode when it gave one
        self.body = body

    def api_error(self) -> UpstreamError | ServiceUnavailable:
        raise NotImplementedError


class GatewayUnavailable(GatewayError):
    """Timeout, connection error, 5xx, 429, or PhonePe's own "try again" answer: retry later."""

    def api_error(self) -> ServiceUnavailable:
        return ServiceUnavailable("PhonePe is not answering; please try again in a moment.",
                                  code="PAYMENT_GATEWAY_UNAVAILABLE", details={"retryable": True})


class GatewayTimeout(GatewayUnavailable):
    """The request may have reached PhonePe (read timeout): its effect is unknown."""


class GatewayRejected(GatewayError):
    """PhonePe refused the request (4xx, or an auth failure that a fresh token did not fix)."""

    def api_error(self) -> UpstreamError:
        return UpstreamError("PhonePe rejected the payment request.", code="PAYMENT_GATEWAY_REJECTED",
                             details={"retryable": False, "provider_code": self.code or None})


class GatewayNotFound(GatewayRejected):
    """PhonePe knows no such order/transaction/refund."""


class GatewayDuplicate(GatewayRejected):
    """The merchant reference was already used (HTTP 417 INVALID_TRANSACTION_ID)."""


class WebhookUnauthorized(Exception):
    """The callback's signature/authorization did not verify."""


class WebhookMalformed(Exception):
    """The callback verified but its body is not a PhonePe callback we can read."""


@dataclass(frozen=True)
class InitiateResult:
    provider_order_id: str
    qr_string: str  # the UPI link the QR encodes ("" when PhonePe gave only an image)
    expires_at: datetime
    raw: dict[str, Any] = field(repr=False)
    qr_image: str = ""  # PhonePe's own QR as a data: URI, when it gave an image and no UPI link


MAX_QR_IMAGE_BYTES = 256 * 1024  # PhonePe's PNGs are a few KB; anything near this is not a QR


def qr_from_answer(intent_url: Any, qr_data: Any) -> tuple[str, str] | None:
    """(qr_string, qr_image) from a UPI_QR pay answer, or None when it holds nothing a kiosk can show.

    PhonePe tells merchants to render the QR from `qrData`, which its documents and SDKs show as a
    base64 PNG, as a `data:image/png;base64,` URI, or as the UPI string itself; `intentUrl` may be a
    `upi://` link, PhonePe's sample `ppe://url` (a PhonePe-app link no other UPI app opens), empty or
    absent. A UPI link is preferred (we render a crisp SVG from it); otherwise PhonePe's image is used.
    """
    for candidate in (intent_url, qr_data):
        if isinstance(candidate, str) and candidate.startswith("upi://"):
            return candidate, ""
    if not isinstance(qr_data, str) or not qr_data or len(qr_data) > MAX_QR_IMAGE_BYTES * 4 // 3 + 64:
        return None
    encoded = qr_data.removeprefix("data:image/png;base64,")
    try:
        png = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    return "", "data:image/png;base64," + encoded


@dataclass(frozen=True)
class StatusResult:
    state: State
    amount_paise: int | None
    provider_txn_id: str
    utr: str
    raw: dict[str, Any] = field(repr=False)
    error_code: str = ""


@dataclass(frozen=True)
class RefundResult:
    state: State
    amount_paise: int | None
    provider_refund_id: str
    utr: str
    raw: dict[str, Any] = field(repr=False)
    error_code: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    kind: Literal["payment", "refund"]
    reference: str  # our merchant reference (payment) or merchant refund id (refund); "" if PhonePe left it out
    state: str  # as PhonePe wrote it (COMPLETED, FAILED, CONFIRMED, ...): recorded, never trusted
    amount_paise: int | None
    raw: dict[str, Any] = field(repr=False)
    event: str = ""  # v2 event name / v1 code
    provider_order_id: str = ""  # PhonePe's orderId, by which a callback without our reference is looked up


class Gateway(abc.ABC):
    """One PhonePe API family. Instances are shared across threads (see get_gateway)."""

    family: str  # "v2" | "v1"
    source: str  # the PaymentEvent source of its callbacks

    @property
    def provider(self) -> str:
        return f"phonepe_{self.family}"

    @abc.abstractmethod
    def initiate(self, *, merchant_reference: str, amount_paise: int, expire_after_s: int,
                 callback_url: str) -> InitiateResult: ...

    @abc.abstractmethod
    def status(self, merchant_reference: str) -> StatusResult: ...

    @abc.abstractmethod
    def refund(self, *, merchant_refund_id: str, original_reference: str, amount_paise: int) -> RefundResult: ...

    @abc.abstractmethod
    def refund_status(self, merchant_refund_id: str) -> RefundResult: ...

    @abc.abstractmethod
    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify (constant time) and decode a callback; raises WebhookUnauthorized / WebhookMalformed."""


def header(headers: Mapping[str, str], name: str) -> str:
    """Case-insensitive header lookup over a plain mapping (Django's request.headers is one already)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


# -- shared HTTP translation (used by both PhonePe modules) -----------------------------------------


def send(session: Any, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    """Make one request; returns (HTTP status, parsed JSON or None). Network failures become ours.

    A connect timeout or refused connection never reached PhonePe; a read timeout
    may have (GatewayTimeout), which matters only for writes.
    """
    import requests

    try:
        resp = session.request(method, url, **kwargs)
    except requests.exceptions.ConnectTimeout as exc:
        raise GatewayUnavailable(f"PhonePe connect timeout: {exc}") from exc
    except requests.exceptions.Timeout as exc:
        raise GatewayTimeout(f"PhonePe read timeout: {exc}") from exc
    except requests.exceptions.RequestException as exc:  # refused, reset, DNS, dropped mid-answer
        raise GatewayUnavailable(f"PhonePe unreachable: {exc.__class__.__name__}") from exc
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = None
    return resp.status_code, body


def error_code_of(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("code") or body.get("errorCode") or "")
    return ""


def raise_for_http(status: int, body: Any, what: str) -> None:
    """Translate a non-2xx answer (401 is handled by the caller before this)."""
    if 200 <= status < 300:
        return
    code = error_code_of(body)
    message = f"PhonePe {what}: HTTP {status} {code}".strip()
    if status == 429 or status >= 500:
        raise GatewayUnavailable(message, http_status=status, code=code, body=body)
    if status == 404:
        raise GatewayNotFound(message, http_status=status, code=code, body=body)
    if status == 417 or code == "INVALID_TRANSACTION_ID":
        raise GatewayDuplicate(message, http_status=status, code=code, body=body)
    raise GatewayRejected(message, http_status=status, code=code, body=body)
