"""Smoke test of the kiosk screen on a running `make run`, as a newcomer uses it: open the link make run
printed (already paired), order, pay with the PhonePe sandbox playing the phone, see the order number.

    .venv/bin/python .ci/smoke_kiosk.py MAKE_RUN_LOG
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts.browser import ensure_chromium

PHONEPE = "http://127.0.0.1:8082"


def main(log: str) -> None:
    link = re.search(r"Kiosk screen\s+(http://\S+/kiosk/#key=\S+)", log)[1]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=ensure_chromium(),
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1080, "height": 1920})
        page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
        page.goto(link)
        page.get_by_test_id("mode-takeaway").click()
        page.get_by_test_id("add-1").click()
        page.get_by_test_id("review-order").click()
        page.get_by_test_id("pay").click()
        page.locator(".qr-svg, .qr-img").first.wait_for(timeout=20_000)
        with urllib.request.urlopen(f"{PHONEPE}/_control/payments", timeout=10) as resp:
            ref = [p["ref"] for p in json.load(resp)["payments"] if p["state"] == "PENDING"][-1]
        urllib.request.urlopen(urllib.request.Request(f"{PHONEPE}/_control/payments/{ref}/pay", data=b"{}",
                                                      method="POST"), timeout=30).read()
        number = page.get_by_test_id("order-number")
        number.wait_for(timeout=20_000)
        print(f"ok   the printed link opens the kiosk paired; ordered and paid: order {number.inner_text()}")
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]).read_text())
