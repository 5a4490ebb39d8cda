"""The catalogue of every error code an API answer can carry: its HTTP status and what the customer is told.

Every app's errors come from here: an `ApplicationError` subclass names its `code` and takes its status
and message from this table (core.errors), so a code means one thing everywhere, and the kiosk's
translations (kiosk_screen/static/kiosk/strings.en.js) and the OpenAPI schema can rely on one list.
A raise may still give a more specific message or details; a new code is added here first (a subclass
with a code missing from this table fails at import, and a test checks every literal code used).
"""

from __future__ import annotations

from typing import NamedTuple


class ErrorCode(NamedTuple):
    status: int
    message: str


CATALOGUE: dict[str, ErrorCode] = {
    # -- the platform (kiosk_project.core): every request -------------------------------------------
    "BAD_REQUEST": ErrorCode(400, "The request could not be processed."),
    "VALIDATION_ERROR": ErrorCode(400, "The request is invalid."),
    "MALFORMED_REQUEST": ErrorCode(400, "The request body is not valid JSON."),
    "NOT_AUTHENTICATED": ErrorCode(401, "A valid kiosk key is required: Authorization: Kiosk <key>."),
    "PERMISSION_DENIED": ErrorCode(403, "You do not have permission to do this."),
    "NOT_FOUND": ErrorCode(404, "Not found."),
    "METHOD_NOT_ALLOWED": ErrorCode(405, "This method is not allowed here."),
    "NOT_ACCEPTABLE": ErrorCode(406, "No acceptable representation."),
    "CONFLICT": ErrorCode(409, "The request conflicts with the current state."),
    "PAYLOAD_TOO_LARGE": ErrorCode(413, "The request body is too large."),
    "UNSUPPORTED_MEDIA_TYPE": ErrorCode(415, "Send the body as application/json."),
    "RATE_LIMITED": ErrorCode(429, "Too many requests from this kiosk; slow down."),
    "INTERNAL_ERROR": ErrorCode(500, "Something went wrong on our side; please try again."),
    "UPSTREAM_ERROR": ErrorCode(502, "An upstream service failed; try again shortly."),
    "SERVICE_UNAVAILABLE": ErrorCode(503, "A service this request needs is unavailable; try again shortly."),
    # -- Rista (kiosk_project.integrations.rista) -----------------------------------------------------
    "RISTA_REJECTED": ErrorCode(502, "The restaurant's POS rejected the request."),
    "RISTA_UNAVAILABLE": ErrorCode(503, "The restaurant's POS is not answering; try again shortly."),
    "RISTA_TIMEOUT": ErrorCode(503, "The restaurant's POS is not answering; try again shortly."),
    # -- the menu (catalog) ---------------------------------------------------------------------------
    "INVALID_ORDER_MODE": ErrorCode(400, "Unknown order mode."),
    "WEBHOOK_UNAUTHORIZED": ErrorCode(401, "Missing or wrong webhook secret."),  # PhonePe's too
    "CHANNEL_NOT_FOUND": ErrorCode(404, "Unknown channel."),
    "BRANCH_NOT_FOUND": ErrorCode(404, "Unknown branch."),
    "STORE_CLOSED": ErrorCode(409, "The store is closed; orders cannot be placed now."),
    "ITEM_UNAVAILABLE": ErrorCode(409, "Some items are not available right now."),
    "ITEM_NOT_FOUND": ErrorCode(422, "Some items are not on the menu."),
    "INVALID_OPTIONS": ErrorCode(422, "Some option choices are not valid."),
    "RISTA_INVALID_CATALOG": ErrorCode(502, "Rista returned something that is not a catalog."),
    "REFRESH_FAILED": ErrorCode(502, "Refresh failed; the previous menu stays in place."),
    "CATALOG_UNAVAILABLE": ErrorCode(503, "The menu is temporarily unavailable; please try again in a moment."),
    # -- checkout (orders) ----------------------------------------------------------------------------
    "INVALID_IDEMPOTENCY_KEY": ErrorCode(400, "Idempotency-Key must be 1-128 printable ASCII characters."),
    "ORDER_NOT_FOUND": ErrorCode(404, "No such order."),
    "PRICE_CHANGED": ErrorCode(409, "The price has changed; show the customer the new total."),
    "IDEMPOTENCY_KEY_REUSED": ErrorCode(422, "This Idempotency-Key was already used for a different order."),
    "ORDER_MODE_NOT_ALLOWED": ErrorCode(422, "This kiosk does not take orders in that mode."),
    # -- payments -------------------------------------------------------------------------------------
    "WEBHOOK_INVALID": ErrorCode(400, "The callback could not be read."),
    "PAYMENT_NOT_FOUND": ErrorCode(404, "No such payment."),
    "ORDER_NOT_PAYABLE": ErrorCode(
        409, "This order cannot be paid (only PENDING orders within their payment window can)."),
    "AMOUNT_MISMATCH": ErrorCode(409, "The amount does not equal the order's total."),
    "PAYMENT_IN_PROGRESS": ErrorCode(409, "A QR for this order is being created; ask again in a moment."),
    "PAYMENT_NOT_REFUNDABLE": ErrorCode(409, "Only a payment PhonePe reported as paid can be refunded."),
    "ORDER_ALREADY_PAID": ErrorCode(
        409, "This order has been paid and cannot be cancelled; show the customer their order number."),
    "PAYMENT_GATEWAY_REJECTED": ErrorCode(502, "PhonePe rejected the payment request."),
    "PAYMENT_GATEWAY_UNAVAILABLE": ErrorCode(503, "PhonePe is not answering; please try again in a moment."),
    # -- the kitchen (kds_bridge) ---------------------------------------------------------------------
    "KDS_WEBHOOK_UNAUTHORIZED": ErrorCode(401, "Missing or wrong kitchen callback secret."),
}


def error_code(code: str) -> ErrorCode:
    """The catalogue's entry; KeyError names the code to add."""
    try:
        return CATALOGUE[code]
    except KeyError:
        raise KeyError(f"error code {code!r} is not in kiosk_project.core.error_codes.CATALOGUE") from None
