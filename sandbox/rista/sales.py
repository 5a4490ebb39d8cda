"""PostSale validation and the Sale records the Rista sandbox stores.

Shapes follow protocols.md §2.3 (PostSale in, Sale out) and §2.4 (the
`order.status` callback). Keys starting with "_" are sandbox bookkeeping:
kept in the stored sale (GET /_control/sales shows them) and stripped from
every /v1 response, because real Rista would never send them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from sandbox.httpkit import HttpError

# Rista reports dates in the branch's timezone; the sample branch is in India,
# and IST has no DST, so a fixed offset is exact and needs no tz database.
BRANCH_TZ = timezone(timedelta(hours=5, minutes=30), "IST")

INPUT_STATUSES = ("Open", "Closed")  # "Only Open/Closed supported for input"
API_STATUSES = ("Accepted", "Processed", "Cancelled")  # POST /sale/status
CALLBACK_STATUSES = ("Created", "Accepted", "Processed", "Cancelled", "Dispatched", "Delivered", "Closed")

# What a kitchen/status event does to the Sale: Rista tracks the order's life
# in `status` (Open/Closed/Cancelled...) and the kitchen's in `fulfillmentStatus`.
STATUS_EFFECTS: dict[str, dict[str, str]] = {
    "Created": {},
    "Accepted": {"fulfillmentStatus": "Accepted"},
    "Processed": {"fulfillmentStatus": "Processed"},
    "Dispatched": {"fulfillmentStatus": "Dispatched"},
    "Delivered": {"fulfillmentStatus": "Delivered"},
    "Cancelled": {"status": "Cancelled"},
    "Closed": {"status": "Closed"},
}


def _bad(message: str) -> HttpError:
    return HttpError(400, {"message": message})


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def validate_post_sale(body: Any, channels_of: Mapping[str, tuple[str, ...]]) -> None:
    """Raise HttpError(400, {"message"}) unless `body` is an acceptable PostSale.

    `channels_of` maps each branch the sandbox serves to its channels.
    """
    if not isinstance(body, dict):
        raise _bad("body must be a JSON object (PostSale)")
    for key in ("branchCode", "channel"):
        if not _nonempty_str(body.get(key)):
            raise _bad(f"'{key}' is required")
    branch_code = body["branchCode"]
    if branch_code not in channels_of:
        raise _bad(f"unknown branch {branch_code!r}")
    if body["channel"] not in channels_of[branch_code]:
        raise _bad(f"unknown channel {body['channel']!r} for branch {branch_code}")
    if body.get("status", "Open") not in INPUT_STATUSES:
        raise _bad("'status' must be Open or Closed")
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise _bad("'items' must be a non-empty list")
    for i, item in enumerate(items):
        _validate_item(item, f"items[{i}]")
    _validate_source_info(body.get("sourceInfo"))


def _validate_item(item: Any, where: str) -> None:
    if not isinstance(item, dict):
        raise _bad(f"{where} must be an object")
    for key in ("shortName", "skuCode"):
        if not _nonempty_str(item.get(key)):
            raise _bad(f"{where}.{key} is required (a non-empty string)")
    if not _is_number(item.get("quantity")) or item["quantity"] <= 0:
        raise _bad(f"{where}.quantity is required (a positive number)")
    if not _is_number(item.get("unitPrice")) or item["unitPrice"] < 0:
        raise _bad(f"{where}.unitPrice is required (a non-negative number)")


def _validate_source_info(info: Any) -> None:
    if info is None:
        return
    if not isinstance(info, dict):
        raise _bad("'sourceInfo' must be an object")
    txn = info.get("orderTransactionId")
    if txn is not None and not _nonempty_str(txn):
        raise _bad("sourceInfo.orderTransactionId must be a non-empty string")
    url = info.get("callbackURL")
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise _bad("sourceInfo.callbackURL must be an http(s) URL")
    headers = info.get("callbackHeaders")
    if headers is not None and not (
        isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())
    ):
        raise _bad("sourceInfo.callbackHeaders must be an object of string values")


def transaction_id(body: dict[str, Any]) -> str | None:
    """The idempotency key: sourceInfo.orderTransactionId (sandbox-only dedupe)."""
    return (body.get("sourceInfo") or {}).get("orderTransactionId") or None


def iso(moment: datetime) -> str:
    return moment.astimezone(BRANCH_TZ).isoformat(timespec="seconds")


def build_sale(
    body: dict[str, Any], invoice_number: str, order_number: str, received_at: float
) -> dict[str, Any]:
    """The stored Sale for a validated PostSale: the input echoed plus what Rista assigns."""
    now = datetime.fromtimestamp(received_at, BRANCH_TZ)
    sale = copy.deepcopy(body)
    sale.update(
        {
            "invoiceNumber": invoice_number,
            "orderNumber": order_number,
            "invoiceType": "Sale",
            "invoiceDate": iso(now),
            "invoiceDay": now.date().isoformat(),
            "createdDate": iso(now),
            "modifiedDate": iso(now),
            "status": body.get("status", "Open"),
            "fulfillmentStatus": "Confirmed",
            "sourceInfo": copy.deepcopy(body.get("sourceInfo") or {}),
            "payments": copy.deepcopy(body.get("payments") or []),
            "kdsOrderInProcess": False,
            "eventLog": [{"event": "Created", "time": iso(now)}],
            "_receivedAt": received_at,
            "_duplicates": 0,
        }
    )
    return sale


def public_view(sale: dict[str, Any]) -> dict[str, Any]:
    """The Sale as /v1 returns it: a deep copy without sandbox bookkeeping keys."""
    return copy.deepcopy({k: v for k, v in sale.items() if not k.startswith("_")})


def apply_status(sale: dict[str, Any], status: str, at: float) -> None:
    """Move a stored sale to `status` (one of CALLBACK_STATUSES); caller holds the lock."""
    moment = datetime.fromtimestamp(at, BRANCH_TZ)
    sale.update(STATUS_EFFECTS[status])
    if status == "Accepted":
        sale["kdsOrderInProcess"] = True
    elif status == "Processed":
        sale["kdsOrderInProcess"] = False
        sale["orderReadyTimestamp"] = iso(moment)
    sale["modifiedDate"] = iso(moment)
    sale["eventLog"].append({"event": status, "time": iso(moment)})


def order_status_payload(sale: dict[str, Any], status: str) -> dict[str, Any]:
    """The OnlineOrderStatus webhook body (protocols.md §2.4)."""
    return {
        "type": "order.status",
        "context": {"branchCode": sale["branchCode"]},
        "data": {
            "invoiceNumber": sale["invoiceNumber"],
            "orderNumber": sale["orderNumber"],
            "status": status,
            "channelName": sale["channel"],
            "sourceInvoiceNumber": sale["sourceInfo"].get("invoiceNumber"),
        },
    }
