"""PhonePe PG v1 (salt key / X-VERIFY): /pg/v1/pay, /pg/v1/status/{mid}/{mtid}, /pg/v1/refund.

Every request is `{"request": "<base64 JSON>"}` (status: none) signed with
X-VERIFY = sha256_hex(signed text + saltKey) + "###" + saltIndex, where the
signed text is base64 + "/pg/v1/pay" | base64 + "/pg/v1/refund" | the status path.
The API prefix (/apis/pg-sandbox) is never part of the signed text.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from sandbox.httpkit import HttpError, Request, Response
from sandbox.phonepe import shapes, validate
from sandbox.phonepe.auth import XVerifyError, check_x_verify
from sandbox.phonepe.state import LedgerError, Payment, Refund

if TYPE_CHECKING:
    from sandbox.phonepe.server import PhonePeSandbox

# Current docs: merchantTransactionId "< 35" characters (older pages: < 36, < 38) [?]: enforce the strictest.
MAX_TRANSACTION_ID = 34
MAX_USER_ID = 35
INSTRUMENTS = ("UPI_QR", "PAY_PAGE")


def duplicate() -> HttpError:
    return HttpError(417, shapes.v1_error("INVALID_TRANSACTION_ID", "Duplicate transaction id"))


def auth_failed(message: str) -> HttpError:
    return HttpError(401, shapes.v1_error("AUTHORIZATION_FAILED", message))


def not_found() -> Response:
    # [?] HTTP status undocumented; 200 like every other v1 business outcome. Decide on `code`.
    message = "No transaction found with the given details."
    return Response(200, shapes.v1_error("TRANSACTION_NOT_FOUND", message))


def signed_request(sb: PhonePeSandbox, req: Request, api_path: str) -> tuple[dict[str, Any], int]:
    """Check X-VERIFY over base64 + api_path, then decode the payload; returns (payload, salt index)."""
    body = validate.json_object(req)
    encoded = body.get("request")
    if not isinstance(encoded, str) or not encoded:
        raise validate.bad_request("body must be {\"request\": \"<base64 JSON>\"}")
    try:
        index = check_x_verify(req.headers.get("x-verify"), encoded + api_path, sb.config.salt_keys)
    except XVerifyError as exc:
        raise auth_failed(str(exc)) from exc
    try:
        payload = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise validate.bad_request("request is not base64-encoded JSON") from exc
    if not isinstance(payload, dict):
        raise validate.bad_request("request must encode a JSON object")
    if payload.get("merchantId") != sb.config.merchant_id:
        raise auth_failed(f"merchantId {payload.get('merchantId')!r} does not own this salt key")
    return {k: v for k, v in payload.items() if v is not None}, index


def merchant_user_id(payload: dict[str, Any], required: bool) -> str | None:
    if "merchantUserId" not in payload and not required:
        return None
    return validate.reference(payload, "merchantUserId", max_len=MAX_USER_ID)


def instrument_type(payload: dict[str, Any]) -> str:
    instrument = payload.get("paymentInstrument")
    kind = instrument.get("type") if isinstance(instrument, dict) else None
    if kind not in INSTRUMENTS:
        raise validate.bad_request(f"paymentInstrument.type must be one of {', '.join(INSTRUMENTS)} "
                                   "(other instruments are not simulated)")
    return kind


def register(sb: PhonePeSandbox) -> None:
    def pay(req: Request) -> Response:
        payload, index = signed_request(sb, req, "/pg/v1/pay")
        ref = validate.reference(payload, "merchantTransactionId", max_len=MAX_TRANSACTION_ID)
        amount = validate.amount(payload)
        kind = instrument_type(payload)
        callback_url = validate.optional_str(payload, "callbackUrl")
        if not callback_url:
            raise validate.bad_request("callbackUrl is required")
        redirect_url = validate.optional_str(payload, "redirectUrl")
        if kind == "PAY_PAGE" and not redirect_url:
            raise validate.bad_request("redirectUrl is required for PAY_PAGE")
        try:
            payment = sb.gateway.open_payment(
                api="v1", product="pg", ref=ref, amount=amount, instrument=kind,
                expire_after=sb.config.default_expire_after, callback_url=callback_url,
                redirect_url=redirect_url, salt_index=index,
                merchant_user_id=merchant_user_id(payload, required=kind == "PAY_PAGE"),
            )
        except LedgerError as exc:
            raise duplicate() from exc
        return Response(200, shapes.v1_pay_response(payment, sb.base_url(req), sb.config))

    def status(req: Request) -> Response:
        mid, mtid = req.params["merchant_id"], req.params["merchant_transaction_id"]
        try:
            check_x_verify(req.headers.get("x-verify"), f"/pg/v1/status/{mid}/{mtid}", sb.config.salt_keys)
        except XVerifyError as exc:
            raise auth_failed(str(exc)) from exc
        if req.headers.get("x-merchant-id") != mid:
            raise auth_failed("X-MERCHANT-ID header missing or different from the merchantId in the path")
        found = lookup(sb, mid, mtid)
        if found is None:
            return not_found()
        if isinstance(found, Refund):
            return Response(200, shapes.v1_refund_status(found))
        return Response(200, shapes.v1_status(found))

    def refund(req: Request) -> Response:
        payload, index = signed_request(sb, req, "/pg/v1/refund")
        ref = validate.reference(payload, "merchantTransactionId", max_len=MAX_TRANSACTION_ID)
        original = validate.reference(payload, "originalTransactionId", max_len=MAX_TRANSACTION_ID)
        amount = validate.amount(payload)
        try:
            created = sb.gateway.open_refund(
                api="v1", ref=ref, original_ref=original, amount=amount,
                callback_url=validate.optional_str(payload, "callbackUrl"), salt_index=index,
            )
        except LedgerError as exc:
            return refund_refused(sb, exc, ref, original, amount)
        return Response(200, shapes.v1_refund_status(created))

    sb.api_route("POST", "/pg/v1/pay", "v1.pay", "pay", pay)
    sb.api_route("GET", "/pg/v1/status/{merchant_id}/{merchant_transaction_id}", "v1.status", "status",
                 status)
    sb.api_route("POST", "/pg/v1/refund", "v1.refund", "refund", refund)


def lookup(sb: PhonePeSandbox, mid: str, mtid: str) -> Payment | Refund | None:
    """v1 polls payments and refunds through one status route, keyed by merchantTransactionId."""
    if mid != sb.config.merchant_id:
        return None
    for fetch in (sb.gateway.payment, sb.gateway.refund):
        try:
            found = fetch(mtid)
        except LedgerError:
            continue
        if found.api == "v1":
            return found
    return None


def refund_refused(sb: PhonePeSandbox, exc: LedgerError, ref: str, original: str, amount: int) -> Response:
    if exc.kind == "duplicate":
        raise duplicate() from exc
    if exc.kind == "not_found":
        return not_found()
    if exc.kind == "excess":  # PhonePe: "do not re-fire the refund while it is pending"
        return Response(200, shapes.v1_error("PAYMENT_ERROR", "Refund amount exceeds the refundable amount", {
            "merchantId": sb.config.merchant_id,
            "merchantTransactionId": ref,
            "originalTransactionId": original,
            "amount": amount,
            "state": "FAILED",
            "responseCode": "EXCESS_REFUND_AMOUNT",
            "payResponseCode": "EXCESS_REFUND_AMOUNT",
        }))
    raise validate.bad_request(exc.message) from exc
