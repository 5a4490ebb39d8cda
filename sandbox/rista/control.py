"""The Rista sandbox's /_control routes: unauthenticated remote control for tests and demos.

They make things happen that in real life a person or Rista would do: a
manager changes a price or marks an item sold out, the kitchen accepts or
finishes an order (Rista calls our callbackURL), Rista asks us to re-sync the
menu, or the API starts failing. Documented with curl examples in
docs/sandbox-rista.md.
"""

from __future__ import annotations

import html
import logging
import time
from typing import TYPE_CHECKING, Any

from sandbox.httpkit import HttpError, Request, Response, later, post_json
from sandbox.rista import sales as sale_rules
from sandbox.rista.faults import parse_fault

if TYPE_CHECKING:
    from sandbox.rista.server import RistaSandbox

log = logging.getLogger("sandbox.rista")

MENU_WEBHOOK_TYPES = ("menu.sync", "menu.item_stock_status_change")
ITEM_FIELDS = ("price", "status", "soldOut", "name", "notify", "channel")

ENDPOINTS = [
    ("GET", "/v1/catalog?branch=&channel=", "the catalog (auth)"),
    ("GET", "/v1/items/soldout?branch=", "sold-out items (auth)"),
    ("GET", "/v1/branch/list", "branches (auth)"),
    ("POST", "/v1/sale", "store a sale; 201, or 200 + the existing sale for a repeated orderTransactionId"),
    ("GET", "/v1/sale?invoice= | ?orderTransactionId=", "one sale (auth)"),
    ("POST", "/v1/sale/status", "{invoiceNumber, status: Accepted|Processed|Cancelled} (auth)"),
    ("POST", "/_control/reset", "pristine catalog, no sales/faults, zero counters"),
    ("GET", "/_control/stats", "request counts, auth failures, duplicates, faults, callbacks, webhooks"),
    ("GET", "/_control/sales", "stored sales with sandbox keys (_receivedAt, _duplicates)"),
    ("POST", "/_control/items/{skuCode}", "{price, status, soldOut, name, notify, channel}"),
    ("GET|PUT", "/_control/catalog", "read or replace the whole catalog"),
    ("GET|POST|DELETE", "/_control/faults", "{mode, count, delay, routes, status, body}"),
    ("POST", "/_control/sales/{invoiceNumber}/status", "{status, delay, duplicate, drop}: kitchen progress"),
    ("POST", "/_control/webhooks/menu-sync", "{type, channel, url, secret}: Rista's menu webhook"),
]


def _body(req: Request) -> dict[str, Any]:
    data = req.json()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise HttpError(400, {"message": "body must be a JSON object"})
    return data


def _bad(message: str) -> HttpError:
    return HttpError(400, {"message": message})


def _non_negative(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise _bad(f"'{name}' must be a non-negative number")
    return float(value)


def send_menu_webhook(
    sb: RistaSandbox, kind: str, channel: str, url: str | None = None, secret: str | None = None
) -> dict[str, Any]:
    """POST a MenuSync/SoldOutSync notification the way Rista's account webhook does.

    Rista documents no signature for these; merchants get a shared-secret
    header (X-Rista-Secret), which is what our webhook endpoint checks.
    """
    target = url or sb.webhook_url
    if not target:
        raise _bad("no webhook URL: start the sandbox with --webhook-url or pass 'url'")
    state = sb.state
    payload = {
        "type": kind,
        "context": {
            "branchCode": state.branch,
            "branchName": state.branch_info()["branchName"],
            "channelName": channel,
            "outletId": state.outlet_id,
        },
    }
    generation = state.generation
    status = post_json(target, payload, {"X-Rista-Secret": secret or sb.webhook_secret})
    entry = {"type": kind, "channel": channel, "url": target, "status": status, "time": time.time()}
    state.record("webhooks", entry, generation)
    log.info("rista: webhook %s -> %s: %s", kind, target, status)
    return {"webhook_status": status, "url": target, "payload": payload}


def _deliver_order_status(sb: RistaSandbox, sale: dict[str, Any], status: str, generation: int) -> int | None:
    """One callback attempt to the sale's callbackURL; recorded for the report."""
    if sb.state.generation != generation:  # a reset happened while this was scheduled
        return None
    info = sale["sourceInfo"]
    url = info["callbackURL"]
    code = post_json(
        url, sale_rules.order_status_payload(sale, status), dict(info.get("callbackHeaders") or {})
    )
    entry = {
        "invoiceNumber": sale["invoiceNumber"],
        "event": status,
        "url": url,
        "status": code,
        "time": time.time(),
    }
    sb.state.record("callbacks", entry, generation)
    log.info("rista: order.status %s for %s -> %s: %s", status, sale["invoiceNumber"], url, code)
    return code


def register_control_routes(sb: RistaSandbox) -> None:
    """Add GET / and every /_control route to the sandbox's router."""
    state = sb.state
    route = sb.router.route

    @route("GET", "/")
    def index(req: Request) -> Response:
        rows = "".join(
            f"<tr><td>{m}</td><td><code>{html.escape(p)}</code></td><td>{html.escape(d)}</td></tr>"
            for m, p, d in ENDPOINTS
        )
        page = (
            "<!doctype html><html><head><title>Rista sandbox</title></head><body>"
            f"<h1>Rista POS sandbox: branch {html.escape(state.branch)}</h1>"
            "<p>/v1 routes need <code>x-api-key</code> and an HS256 JWT in <code>x-api-token</code> "
            "(iss = API key, iat = now, jti on writes). /_control routes need no auth. "
            "See docs/sandbox-rista.md.</p>"
            f"<table border=1 cellpadding=4>{rows}</table></body></html>"
        )
        return Response(200, page, content_type="text/html; charset=utf-8")

    @route("POST", "/_control/reset")
    def reset(req: Request) -> Response:
        sb.reset()
        return Response(200, {"reset": True})

    @route("GET", "/_control/stats")
    def stats(req: Request) -> Response:
        return Response(200, sb.stats())

    @route("GET", "/_control/sales")
    def sales(req: Request) -> Response:
        return Response(200, state.sales_list())

    @route("GET", "/_control/catalog")
    def catalog_get(req: Request) -> Response:
        return Response(200, state.catalog_bytes())

    @route("PUT", "/_control/catalog")
    def catalog_put(req: Request) -> Response:
        state.catalog_replace(req.json())
        return Response(200, {"replaced": True, "items": len(state.catalog_copy()["items"])})

    @route("POST", "/_control/items/{skuCode}")
    def item_update(req: Request) -> Response:
        body = _body(req)
        unknown = sorted(set(body) - set(ITEM_FIELDS))
        if unknown:
            raise _bad(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(ITEM_FIELDS)}")
        changes = _item_changes(body)
        item = state.item_update(req.params["skuCode"], changes)
        if body.get("notify"):
            # Explicit only: a test changing five items should not fire five webhooks.
            kind = "menu.item_stock_status_change" if set(changes) == {"soldOut"} else "menu.sync"
            channel = _channel(sb, body.get("channel"))
            item["webhook_status"] = send_menu_webhook(sb, kind, channel)["webhook_status"]
        return Response(200, item)

    @route("GET", "/_control/faults")
    def faults_get(req: Request) -> Response:
        return Response(200, {"pending": sb.faults.pending()})

    @route("POST", "/_control/faults")
    def faults_add(req: Request) -> Response:
        rule = parse_fault(req.json())
        sb.faults.add(rule)
        return Response(200, {"queued": rule.as_dict(), "pending": sb.faults.pending()})

    @route("DELETE", "/_control/faults")
    def faults_clear(req: Request) -> Response:
        return Response(200, {"cleared": sb.faults.clear()})

    @route("POST", "/_control/sales/{invoiceNumber}/status")
    def sale_status(req: Request) -> Response:
        return Response(200, _move_sale(sb, req.params["invoiceNumber"], _body(req)))

    @route("POST", "/_control/webhooks/menu-sync")
    def menu_sync(req: Request) -> Response:
        body = _body(req)
        kind = body.get("type", "menu.sync")
        if kind not in MENU_WEBHOOK_TYPES:
            raise _bad(f"'type' must be one of {', '.join(MENU_WEBHOOK_TYPES)}")
        channel = _channel(sb, body.get("channel"))
        return Response(200, send_menu_webhook(sb, kind, channel, body.get("url"), body.get("secret")))


def _channel(sb: RistaSandbox, channel: Any) -> str:
    if channel is None:
        return sb.state.channels[0]
    if channel not in sb.state.channels:
        raise _bad(f"'channel' must be one of {', '.join(sb.state.channels)}")
    return str(channel)


def _item_changes(body: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "price" in body:
        changes["price"] = _non_negative(body["price"], "price")
        if changes["price"].is_integer():
            changes["price"] = int(changes["price"])  # keep 120 as 120, like Rista's JSON
    if "status" in body:
        if body["status"] not in ("Active", "Inactive"):
            raise _bad("'status' must be Active or Inactive")
        changes["status"] = body["status"]
    if "soldOut" in body:
        if not isinstance(body["soldOut"], bool):
            raise _bad("'soldOut' must be true or false")
        changes["soldOut"] = body["soldOut"]
    if "name" in body:
        if not isinstance(body["name"], str) or not body["name"].strip():
            raise _bad("'name' must be a non-empty string")
        changes["name"] = body["name"]
    return changes


def _move_sale(sb: RistaSandbox, invoice: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply a kitchen status and send (or schedule, duplicate, drop) its order.status callback."""
    status = body.get("status")
    if status not in sale_rules.CALLBACK_STATUSES:
        raise _bad(f"'status' must be one of {', '.join(sale_rules.CALLBACK_STATUSES)}")
    delay = _non_negative(body.get("delay", 0), "delay")
    sends = 2 if body.get("duplicate") else 1
    generation = sb.state.generation
    sale = sb.state.sale_set_status(invoice, status)
    result: dict[str, Any] = {"sale": sale_rules.public_view(sale), "callback_status": None}
    if not sale["sourceInfo"].get("callbackURL"):
        result["message"] = "sale has no sourceInfo.callbackURL; nothing sent"
        return result
    if body.get("drop"):
        # A callback Rista "lost": the status changed, our backend never hears of it.
        entry = {
            "invoiceNumber": invoice,
            "event": status,
            "url": sale["sourceInfo"]["callbackURL"],
            "status": None,
            "time": time.time(),
            "dropped": True,
        }
        sb.state.record("callbacks", entry, generation)
        result["dropped"] = True
        return result
    if delay > 0:
        later(delay, lambda: [_deliver_order_status(sb, sale, status, generation) for _ in range(sends)])
        result.update(scheduled_in=delay, sends=sends)
        return result
    codes = [_deliver_order_status(sb, sale, status, generation) for _ in range(sends)]
    result.update(callback_status=codes[-1], callback_statuses=codes)
    return result
