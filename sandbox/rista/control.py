"""The Rista sandbox's /_control routes: unauthenticated remote control for tests and demos.

They make things happen that in real life a person or Rista would do: a
manager changes a price or marks an item sold out, the kitchen accepts or
finishes an order (Rista calls our callbackURL), Rista asks us to re-sync the
menu, or the API starts failing. Documented with curl examples in
docs/sandbox-rista.md.

Routes about one branch take it as `?branch=` or as `"branch"` in the body and default
to the sandbox's first branch, so a single-branch caller never names one. Kitchen
progress (`POST /_control/sales/{invoiceNumber}/status`) also accepts an HTML form
post with `?redirect=1`, answering 303 back to the kitchen page.
"""

from __future__ import annotations

import html
import logging
import time
from typing import TYPE_CHECKING, Any

from sandbox.httpkit import HttpError, Request, Response, later, post_json, redirect_back
from sandbox.rista import sales as sale_rules
from sandbox.rista.faults import parse_fault

if TYPE_CHECKING:
    from sandbox.rista.server import RistaSandbox

log = logging.getLogger("sandbox.rista")

MENU_WEBHOOK_TYPES = ("menu.sync", "menu.item_stock_status_change")
ITEM_FIELDS = ("price", "status", "soldOut", "name", "notify", "channel", "branch")
# GET /_control/sales filters: query parameter -> RistaState.sales_matching keyword.
SALE_FILTERS = {
    "branch": "branch",
    "orderTransactionId": "txn",
    "invoiceNumber": "invoice",
    "sourceInvoiceNumber": "source_invoice",
}
TRUE_WORDS = ("1", "true", "yes", "on")

ENDPOINTS = [
    ("GET", "/v1/catalog?branch=&channel=", "the branch's catalog (auth)"),
    ("GET", "/v1/items/soldout?branch=", "sold-out items (auth)"),
    ("GET", "/v1/branch/list", "every branch (auth)"),
    ("POST", "/v1/sale", "store a sale in its branchCode; 201, or 200 + the existing sale for a repeat"),
    ("GET", "/v1/sale?invoice= | ?orderTransactionId= [&branch=]", "one sale (auth)"),
    ("POST", "/v1/sale/status", "{invoiceNumber, status: Accepted|Processed|Cancelled, branchCode?} (auth)"),
    ("GET", "/", "the kitchen page: sales per branch with Accept / Ready buttons"),
    ("POST", "/_control/reset", "pristine catalogs, no sales/faults, zero counters"),
    ("GET", "/_control/stats", "request counts, auth failures, duplicates, faults, callbacks, webhooks"),
    ("GET", "/_control/branches", "the branches with their channels, sales and sold-out items"),
    ("GET", "/_control/sales?branch=&orderTransactionId=&invoiceNumber=&sourceInvoiceNumber=",
     "stored sales (all branches unless filtered), oldest first, with _receivedAt, _duplicates"),
    ("GET", "/_control/sales/{invoiceNumber}", "one stored sale"),
    ("POST", "/_control/dedupe", "{enabled: bool}: merge repeated orderTransactionIds (default on)"),
    ("POST", "/_control/sales/{invoiceNumber}/status", "{status, delay, duplicate, drop}: kitchen progress"),
    ("POST", "/_control/items/{skuCode}", "{price, status, soldOut, name, notify, channel, branch}"),
    ("GET|PUT", "/_control/catalog?branch=", "read or replace a branch's whole catalog"),
    ("GET|POST|DELETE", "/_control/faults", "{mode, count, delay, routes, status, body}"),
    ("POST", "/_control/webhooks/menu-sync", "{type, branch, channel, url, secret}: Rista's menu webhook"),
]


def _body(req: Request) -> dict[str, Any]:
    data = req.json_or_form()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise HttpError(400, {"message": "body must be a JSON object"})
    return data


def _bad(message: str) -> HttpError:
    return HttpError(400, {"message": message})


def _non_negative(value: Any, name: str) -> float:
    if isinstance(value, str):  # a form field
        try:
            value = float(value)
        except ValueError:
            raise _bad(f"'{name}' must be a non-negative number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise _bad(f"'{name}' must be a non-negative number")
    return float(value)


def _flag(value: Any) -> bool:
    """JSON truthiness, or a form field's "1"/"true"/"yes"/"on"."""
    return value.lower() in TRUE_WORDS if isinstance(value, str) else bool(value)


def _branch(sb: RistaSandbox, req: Request, body: dict[str, Any] | None = None) -> str:
    """The branch a control call is about: `branch` in the body, else `?branch=`, else the first."""
    code = (body or {}).get("branch") or req.query.get("branch") or sb.state.default_branch
    if not isinstance(code, str) or not sb.state.has_branch(code):
        known = ", ".join(sb.state.branch_codes)
        raise HttpError(404, {"message": f"unknown branch {code!r} (this sandbox serves {known})"})
    return code


def send_menu_webhook(
    sb: RistaSandbox,
    kind: str,
    channel: str,
    url: str | None = None,
    secret: str | None = None,
    branch: str | None = None,
) -> dict[str, Any]:
    """POST a MenuSync/SoldOutSync notification for one branch and channel, as Rista's
    account webhook does; its context names the branch, so one URL serves a chain.

    Rista documents no signature for these; merchants get a shared-secret
    header (X-Rista-Secret), which is what our webhook endpoint checks.
    """
    target = url or sb.webhook_url
    if not target:
        raise _bad("no webhook URL: start the sandbox with --webhook-url or pass 'url'")
    state = sb.state
    info = state.branch_info(branch)
    payload = {
        "type": kind,
        "context": {
            "branchCode": info["branchCode"],
            "branchName": info["branchName"],
            "channelName": channel,
            "outletId": state.outlet_id(branch),
        },
    }
    generation = state.generation
    status = post_json(target, payload, {"X-Rista-Secret": secret or sb.webhook_secret})
    entry = {
        "type": kind,
        "branch": info["branchCode"],
        "channel": channel,
        "url": target,
        "status": status,
        "time": time.time(),
    }
    state.record("webhooks", entry, generation)
    log.info("rista: webhook %s for %s/%s -> %s: %s", kind, info["branchCode"], channel, target, status)
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


def routes_page() -> str:
    rows = "".join(
        f"<tr><td>{m}</td><td><code>{html.escape(p)}</code></td><td>{html.escape(d)}</td></tr>"
        for m, p, d in ENDPOINTS
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Rista sandbox routes</title></head>'
        "<body><h1>Rista POS sandbox: routes</h1>"
        "<p>/v1 routes need <code>x-api-key</code> and an HS256 JWT in <code>x-api-token</code> "
        "(iss = API key, iat = now, jti on writes). /_control routes need no auth. "
        'See docs/sandbox-rista.md. <a href="/">Kitchen page</a></p>'
        f"<table border=1 cellpadding=4>{rows}</table></body></html>"
    )


def register_control_routes(sb: RistaSandbox) -> None:
    """Add every /_control route to the sandbox's router."""
    state = sb.state
    route = sb.router.route

    @route("GET", "/_control")
    def routes(req: Request) -> Response:
        return Response(200, routes_page(), content_type="text/html; charset=utf-8")

    @route("POST", "/_control/reset")
    def reset(req: Request) -> Response:
        sb.reset()
        return Response(200, {"reset": True})

    @route("GET", "/_control/stats")
    def stats(req: Request) -> Response:
        return Response(200, sb.stats())

    @route("GET", "/_control/branches")
    def branches(req: Request) -> Response:
        return Response(200, [
            {
                **state.branch_info(code),
                "sales": len(state.sales_matching(branch=code)),
                "soldOut": [i["skuCode"] for i in state.sold_out_items(code)],
                "catalogItems": len(state.catalog_copy(code)["items"]),
            }
            for code in state.branch_codes
        ])

    @route("GET", "/_control/sales")
    def sales(req: Request) -> Response:
        unknown = sorted(set(req.query) - set(SALE_FILTERS))
        if unknown:
            raise _bad(f"unknown filter(s) {', '.join(unknown)}; allowed: {', '.join(SALE_FILTERS)}")
        if "branch" in req.query:
            _branch(sb, req)
        filters = {SALE_FILTERS[k]: v for k, v in req.query.items()}
        return Response(200, state.sales_list(**filters))

    @route("GET", "/_control/sales/{invoiceNumber}")
    def one_sale(req: Request) -> Response:
        found = state.sales_list(invoice=req.params["invoiceNumber"])
        if not found:
            raise HttpError(404, {"message": f"no sale with invoiceNumber {req.params['invoiceNumber']!r}"})
        return Response(200, found[0])

    @route("GET", "/_control/catalog")
    def catalog_get(req: Request) -> Response:
        return Response(200, state.catalog_bytes(_branch(sb, req)))

    @route("PUT", "/_control/catalog")
    def catalog_put(req: Request) -> Response:
        branch = _branch(sb, req)
        return Response(200, {"replaced": True, "branch": branch, "items": state.catalog_replace(req.json(), branch)})

    @route("POST", "/_control/items/{skuCode}")
    def item_update(req: Request) -> Response:
        body = _body(req)
        unknown = sorted(set(body) - set(ITEM_FIELDS))
        if unknown:
            raise _bad(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(ITEM_FIELDS)}")
        branch = _branch(sb, req, body)
        changes = _item_changes(body)
        channel = _channel(sb, branch, body.get("channel"))
        item = state.item_update(req.params["skuCode"], changes, branch)
        if body.get("notify"):
            # Explicit only: a test changing five items should not fire five webhooks.
            kind = "menu.item_stock_status_change" if set(changes) == {"soldOut"} else "menu.sync"
            item["webhook_status"] = send_menu_webhook(sb, kind, channel, branch=branch)["webhook_status"]
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

    @route("POST", "/_control/dedupe")
    def dedupe(req: Request) -> Response:
        enabled = _body(req).get("enabled")
        if not isinstance(enabled, bool):
            raise _bad("'enabled' must be true or false")
        state.set_dedupe(enabled)
        return Response(200, {"dedupe_sales": enabled})

    @route("POST", "/_control/sales/{invoiceNumber}/status")
    def sale_status(req: Request) -> Response:
        invoice = req.params["invoiceNumber"]
        if not _flag(req.query.get("redirect")):
            return Response(200, _move_sale(sb, invoice, _body(req)))
        try:  # a form post from the kitchen page: 303 back to it with what happened
            result = _move_sale(sb, invoice, _body(req))
        except HttpError as exc:
            message = exc.body.get("message", exc.status) if isinstance(exc.body, dict) else exc.status
            return redirect_back(req, f"Error: {message}")
        return redirect_back(req, _moved_message(invoice, result))

    @route("POST", "/_control/webhooks/menu-sync")
    def menu_sync(req: Request) -> Response:
        body = _body(req)
        kind = body.get("type", "menu.sync")
        if kind not in MENU_WEBHOOK_TYPES:
            raise _bad(f"'type' must be one of {', '.join(MENU_WEBHOOK_TYPES)}")
        branch = _branch(sb, req, body)
        channel = _channel(sb, branch, body.get("channel"))
        return Response(200, send_menu_webhook(sb, kind, channel, body.get("url"), body.get("secret"), branch))


def _channel(sb: RistaSandbox, branch: str, channel: Any) -> str:
    channels = sb.state.channels(branch)
    if channel is None:
        return channels[0]
    if channel not in channels:
        raise _bad(f"'channel' must be one of {', '.join(channels)} (branch {branch})")
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


def _moved_message(invoice: str, result: dict[str, Any]) -> str:
    status = result["sale"]["eventLog"][-1]["event"]
    if result.get("message"):
        return f"{invoice} is now {status}; {result['message']}"
    if result.get("dropped"):
        return f"{invoice} is now {status}; its callback was dropped on purpose"
    if "scheduled_in" in result:
        return f"{invoice} is now {status}; callback scheduled in {result['scheduled_in']:g} s"
    code = result["callback_status"]
    answered = "could not reach the callback URL" if code is None else f"the backend answered {code}"
    return f"{invoice} is now {status}; {answered}"


def _move_sale(sb: RistaSandbox, invoice: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply a kitchen status and send (or schedule, duplicate, drop) its order.status callback."""
    status = body.get("status")
    if status not in sale_rules.CALLBACK_STATUSES:
        raise _bad(f"'status' must be one of {', '.join(sale_rules.CALLBACK_STATUSES)}")
    delay = _non_negative(body.get("delay", 0), "delay")
    sends = 2 if _flag(body.get("duplicate")) else 1
    generation = sb.state.generation
    sale = sb.state.sale_set_status(invoice, status)
    result: dict[str, Any] = {"sale": sale_rules.public_view(sale), "callback_status": None}
    if not sale["sourceInfo"].get("callbackURL"):
        result["message"] = "sale has no sourceInfo.callbackURL; nothing sent"
        return result
    if _flag(body.get("drop")):
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
