"""The demo page: a person plays the customer's phone by pressing Pay or Fail.

Plain HTML forms posting to /_control/...?redirect=1 (303 back here), a meta
refresh instead of JavaScript, and each pending payment's UPI QR inline as SVG.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING
from urllib.parse import quote

from sandbox.httpkit import Request, Response
from sandbox.phonepe.qr import paise_to_rupees, qr_svg
from sandbox.phonepe.state import FAILED, PENDING, LedgerError, Payment, Refund

if TYPE_CHECKING:
    from sandbox.phonepe.server import PhonePeSandbox

RECENT = 15

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f5f3fa;color:#222}
header{background:#5f259f;color:#fff;padding:.8rem 1.5rem}header h1{margin:0;font-size:1.3rem}
header p{margin:.2rem 0 0;font-size:.85rem;opacity:.85}header a{color:#fff}
main{padding:1rem 1.5rem;max-width:1100px}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
.msg{background:#fff8d6;border:1px solid #e8d27a;padding:.5rem .8rem;border-radius:6px}
.cards{display:flex;flex-wrap:wrap;gap:1rem}
.card{background:#fff;border-radius:10px;padding:1rem;box-shadow:0 1px 3px #0002;display:flex;gap:1rem}
.card .amt{font-size:1.5rem;font-weight:600;margin:.2rem 0}.muted{color:#666;font-size:.85rem}
form{display:inline}
button{border:0;border-radius:6px;padding:.45rem .9rem;margin:.3rem .3rem 0 0;cursor:pointer}
.pay{background:#1e8e3e;color:#fff}.fail{background:#c5221f;color:#fff}.other{background:#ddd}
table{border-collapse:collapse;background:#fff;width:100%;font-size:.9rem}
td,th{padding:.4rem .6rem;border-bottom:1px solid #eee;text-align:left}
.COMPLETED{color:#1e8e3e;font-weight:600}.FAILED{color:#c5221f;font-weight:600}.PENDING{color:#b06000}
"""


def rupees(paise: int | None) -> str:
    return "-" if paise is None else f"&#8377;&nbsp;{paise_to_rupees(paise)}"


def duration(seconds: float) -> str:
    seconds = int(abs(seconds))
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def button(path: str, label: str, css: str, next_path: str = "/", **fields: str) -> str:
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                     for k, v in fields.items())
    action = escape(f"{path}?redirect=1&next={quote(next_path)}")
    return f'<form method="post" action="{action}">{hidden}<button class="{css}">{label}</button></form>'


def actions(p: Payment, next_path: str = "/") -> str:
    base = f"/_control/payments/{quote(p.ref)}"
    if p.state == PENDING:
        return (button(f"{base}/pay", "Pay", "pay", next_path)
                + button(f"{base}/fail", "Fail", "fail", next_path)
                + button(f"{base}/decline", "Decline", "other", next_path)
                + button(f"{base}/expire", "Expire", "other", next_path))
    html = button(f"{base}/pay", "Pay late", "other", next_path, late="1") if p.state == FAILED else ""
    if p.last_message is not None:  # only a callback that was (or would have been) sent can be replayed
        html += button(f"{base}/resend", "Resend callback", "other", next_path)
    return html


def pending_card(p: Payment, now: float) -> str:
    left = p.expire_at - now
    expiry = f"expires in {duration(left)}" if left > 0 else f"expired {duration(left)} ago"
    return (
        f'<div class="card"><div>{qr_svg(p.intent_url)}</div><div>'
        f"<strong>{escape(p.ref)}</strong><div class=\"muted\">{p.api} &middot; {escape(p.instrument)}</div>"
        f'<div class="amt">{rupees(p.amount)}</div>'
        f'<div class="muted">created {duration(now - p.created_at)} ago &middot; {expiry}</div>'
        f"<div>{actions(p)}</div></div></div>"
    )


def recent_row(p: Payment) -> str:
    sent = ", ".join(str(c["status"] or c["delivery"]) for c in p.callbacks) or "-"
    late = " (late)" if p.late else ""
    return (
        f"<tr><td>{escape(p.ref)}</td><td>{p.api}</td><td class=\"{p.state}\">{p.state}{late}</td>"
        f"<td>{escape(p.code)}</td><td>{rupees(p.amount)}</td><td>{rupees(p.paid_amount)}</td>"
        f"<td>{escape(sent)}</td><td>{actions(p)}</td></tr>"
    )


def refund_row(r: Refund) -> str:
    base = f"/_control/refunds/{quote(r.ref)}"
    buttons = (button(f"{base}/complete", "Complete", "pay") + button(f"{base}/fail", "Fail", "fail")
               if r.state == PENDING else "")
    return (
        f"<tr><td>{escape(r.ref)}</td><td>{r.api}</td><td>{escape(r.original_ref)}</td>"
        f"<td>{rupees(r.amount)}</td><td class=\"{r.state}\">{r.state}</td><td>{buttons}</td></tr>"
    )


def table(headings: list[str], rows: list[str], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{empty}</p>'
    head = "".join(f"<th>{h}</th>" for h in headings)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def flash(message: str | None) -> str:
    return f'<p class="msg">{escape(message)}</p>' if message else ""


def document(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def render_index(sb: PhonePeSandbox, message: str | None) -> str:
    now = sb.clock()
    sb.gateway.tick()
    payments = sorted(sb.gateway.ledger.all_payments(), key=lambda p: p.created_at, reverse=True)
    pending = [pending_card(p, now) for p in payments if p.state == PENDING]
    recent = [recent_row(p) for p in payments if p.state != PENDING][:RECENT]
    refunds = sorted(sb.gateway.ledger.all_refunds(), key=lambda r: r.created_at, reverse=True)[:RECENT]
    cfg = sb.config
    body = (
        "<header><h1>PhonePe sandbox</h1>"
        f"<p>merchant {escape(cfg.merchant_id)} &middot; "
        f"v2 webhooks to {escape(cfg.webhook_url or 'nowhere (not configured)')} &middot; "
        '<a href="/_control/report">report</a> &middot; <a href="/_control/payments">payments JSON</a>'
        f"</p></header><main>{flash(message)}"
        "<h2>Waiting for the customer</h2>"
        + (f'<div class="cards">{"".join(pending)}</div>' if pending
           else '<p class="muted">No pending payments. Start one from the kiosk.</p>')
        + "<h2>Recent payments</h2>"
        + table(["Reference", "API", "State", "Code", "Requested", "Paid", "Callbacks", ""], recent,
                "Nothing finished yet.")
        + "<h2>Refunds</h2>"
        + table(["Refund", "API", "Payment", "Amount", "State", ""], [refund_row(r) for r in refunds],
                "No refunds.")
        + "</main>"
    )
    return document("PhonePe sandbox", body)


def render_transact(sb: PhonePeSandbox, p: Payment, message: str | None) -> str:
    """The hosted payment page a v1 PAY_PAGE or v2 Standard Checkout redirect points at."""
    here = f"/transact/{quote(p.ref)}"
    back = (f'<p><a href="{escape(p.redirect_url)}">Return to the merchant</a></p>'
            if p.redirect_url and p.state != PENDING else "")
    qr = qr_svg(p.intent_url, scale=4) if p.state == PENDING else ""
    base = f"/_control/payments/{quote(p.ref)}"
    controls = (button(f"{base}/pay", "Pay", "pay", here) + button(f"{base}/fail", "Fail", "fail", here)
                if p.state == PENDING else "")
    body = (
        f"<header><h1>Pay {escape(p.merchant_id)}</h1><p>PhonePe sandbox checkout</p></header>"
        f"<main>{flash(message)}"
        f'<div class="card"><div>{qr}</div><div><strong>{escape(p.ref)}</strong>'
        f'<div class="amt">{rupees(p.amount)}</div><div class="{p.state}">{p.state}</div>'
        f"<div>{controls}</div>{back}</div></div></main>"
    )
    return document(f"Pay {p.ref}", body)


def register(sb: PhonePeSandbox) -> None:
    def index(req: Request) -> Response:
        return Response(200, render_index(sb, req.query.get("msg")), content_type="text/html; charset=utf-8")

    def transact(req: Request) -> Response:
        try:
            payment = sb.gateway.payment(req.params["ref"])
        except LedgerError:
            return Response(404, "<p>Unknown payment</p>", content_type="text/html; charset=utf-8")
        return Response(200, render_transact(sb, payment, req.query.get("msg")),
                        content_type="text/html; charset=utf-8")

    sb.router.add("GET", "/", index)
    sb.router.add("GET", "/_control/ui", index)
    sb.router.add("GET", "/transact/{ref}", transact)
