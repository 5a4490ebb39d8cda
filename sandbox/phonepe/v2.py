"""PhonePe PG v2: OAuth token, Custom Checkout (/payments/v2, UPI_QR) and
Standard Checkout (/checkout/v2, hosted page), order and refund status.

Error bodies: auth failures `{"errorCode", "message"}` (401); business errors
`{"success": false, "code", "message"}` with 400/404/417.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.httpkit import Handler, HttpError, Request, Response
from sandbox.phonepe import shapes, validate
from sandbox.phonepe.state import LedgerError

if TYPE_CHECKING:
    from sandbox.phonepe.server import PhonePeSandbox

MAX_ORDER_ID = 63
QR_MODES = ("UPI_QR", "UPI_INTENT")


def business_error(status: int, code: str, message: str) -> HttpError:
    return HttpError(status, {"success": False, "code": code, "message": message, "data": {}})


def ledger_error(exc: LedgerError, subject: str = "Order") -> HttpError:
    """Translate a refused bookkeeping action into PhonePe v2's vocabulary."""
    if exc.kind == "not_found":
        return business_error(404, f"{subject.upper()}_NOT_FOUND", f"{subject} not found: {exc.message}")
    if exc.kind == "duplicate":
        return business_error(417, "INVALID_TRANSACTION_ID", f"{subject} ID has already been used")
    if exc.kind == "excess":  # [?] undocumented for v2; v1 calls it EXCESS_REFUND_AMOUNT
        return business_error(400, "EXCESS_REFUND_AMOUNT", exc.message)
    return business_error(400, "BAD_REQUEST", exc.message)


def expire_after(sb: PhonePeSandbox, body: dict[str, Any]) -> int:
    """Default 480 s; below PhonePe's 300 s minimum it is raised to the minimum [?: real API may 400]."""
    value = body.get("expireAfter")
    if value is None:
        return sb.config.default_expire_after
    if isinstance(value, bool) or not isinstance(value, int):
        raise validate.bad_request("expireAfter must be an integer number of seconds")
    if value > sb.config.max_expire_after:
        raise validate.bad_request(f"expireAfter must be at most {sb.config.max_expire_after}")
    return max(value, sb.config.min_expire_after)


def meta_info(body: dict[str, Any]) -> dict[str, Any] | None:
    value = body.get("metaInfo")
    if value is not None and not isinstance(value, dict):
        raise validate.bad_request("metaInfo must be an object")
    return value


def payment_flow(body: dict[str, Any], standard: bool) -> str:
    """Returns the instrument: UPI_QR / UPI_INTENT (Custom Checkout) or PG_CHECKOUT (Standard)."""
    flow = body.get("paymentFlow")
    if not isinstance(flow, dict):
        raise validate.bad_request("paymentFlow is required")
    if standard:
        if flow.get("type") != "PG_CHECKOUT":
            raise validate.bad_request("paymentFlow.type must be PG_CHECKOUT")
        return "PG_CHECKOUT"
    if flow.get("type") != "PG":
        raise validate.bad_request("paymentFlow.type must be PG")
    mode = flow.get("paymentMode")
    mode_type = mode.get("type") if isinstance(mode, dict) else None
    if mode_type not in QR_MODES:
        raise validate.bad_request(f"paymentFlow.paymentMode.type must be one of {', '.join(QR_MODES)}")
    return mode_type


def register(sb: PhonePeSandbox) -> None:
    def token(req: Request) -> Response:
        return Response(200, sb.tokens.issue(req.form()))

    def make_pay(standard: bool) -> Handler:
        def pay(req: Request) -> Response:
            sb.tokens.check(req)
            body = validate.json_object(req)
            ref = validate.reference(body, "merchantOrderId", max_len=MAX_ORDER_ID)
            amount = validate.amount(body)
            instrument = payment_flow(body, standard)
            try:
                payment = sb.gateway.open_payment(
                    api="v2", product="standard" if standard else "custom", ref=ref, amount=amount,
                    instrument=instrument, expire_after=expire_after(sb, body), meta_info=meta_info(body),
                    redirect_url=_redirect_url(body),
                )
            except LedgerError as exc:
                raise ledger_error(exc) from exc
            return Response(200, shapes.v2_pay_response(payment, sb.base_url(req), sb.config))

        return pay

    def order_status(req: Request) -> Response:
        sb.tokens.check(req)
        try:
            payment = sb.gateway.payment(req.params["merchant_order_id"])
        except LedgerError as exc:
            raise ledger_error(exc) from exc
        if payment.api != "v2":
            raise ledger_error(LedgerError("not_found", payment.ref))
        return Response(200, shapes.v2_order_status(payment))

    def refund(req: Request) -> Response:
        sb.tokens.check(req)
        body = validate.json_object(req)
        ref = validate.reference(body, "merchantRefundId", max_len=MAX_ORDER_ID)
        original = validate.reference(body, "originalMerchantOrderId", max_len=MAX_ORDER_ID)
        amount = validate.amount(body)
        try:
            created = sb.gateway.open_refund(api="v2", ref=ref, original_ref=original, amount=amount)
        except LedgerError as exc:
            raise ledger_error(exc, "Refund" if exc.kind == "duplicate" else "Order") from exc
        return Response(200, {"refundId": created.provider_id, "amount": created.amount,
                              "state": created.state})

    def refund_status(req: Request) -> Response:
        sb.tokens.check(req)
        try:
            refund_ = sb.gateway.refund(req.params["merchant_refund_id"])
        except LedgerError as exc:
            raise ledger_error(exc, "Refund") from exc
        if refund_.api != "v2":
            raise ledger_error(LedgerError("not_found", refund_.ref), "Refund")
        return Response(200, shapes.v2_refund_status(refund_))

    sb.api_route("POST", "/v1/oauth/token", "v2.token", "token", token)
    sb.api_route("POST", "/payments/v2/pay", "v2.pay", "pay", make_pay(standard=False))
    sb.api_route("POST", "/checkout/v2/pay", "v2.checkout_pay", "pay", make_pay(standard=True))
    for family in ("payments", "checkout"):
        sb.api_route("GET", f"/{family}/v2/order/{{merchant_order_id}}/status", "v2.order_status",
                     "status", order_status)
    sb.api_route("POST", "/payments/v2/refund", "v2.refund", "refund", refund)
    sb.api_route("GET", "/payments/v2/refund/{merchant_refund_id}/status", "v2.refund_status", "status",
                 refund_status)


def _redirect_url(body: dict[str, Any]) -> str | None:
    urls = (body.get("paymentFlow") or {}).get("merchantUrls")
    return urls.get("redirectUrl") if isinstance(urls, dict) else None
