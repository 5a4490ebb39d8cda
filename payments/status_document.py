"""The status document: what a waiting kiosk polls every 3 s, built in one place from one indexed read.

`GET /api/v1/orders/{id}/status` (and the order detail) answer with the order's
status, its kitchen progress, its own expiry and a `payment` block describing
the order's current payment attempt in the kiosk's vocabulary: a status, a
stable failure code, a customer-facing message, and whether a new attempt is
allowed now. Everything here is derived from stored rows (the order, and the
attempt that confirmed it or else its latest one), so the document can later be
served from a cache that is refreshed when those rows change; `can_retry` also
compares the order's `expires_at` with the clock, which the ETag covers.

It lives in payments because it reads both apps' tables (payments -> orders is
the allowed direction); orders knows nothing of payments.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Field
from django.utils import timezone

from orders.models import Order, OrderStatus
from orders.selectors import OrderNotFound, order_uuid
from payments.models import Payment, PaymentStatus


class BlockStatus:
    """The payment block's `status` values (the kiosk contract; docs/kiosk-api.md)."""

    NONE = "NONE"
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    REFUND_PENDING = "REFUND_PENDING"
    REFUNDED = "REFUNDED"
    NEEDS_REVIEW = "NEEDS_REVIEW"


# PhonePe's failure codes (v2 detailedErrorCode/errorCode, v1 responseCode/code) that mean the QR ran out
# unpaid rather than that the customer or their bank refused it.
_EXPIRY_CODES = frozenset({"TXN_AUTO_FAILED", "TIMED_OUT", "TXN_NOT_COMPLETED", "PAYMENT_EXPIRED", "EXPIRED"})
_DECLINE_CODES = frozenset({"REQUEST_DECLINE_BY_REQUESTEE", "PAYMENT_DECLINED", "USER_DECLINED"})

# The one table of customer-facing words, by failure code (or block status when there is no failure).
MESSAGES: dict[str, str] = {
    BlockStatus.NONE: "Tap Pay to get a QR code.",
    BlockStatus.PENDING: "Scan the QR code with any UPI app to pay.",
    BlockStatus.SUCCEEDED: "Payment received. Thank you!",
    BlockStatus.REFUND_PENDING: "Your payment is being refunded to your account.",
    BlockStatus.REFUNDED: "Your payment has been refunded to your account.",
    BlockStatus.NEEDS_REVIEW: "Please ask our staff for help with this payment.",
    "PAYMENT_DECLINED": "Your payment was declined. Please try again or use another UPI app.",
    "PAYMENT_FAILED": "Your payment failed. No money was taken. Please try again.",
    "PAYMENT_EXPIRED": "The payment code expired before it was paid.",
    "GATEWAY_UNAVAILABLE": "Payments are not available right now. Please try again in a moment.",
    "ORDER_CANCELLED": "This order was cancelled.",
}


def failure_code(payment_status: str, error_code: str) -> str | None:
    """Our stable failure code for a stored attempt (None unless it failed or expired)."""
    if payment_status == PaymentStatus.EXPIRED:
        return "PAYMENT_EXPIRED"
    if payment_status != PaymentStatus.FAILED:
        return None
    code = error_code.upper()
    if code in _EXPIRY_CODES:
        return "PAYMENT_EXPIRED"
    if code in _DECLINE_CODES or "DECLINE" in code:
        return "PAYMENT_DECLINED"
    if code.startswith("GATEWAY_"):  # ours: the QR could not be created (payments.initiation._initiate_failed)
        return "GATEWAY_UNAVAILABLE"
    return "PAYMENT_FAILED"


_BLOCK_STATUS: dict[str, str] = {
    PaymentStatus.CREATED: BlockStatus.PENDING,
    PaymentStatus.PENDING: BlockStatus.PENDING,
    PaymentStatus.SUCCEEDED: BlockStatus.SUCCEEDED,
    PaymentStatus.FAILED: BlockStatus.FAILED,
    PaymentStatus.EXPIRED: BlockStatus.EXPIRED,
    PaymentStatus.NEEDS_REVIEW: BlockStatus.NEEDS_REVIEW,
    PaymentStatus.REFUND_PENDING: BlockStatus.REFUND_PENDING,
    PaymentStatus.REFUNDED: BlockStatus.REFUNDED,
}


def payment_block(*, order_status: str, order_expires_at: datetime, payment_id: Any, merchant_reference: str | None,
                  payment_status: str | None, error_code: str, payment_expires_at: datetime | None,
                  now: datetime | None = None) -> dict[str, Any]:
    """The `payment` block for an order and its current attempt (payment_id None: no attempt yet)."""
    if payment_id is None or payment_status is None:
        status, code = BlockStatus.NONE, None
    else:
        code = failure_code(payment_status, error_code)
        status = BlockStatus.EXPIRED if code == "PAYMENT_EXPIRED" else _BLOCK_STATUS[payment_status]
    # A new attempt is allowed while the order is payable and no attempt is open or under review.
    payable = order_status == OrderStatus.PENDING and order_expires_at > (now or timezone.now())
    can_retry = payable and status in (BlockStatus.NONE, BlockStatus.FAILED, BlockStatus.EXPIRED)
    if code is None and order_status == OrderStatus.CANCELLED and status in (BlockStatus.NONE, BlockStatus.PENDING):
        message = MESSAGES["ORDER_CANCELLED"]
    else:
        message = MESSAGES[code or status]
    return {
        "status": status,
        "payment_id": str(payment_id) if payment_id is not None else None,
        "merchant_reference": merchant_reference or None,
        "failure_code": code,
        "message": message,
        "can_retry": can_retry,
        "expires_at": payment_expires_at.isoformat() if payment_expires_at else None,
    }


# One statement: the order row by primary key, and its current attempt through the (order, -created_at) index.
# The attempt that confirmed the order wins over later ones (a second QR that failed after the first was paid).
_SQL = (
    "SELECT o.device_id, o.order_number, o.status, o.kitchen_status, o.updated_at, o.expires_at,"
    " p.id, p.merchant_reference, p.status, p.error_code, p.expires_at"
    " FROM {order} o LEFT JOIN {payment} p ON p.id = ("
    "  SELECT p2.id FROM {payment} p2 WHERE p2.order_id = o.id"
    "  ORDER BY p2.confirmed_order DESC, p2.created_at DESC LIMIT 1)"
    " WHERE o.id = %s"
)
_FIELDS: tuple[Field, ...] = tuple(
    model._meta.get_field(name) for model, name in (  # type: ignore[misc]
        (Order, "device"), (Order, "order_number"), (Order, "status"), (Order, "kitchen_status"),
        (Order, "updated_at"), (Order, "expires_at"), (Payment, "id"), (Payment, "merchant_reference"),
        (Payment, "status"), (Payment, "error_code"), (Payment, "expires_at"))
)


def _converted(row: tuple[Any, ...]) -> list[Any]:
    """SQLite (make run) hands back text for UUIDs and datetimes; apply the converters the ORM would."""
    values = list(row)
    for index, field in enumerate(_FIELDS):
        if values[index] is None:
            continue
        column = field.cached_col
        for convert in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
            values[index] = convert(values[index], column, connection)
    return values


@dataclass(frozen=True)
class StatusRow:
    """What the status document is made of: the order's row and its current attempt's."""

    order_id: UUID
    device_id: int | None
    order_number: str
    status: str
    kitchen_status: str
    updated_at: datetime
    expires_at: datetime
    payment_id: Any
    merchant_reference: str | None
    payment_status: str | None
    error_code: str
    payment_expires_at: datetime | None


def status_row(*, order_id: Any, device_id: int | None = None) -> StatusRow:
    """The rows behind one order's status document; with `device_id`, only that kiosk's order (else OrderNotFound).

    Plain SQL on purpose: every waiting kiosk polls this every 3 s, and building
    the equivalent ORM query cost more CPU than PostgreSQL spent answering it.
    """
    pk: UUID = order_uuid(order_id)
    sql = _SQL.format(order=connection.ops.quote_name(Order._meta.db_table),
                      payment=connection.ops.quote_name(Payment._meta.db_table))
    params: list[Any] = [Order._meta.pk.get_db_prep_value(pk, connection)]  # type: ignore[union-attr]
    if device_id is not None:
        sql += " AND o.device_id = %s"
        params.append(device_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise OrderNotFound()
    (device, number, status, kitchen_status, updated_at, expires_at, payment_id, reference, payment_status,
     error_code, payment_expires_at) = _converted(row)
    return StatusRow(order_id=pk, device_id=device, order_number=number, status=status, kitchen_status=kitchen_status,
                     updated_at=updated_at, expires_at=expires_at, payment_id=payment_id, merchant_reference=reference,
                     payment_status=payment_status, error_code=error_code or "", payment_expires_at=payment_expires_at)


def document_of(row: StatusRow, *, now: datetime | None = None) -> dict[str, Any]:
    """The status document of `row` as it reads at `now` (only `payment.can_retry` depends on the clock)."""
    return {
        "order_id": str(row.order_id),
        "order_number": row.order_number,
        "status": row.status,
        "kitchen_status": row.kitchen_status,
        "expires_at": row.expires_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "payment": payment_block(order_status=row.status, order_expires_at=row.expires_at, payment_id=row.payment_id,
                                 merchant_reference=row.merchant_reference, payment_status=row.payment_status,
                                 error_code=row.error_code, payment_expires_at=row.payment_expires_at, now=now),
    }


def status_document(*, order_id: Any, device_id: int) -> dict[str, Any]:
    """The status document of one of this kiosk's orders (OrderNotFound for anyone else's)."""
    return document_of(status_row(order_id=order_id, device_id=device_id))


def status_etag(document: dict[str, Any]) -> str:
    """A change detector over everything in the document that can change (not security).

    The payment's own updated_at is left out on purpose: every reconciler check touches it, and a
    kiosk would download an unchanged document every few seconds."""
    payment = document["payment"]
    seed = (f"{document['status']}|{document['kitchen_status']}|{document['updated_at']}|{payment['status']}|"
            f"{payment['payment_id']}|{payment['failure_code']}|{payment['can_retry']}|{payment['expires_at']}")
    return '"' + hashlib.sha1(seed.encode()).hexdigest()[:20] + '"'  # noqa: S324
