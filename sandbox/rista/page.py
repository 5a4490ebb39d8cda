"""The kitchen page (`GET /`): a person plays Rista's kitchen display by pressing Accept,
Ready and so on.

One tab per branch; each sale is a ticket with its items, its progress and buttons for the
next step. The buttons are plain HTML forms posting to the same control route a test uses
(`POST /_control/sales/{invoiceNumber}/status?redirect=1`), so they change the sale and
send the same `order.status` callback to our backend, then come back here (303) with a
line saying what the backend answered. A meta refresh keeps the page current; there is no
JavaScript and nothing is loaded from anywhere else.
"""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox.httpkit import Request, Response
from sandbox.rista import sales as sale_rules

if TYPE_CHECKING:
    from sandbox.rista.server import RistaSandbox

REFRESH_SECONDS = 5
HERE = ' class="here" aria-current="page"'
FINISHED_SHOWN = 20

# The kitchen's next steps from each stage, as (button, Rista status sent, style). Rista's
# callbacks know Accepted, Processed (ready), Dispatched, Delivered, Cancelled and Closed;
# a takeaway or dine-in order is done when handed over (Delivered).
NEXT_STEPS: dict[str, list[tuple[str, str, str]]] = {
    "Confirmed": [("Accept", "Accepted", "go"), ("Reject", "Cancelled", "stop")],
    "Accepted": [("Ready", "Processed", "go"), ("Cancel", "Cancelled", "stop")],
    "Processed": [("Handed over", "Delivered", "go"), ("Out for delivery", "Dispatched", "other")],
    "Dispatched": [("Delivered", "Delivered", "go")],
}
STAGE_LABELS = {
    "Confirmed": "New",
    "Accepted": "Accepted: cooking",
    "Processed": "Ready (Processed)",
    "Dispatched": "Out for delivery",
    "Delivered": "Handed over",
    "Cancelled": "Cancelled",
}

STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0;background:#f4f1ea;color:#1d1d1d}
header{background:#b3261e;color:#fff;padding:.8rem 1.5rem}header h1{margin:0;font-size:1.35rem}
header p{margin:.25rem 0 0;font-size:.85rem;opacity:.9}header a{color:#fff}
nav{display:flex;gap:.4rem;padding:.6rem 1.5rem 0;flex-wrap:wrap}
nav a{padding:.5rem 1rem;border-radius:8px 8px 0 0;background:#e3ddd0;color:#1d1d1d;text-decoration:none;
font-weight:600}
nav a.here{background:#fff}
main{padding:1rem 1.5rem 2rem;background:#fff;min-height:60vh}
h2{font-size:1.1rem;margin:.4rem 0 .8rem}
.msg{background:#fff8d6;border:1px solid #e8d27a;padding:.55rem .8rem;border-radius:6px;margin:0 0 1rem}
.muted{color:#5f5f5f;font-size:.85rem}
.tickets{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:1rem;margin-bottom:1.5rem}
.ticket{border:2px solid #d8d2c4;border-radius:10px;padding:.8rem 1rem;background:#fffdf8}
.ticket.Confirmed{border-color:#b3261e}.ticket.Accepted{border-color:#b06000}.ticket.Processed{border-color:#1e7e34}
.ticket.done{opacity:.7;background:#f7f7f7}
.top{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:flex-start;gap:.2rem .5rem}
.label{font-size:1.45rem;font-weight:700;overflow-wrap:break-word;max-width:100%}
.stage{font-weight:700;font-size:.85rem;padding:.15rem .5rem;border-radius:999px;background:#eee;white-space:nowrap;
flex-shrink:0;margin-top:.3rem}
.stage.Confirmed{background:#fde2e0;color:#8c1d18}.stage.Accepted{background:#ffe8c2;color:#7a4300}
.stage.Processed{background:#d7f0dc;color:#135c25}.stage.Cancelled{background:#e6e6e6;color:#444}
ul.items{list-style:none;padding:0;margin:.6rem 0;font-size:1.05rem}
ul.items li{padding:.2rem 0;border-bottom:1px dashed #e4dfd3}
ul.items .qty{font-weight:700;display:inline-block;min-width:2.2rem}
ul.items .opt,ul.items .note{display:block;margin-left:2.2rem;font-size:.88rem;color:#5f5f5f}
ul.items .note{font-style:italic}
dl{display:grid;grid-template-columns:auto 1fr;gap:.1rem .6rem;font-size:.82rem;margin:.4rem 0}
dt{color:#5f5f5f}dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
form{display:inline}
button{font-size:1rem;border:0;border-radius:8px;padding:.6rem 1.1rem;margin:.4rem .4rem 0 0;cursor:pointer;
min-height:44px}
button.go{background:#1e7e34;color:#fff}button.stop{background:#fff;color:#b3261e;border:2px solid #b3261e}
button.other{background:#e3ddd0}
details{margin-top:.5rem;font-size:.85rem}summary{cursor:pointer;color:#5f5f5f}
select{font-size:.95rem;padding:.3rem}
"""


def money(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return f"&#8377;&nbsp;{Decimal(str(value)):.2f}"


def stage(sale: dict[str, Any]) -> str:
    if sale.get("status") in ("Cancelled", "Voided"):
        return "Cancelled"
    return str(sale.get("fulfillmentStatus", "Confirmed"))


def is_finished(sale: dict[str, Any]) -> bool:
    return stage(sale) in ("Cancelled", "Delivered")


def age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s ago"
    return f"{seconds // 60} min ago" if seconds < 3600 else f"{seconds // 3600} h {seconds % 3600 // 60} min ago"


def status_form(invoice: str, status: str, label: str, css: str, back: str) -> str:
    action = escape(f"/_control/sales/{quote(invoice)}/status?redirect=1&next={quote(back)}")
    return (f'<form method="post" action="{action}"><input type="hidden" name="status" value="{escape(status)}">'
            f'<button class="{css}" title="sends Rista status {escape(status)}">{escape(label)}</button></form>')


def any_status_form(invoice: str, back: str) -> str:
    action = escape(f"/_control/sales/{quote(invoice)}/status?redirect=1&next={quote(back)}")
    options = "".join(f"<option>{s}</option>" for s in sale_rules.CALLBACK_STATUSES)
    return (f'<details><summary>Send another status</summary><form method="post" action="{action}">'
            f'<select name="status" aria-label="Rista status">{options}</select> '
            '<button class="other">Send</button></form></details>')


def item_rows(items: list[Any]) -> str:
    rows = []
    for item in items:
        if not isinstance(item, dict):
            continue
        qty = item.get("quantity")
        qty_text = f"{qty:g}" if isinstance(qty, (int, float)) and not isinstance(qty, bool) else "?"
        extras = "".join(
            f'<span class="opt">+ {escape(str(o.get("name", o.get("skuCode", ""))))}</span>'
            for o in item.get("options") or [] if isinstance(o, dict)
        )
        if item.get("note"):
            extras += f'<span class="note">&ldquo;{escape(str(item["note"]))}&rdquo;</span>'
        rows.append(f'<li><span class="qty">{qty_text} &times;</span>{escape(str(item.get("shortName", "")))}'
                    f"{extras}</li>")
    return f'<ul class="items">{"".join(rows)}</ul>'


def last_callback(callbacks: list[dict[str, Any]], invoice: str) -> str:
    mine = [c for c in callbacks if c["invoiceNumber"] == invoice]
    if not mine:
        return "none yet"
    c = mine[-1]
    outcome = "dropped" if c.get("dropped") else ("unreachable" if c["status"] is None else str(c["status"]))
    return f"{c['event']} &rarr; {escape(outcome)}"


def ticket(sale: dict[str, Any], now: float, callbacks: list[dict[str, Any]], back: str) -> str:
    invoice = sale["invoiceNumber"]
    info = sale.get("sourceInfo") or {}
    current = stage(sale)
    received = datetime.fromtimestamp(sale["_receivedAt"], sale_rules.BRANCH_TZ)
    title = sale.get("label") or f"Order {sale.get('orderNumber', '')}"
    mode = " &middot; ".join(escape(str(x)) for x in (sale.get("channel"), (sale.get("delivery") or {}).get("mode"))
                             if x)
    buttons = "".join(status_form(invoice, status, label, css, back)
                      for label, status, css in NEXT_STEPS.get(current, []))
    total = money(sale.get("totalAmount", sale.get("billAmount")))
    note = f'<p class="note muted">Note: {escape(str(sale["note"]))}</p>' if sale.get("note") else ""
    css = f"ticket {current}" + (" done" if is_finished(sale) else "")
    return (
        f'<article class="{css}" data-invoice="{escape(invoice)}">'
        f'<div class="top"><span class="label">{escape(str(title))}</span>'
        f'<span class="stage {current}">{escape(STAGE_LABELS.get(current, current))}</span></div>'
        f'<div class="muted">{mode} &middot; {received:%H:%M:%S} IST ({age(now - sale["_receivedAt"])})'
        f'{" &middot; " + total if total else ""}</div>'
        f"{item_rows(sale.get('items') or [])}{note}"
        "<dl>"
        f"<dt>Invoice</dt><dd>{escape(invoice)}</dd>"
        f"<dt>Rista order</dt><dd>{escape(str(sale.get('orderNumber', '')))}</dd>"
        f"<dt>Our ref</dt><dd>{escape(str(info.get('invoiceNumber', '-')))}</dd>"
        f"<dt>Order id</dt><dd>{escape(str(info.get('orderTransactionId', '-')))}</dd>"
        f"<dt>Callback</dt><dd>{last_callback(callbacks, invoice)}</dd>"
        "</dl>"
        f"<div>{buttons}</div>{any_status_form(invoice, back)}</article>"
    )


def render(sb: RistaSandbox, branch: str, message: str | None, now: float) -> str:
    state = sb.state
    back = f"/?branch={quote(branch)}"
    with state.lock:
        sales = state.sales_list(branch=branch)
        callbacks = state.stats()["callbacks"]
        open_counts = {code: sum(not is_finished(s) for s in state.sales_matching(branch=code))
                       for code in state.branch_codes}
    sales.reverse()  # newest first
    active = [ticket(s, now, callbacks, back) for s in sales if not is_finished(s)]
    finished = [ticket(s, now, callbacks, back) for s in sales if is_finished(s)][:FINISHED_SHOWN]
    tabs = "".join(
        f'<a href="/?branch={quote(code)}"{HERE if code == branch else ""}>'
        f"{escape(code)} ({open_counts[code]} open)</a>"
        for code in state.branch_codes
    )
    flash = f'<p class="msg" role="status">{escape(message)}</p>' if message else ""
    body = (
        f"<header><h1>Rista sandbox &middot; kitchen</h1>"
        f"<p>Play the kitchen: <b>Accept</b> a new order, then mark it <b>Ready</b>. Each button changes the "
        f"sale in Rista and sends its <code>order.status</code> callback to the kiosk backend. "
        f'<a href="/_control/sales?branch={quote(branch)}">sales JSON</a> &middot; '
        f'<a href="/_control/stats">stats</a> &middot; <a href="/_control">all routes</a></p></header>'
        f'<nav aria-label="Branches">{tabs}</nav><main>{flash}'
        f"<h2>In the kitchen ({len(active)})</h2>"
        + (f'<div class="tickets">{"".join(active)}</div>' if active else
           '<p class="muted">No open orders. Place and pay an order at the kiosk: it appears here within '
           "seconds.</p>")
        + f"<h2>Finished ({len(finished)})</h2>"
        + (f'<div class="tickets">{"".join(finished)}</div>' if finished else
           '<p class="muted">Nothing finished yet.</p>')
        + "</main>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS};url={escape(back)}">'
        f"<title>Kitchen {escape(branch)} - Rista sandbox</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def register_page(sb: RistaSandbox) -> None:
    def index(req: Request) -> Response:
        branch = req.query.get("branch") or sb.state.default_branch
        if not sb.state.has_branch(branch):
            known = ", ".join(sb.state.branch_codes)
            return Response(404, f"<p>Unknown branch {escape(branch)}; this sandbox serves {escape(known)}. "
                                 '<a href="/">Kitchen</a></p>', content_type="text/html; charset=utf-8")
        return Response(200, render(sb, branch, req.query.get("msg"), time.time()),
                        content_type="text/html; charset=utf-8")

    sb.router.add("GET", "/", index)
