"""PhonePe's JSON shapes, built from ledger snapshots. No state, no I/O.

v2 times are epoch milliseconds (expireAt, timestamp); v1 has no times at all.
"""

from __future__ import annotations

from typing import Any

from sandbox.phonepe.config import SandboxConfig
from sandbox.phonepe.qr import qr_png_base64
from sandbox.phonepe.state import COMPLETED, FAILED, PENDING, Payment, Refund

V1_MESSAGES = {
    "PAYMENT_SUCCESS": "Your payment is successful.",
    "PAYMENT_PENDING": "Your payment is in pending state.",
    "PAYMENT_ERROR": "Payment Failed",
    "PAYMENT_DECLINED": "Payment declined by user",
    "TIMED_OUT": "The payment failed due to the timeout",
}


# The intentUrl of PhonePe's own v2 UPI_QR sample response: a PhonePe-app link, not a UPI one.
PPE_INTENT_URL = "ppe://url"


def ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


def upi_qr_fields(p: Payment, config: SandboxConfig) -> dict[str, Any]:
    """`intentUrl` and `qrData` of a UPI_QR answer, in the forms the sandbox is set to send.

    The default (a upi:// intentUrl plus a base64 PNG of it) is the best-supported reading;
    the other forms are the ones PhonePe's docs and SDK samples show, so a client that needs
    a upi:// intentUrl, or a qrData of one particular form, fails here as it would there.
    """
    fields: dict[str, Any] = {}
    intent = {"upi": p.intent_url, "ppe": PPE_INTENT_URL, "empty": ""}.get(config.intent_url_form)
    if intent is not None:
        fields["intentUrl"] = intent
    if config.qr_data_form == "png":
        fields["qrData"] = qr_png_base64(p.intent_url)
    elif config.qr_data_form == "data-uri":
        fields["qrData"] = "data:image/png;base64," + qr_png_base64(p.intent_url)
    elif config.qr_data_form == "upi":
        fields["qrData"] = p.intent_url
    return fields


# -- v2 --------------------------------------------------------------------------------------------


def v2_pay_response(p: Payment, base_url: str, config: SandboxConfig) -> dict[str, Any]:
    body: dict[str, Any] = {"orderId": p.provider_id, "state": p.state, "expireAt": ms(p.expire_at)}
    if p.product == "standard":
        body["redirectUrl"] = f"{base_url}/transact/{p.ref}"
    elif p.instrument == "UPI_QR":
        body.update(upi_qr_fields(p, config))
    else:  # UPI_INTENT: the link is the whole answer
        body["intentUrl"] = p.intent_url
    return body


def _upi_rail(p: Payment) -> dict[str, Any]:
    return {
        "type": "UPI",
        "utr": p.utr,
        "upiTransactionId": f"YBL{p.attempt_id[-12:]}" if p.utr and p.attempt_id else None,
        "vpa": p.payer_vpa,
    }


def _account_instrument() -> dict[str, Any]:
    return {"type": "ACCOUNT", "maskedAccountNumber": "XXXXXXXX4321", "accountType": "SAVINGS",
            "ifsc": "SBIN0000001"}


def v2_payment_details(p: Payment) -> list[dict[str, Any]]:
    """One attempt once the customer acted; an order that merely expired has none."""
    if p.attempt_id is None:
        return []
    return [{
        "paymentMode": "UPI_INTENT" if p.instrument == "UPI_INTENT" else "UPI_QR",
        "transactionId": p.attempt_id,
        "timestamp": ms(p.attempt_at),
        "amount": p.reported_amount,
        "state": COMPLETED if p.state == COMPLETED else FAILED,
        "errorCode": p.error_code,
        "detailedErrorCode": p.detailed_error_code,
        "rail": _upi_rail(p),
        "instrument": _account_instrument(),
    }]


def v2_order_status(p: Payment, amount: int | None = None, state: str | None = None) -> dict[str, Any]:
    """The order status body (also the webhook payload). `amount`/`state` override the truth,
    for the wrong_amount and stale_failed_after callback behaviours only."""
    reported = p.reported_amount if amount is None else amount
    body: dict[str, Any] = {
        "merchantId": p.merchant_id,
        "merchantOrderId": p.ref,
        "orderId": p.provider_id,
        "state": state or p.state,
        "amount": reported,
        "payableAmount": reported,
        "feeAmount": 0,
        "expireAt": ms(p.expire_at),
        "metaInfo": p.meta_info or {},
        "paymentDetails": v2_payment_details(p),
    }
    for detail in body["paymentDetails"]:
        detail["amount"] = reported
    if state == FAILED and p.state != FAILED:  # a stale FAILED echo of an older attempt
        body["errorCode"], body["detailedErrorCode"] = "PAYMENT_ERROR", "ZM"
        for detail in body["paymentDetails"]:
            detail.update(state=FAILED, errorCode="PAYMENT_ERROR", detailedErrorCode="ZM")
    elif p.error_code:
        body["errorCode"], body["detailedErrorCode"] = p.error_code, p.detailed_error_code
    return body


def v2_order_event(p: Payment, state: str) -> tuple[str, str]:
    """(event, type): Custom Checkout orders are pg.order.*, Standard Checkout checkout.order.*."""
    family = "checkout" if p.product == "standard" else "pg"
    outcome = "completed" if state == COMPLETED else "failed"
    event = f"{family}.order.{outcome}"
    return event, event.replace(".", "_").upper()


def v2_refund_status(r: Refund, state: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "merchantId": r.merchant_id,
        "merchantRefundId": r.ref,
        "originalMerchantOrderId": r.original_ref,
        "refundId": r.provider_id,
        "amount": r.amount,
        "state": state or r.state,
        "paymentDetails": [],
    }
    if r.state == FAILED:
        body["errorCode"], body["detailedErrorCode"] = r.error_code, r.error_code
    if r.state != PENDING and state is None:
        body["paymentDetails"] = [{
            "paymentMode": "UPI_QR",
            "transactionId": r.provider_id,
            "timestamp": ms(r.resolved_at),
            "amount": r.amount,
            "state": r.state,
            "errorCode": r.error_code,
            "detailedErrorCode": r.error_code,
            "rail": {"type": "UPI", "utr": r.utr, "upiTransactionId": None, "vpa": None},
            "instrument": _account_instrument(),
        }]
    return body


def v2_refund_event(state: str) -> tuple[str, str]:
    outcome = {PENDING: "accepted", COMPLETED: "completed", FAILED: "failed"}[state]
    return f"pg.refund.{outcome}", f"PG_REFUND_{outcome.upper()}"


# -- v1 --------------------------------------------------------------------------------------------


def v1_pay_response(p: Payment, base_url: str, config: SandboxConfig) -> dict[str, Any]:
    if p.instrument == "PAY_PAGE":
        instrument: dict[str, Any] = {
            "type": "PAY_PAGE",
            "redirectInfo": {"url": f"{base_url}/transact/{p.ref}", "method": "GET"},
        }
    else:
        instrument = {"type": "UPI_QR", **upi_qr_fields(p, config)}
    return {
        "success": True,
        "code": "PAYMENT_INITIATED",
        "message": "Payment Iniiated",  # sic: PhonePe's own spelling
        "data": {
            "merchantId": p.merchant_id,
            "merchantTransactionId": p.ref,
            "transactionId": p.provider_id,
            "instrumentResponse": instrument,
        },
    }


def v1_envelope(code: str, data: dict[str, Any] | None, message: str | None = None) -> dict[str, Any]:
    return {
        "success": code in ("PAYMENT_SUCCESS", "PAYMENT_PENDING"),
        "code": code,
        "message": message or V1_MESSAGES.get(code, code),
        "data": data,
    }


def v1_status(p: Payment, amount: int | None = None, state: str | None = None) -> dict[str, Any]:
    """Status body (and decoded callback). `amount`/`state` override the truth for test behaviours."""
    code, response_code = p.code, p.response_code
    if state == FAILED and p.state != FAILED:
        code, response_code = "PAYMENT_ERROR", "ZM"
    paid = (state or p.state) == COMPLETED
    return v1_envelope(code, {
        "merchantId": p.merchant_id,
        "merchantTransactionId": p.ref,
        "transactionId": p.provider_id,
        "amount": p.reported_amount if amount is None else amount,
        "state": state or p.state,
        "responseCode": response_code,
        "paymentInstrument": (
            {"type": "UPI", "utr": p.utr, "upiTransactionId": _upi_rail(p)["upiTransactionId"],
             "vpa": None, "maskedAccountNumber": "XXXXXXXX4321", "ifsc": "SBIN0000001"}
            if paid else None
        ),
    })


def v1_refund_status(r: Refund) -> dict[str, Any]:
    message = "Your request has been successfully completed." if r.state != FAILED else "Refund failed"
    return v1_envelope(r.code, {
        "merchantId": r.merchant_id,
        "merchantTransactionId": r.ref,
        "originalTransactionId": r.original_ref,
        "transactionId": r.provider_id,
        "amount": r.amount,
        "state": r.state,
        "responseCode": r.response_code,
        "paymentInstrument": {"type": "UPI", "utr": r.utr} if r.state == COMPLETED else None,
    }, message)


def v1_error(code: str, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"success": False, "code": code, "message": message, "data": data or {}}
