"""Smoke test of a running `make run`: what a person trying the demo would do, checked.

    python3 .ci/smoke.py MAKE_RUN_LOG

Menu, quote, order, UPI QR, the customer pays in the PhonePe sandbox, the order
is CONFIRMED, the sale reaches the Rista sandbox, the kitchen moves it to READY.
Then the newcomer's first steps: the key `make run` printed works (and is not a
stale one left in .run/), the kiosk screen and its assets are served, and the
README's "Try it by hand" block runs as written and ends with the order READY.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BASE = "http://127.0.0.1:8000"
API = BASE + "/api/v1"
RISTA = "http://127.0.0.1:8081"
PHONEPE = "http://127.0.0.1:8082"
CART = {"items": [{"item_sku_id": "1", "quantity": 2}, {"item_sku_id": "9", "quantity": 1}],
        "order_mode": "takeaway"}


def call(method: str, url: str, body: object = None, headers: dict | None = None) -> tuple[int, dict, object]:
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, dict(exc.headers), json.loads(raw) if raw else {}


def check(cond: bool, what: str) -> None:
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        sys.exit(1)


def wait_for(fetch, done, what: str, timeout: float = 30.0):
    deadline = time.time() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.time() > deadline:
            check(False, f"{what} (last seen: {value})")
        time.sleep(0.3)


def back_office_is_styled() -> None:
    """The admin's pages and their CSS come from gunicorn itself (WhiteNoise), not a CDN or nothing."""
    import re

    with urllib.request.urlopen(f"{BASE}/admin/login/", timeout=30) as resp:
        page = resp.read().decode()
    sheets = re.findall(r'href="(/static/[^"]+\.css)"', page)
    check(any("admin/css/base" in s for s in sheets) and any("backoffice" in s for s in sheets),
          "the back office's login page links its stylesheets")
    for sheet in sheets:
        with urllib.request.urlopen(BASE + sheet, timeout=30) as resp:
            check(resp.status == 200 and resp.headers["Content-Type"].startswith("text/css"), f"{sheet} is served")


def main() -> None:
    back_office_is_styled()
    status, headers, menu = call("GET", f"{API}/catalog")
    check(status == 200, f"menu answers 200 (got {status})")
    check(len(menu.get("items", [])) == 33, "menu has the sample's 33 items")
    status, _, _ = call("GET", f"{API}/catalog", headers={"If-None-Match": headers.get("ETag", "")})
    check(status == 304, "menu revalidates with 304")

    key = json.loads((ROOT / ".run" / "demo-kiosk.json").read_text())["key"]
    kiosk = {"Authorization": f"Kiosk {key}"}
    status, _, quote = call("POST", f"{API}/orders/quote", CART, kiosk)
    check(status == 200 and quote["total_amount_include_tax"] == 324.5, "quote is Rs 324.50")
    status, _, _ = call("GET", f"{API}/catalog?order_mode=dine_in")
    check(status == 200, f"the dine-in menu answers 200 (got {status})")
    status, _, dine_in = call("POST", f"{API}/orders/quote", {**CART, "order_mode": "dine_in"}, kiosk)
    check(status == 200 and (dine_in["total_amount_include_tax"], dine_in["channel"]) == (304.5, "Dine In"),
          "dine-in quote is Rs 304.50 on the Dine In channel, no packing charge "
          f"(got {dine_in.get('total_amount_include_tax')} on {dine_in.get('channel')})")
    status, _, order = call("POST", f"{API}/orders", CART, {**kiosk, "Idempotency-Key": f"smoke-{time.time()}"})
    check(status == 201 and order["status"] == "PENDING", f"order placed ({order.get('order_number')})")
    order_id = order["order_id"]

    status, _, payment = call("POST", f"{API}/payment/initiate", {"order_id": order_id, "amount": 324.5}, kiosk)
    check(status == 201 and payment["qr_string"].startswith("upi://"), "UPI QR issued")

    _, _, pending = call("GET", f"{PHONEPE}/_control/payments")
    refs = [p["ref"] for p in pending["payments"] if p["state"] == "PENDING"]
    check(len(refs) >= 1, "the PhonePe sandbox shows the pending payment")
    status, _, _ = call("POST", f"{PHONEPE}/_control/payments/{refs[-1]}/pay", {})
    check(status == 200, "the customer pays in the PhonePe sandbox")

    def order_status() -> dict:
        return call("GET", f"{API}/orders/{order_id}/status", headers=kiosk)[2]

    wait_for(order_status, lambda s: s["status"] == "CONFIRMED", "order CONFIRMED")
    check(True, "order CONFIRMED after PhonePe's callback")

    def sale() -> dict | None:
        sales = call("GET", f"{RISTA}/_control/sales?orderTransactionId={order_id}")[2]
        return sales[0] if len(sales) == 1 else None

    found = wait_for(sale, lambda s: s is not None, "the sale in the Rista sandbox")
    check(True, f"the kitchen received sale {found['invoiceNumber']}")
    for rista_status, ours in (("Accepted", "ACCEPTED"), ("Processed", "READY")):
        call("POST", f"{RISTA}/_control/sales/{found['invoiceNumber']}/status", {"status": rista_status})
        wait_for(order_status, lambda s, ours=ours: s["kitchen_status"] == ours, f"kitchen {ours}")
    check(True, "kitchen status READY on the kiosk's status endpoint")


def printed_key(log: str, stale: str | None) -> str:
    """The key and link make run printed: the same key, known to this database, not the stale one."""
    link = re.search(r"Kiosk screen\s+(http://\S+/kiosk/#key=(\S+))", log)
    banner_key = re.search(r"Demo kiosk key\s+(kk_\S+)", log)
    check(bool(link and banner_key), "make run printed the kiosk link and the demo key")
    key = banner_key[1]
    check(link[2] == key == json.loads((ROOT / ".run" / "demo-kiosk.json").read_text())["key"],
          "the link, the banner and .run/demo-kiosk.json carry the same key")
    check(key != stale, "the stale key left in .run/ was replaced, not printed")
    status, _, _ = call("POST", f"{API}/orders/quote", CART, {"Authorization": f"Kiosk {key}"})
    check(status == 200, f"the printed key works (quote answered {status})")
    return key


def kiosk_screen() -> None:
    with urllib.request.urlopen(f"{BASE}/kiosk/", timeout=10) as resp:
        page = resp.read().decode()
        csp = resp.headers.get("Content-Security-Policy", "")
    check("default-src 'self'" in csp, "the kiosk screen is served with its Content-Security-Policy")
    # make run has DEBUG on: plain names, served from the apps (hashed names and far-future caching with
    # DEBUG off are kiosk_screen/tests/test_page.py's gunicorn test).
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    import_map = re.search(r'<script type="importmap">(.*?)</script>', page, re.S)
    assets += json.loads(import_map[1])["imports"].values() if import_map else []
    for path in [*assets, "/static/kiosk/api.js", "/static/kiosk/strings.en.js"]:
        with urllib.request.urlopen(BASE + path, timeout=10) as resp:
            check(resp.status == 200, f"{path} served")
    check(not re.search(r'(?:src|href)="https?://', page), "nothing on the page comes from elsewhere")


def readme_walkthrough() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Try it by hand"):]
    block = section[section.index("```sh\n") + 6:section.index("\n```", section.index("```sh\n"))]
    run = subprocess.run(["bash", "-eu", "-c", block], cwd=ROOT, capture_output=True, text=True, timeout=120)
    last = [line for line in run.stdout.splitlines() if line.strip()][-1:] or [""]
    check(run.returncode == 0 and '"kitchen_status":"READY"' in last[0],
          f"README's walkthrough runs as written and ends READY (exit {run.returncode}, last: {last[0][:200]}; "
          f"stderr: {run.stderr[-400:]})")


def banner(log_path: Path) -> str:
    """make run's log once its banner is out (it is printed just after /health first answers)."""
    return wait_for(log_path.read_text, lambda text: "Ctrl-C stops everything." in text, "make run's banner")


if __name__ == "__main__":
    stale_key = sys.argv[2] if len(sys.argv) > 2 else None
    main()
    if len(sys.argv) > 1:
        printed_key(banner(Path(sys.argv[1])), stale_key)
    kiosk_screen()
    readme_walkthrough()
