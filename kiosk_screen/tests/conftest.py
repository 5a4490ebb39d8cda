"""The kiosk screen in a real browser: Playwright driving Debian's Chromium (never a browser download) against
pytest-django's live server, with the PhonePe and Rista sandboxes over HTTP calling back into it.

The launch follows the back office's browser tests (backoffice/tests/test_browser.py): the system Chromium at
CHROMIUM_PATH, headless, started after (and closed before) the live server and the database. Screenshots of
every screen, at 1080x1920 portrait and 1920x1080 landscape, go to .run/screenshots/kiosk/ (git-ignored).

Every test runs against the whole contract (the status document's `payment` block, cancel, GET /kiosk, the
store status): none of them is skipped when a part is missing, so a regression in the API fails here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from testing.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / ".run" / "screenshots" / "kiosk"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SIZES = {"portrait": {"width": 1080, "height": 1920}, "landscape": {"width": 1920, "height": 1080}}
CART = {"items": [{"item_sku_id": "1", "quantity": 2}, {"item_sku_id": "9", "quantity": 1}], "order_mode": "takeaway"}


@dataclass
class Stack:
    """The running API and sandboxes, with the demo kiosk's key."""

    url: str
    key: str
    phonepe: Any
    rista: Any
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def api(self) -> str:
        return self.url + "/api/v1"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Kiosk {self.key}"}

    def status(self, order_id: str) -> dict:
        return self.http.get(f"{self.api}/orders/{order_id}/status", headers=self.auth, timeout=10).json()

    def pending_payment(self, exclude: tuple[str, ...] = ()) -> str:
        """The merchant reference of the QR on the screen, as the customer's phone sees it (PhonePe's side)."""
        def find() -> str | None:
            payments = self.http.get(f"{self.phonepe.url}/_control/payments", timeout=10).json()["payments"]
            refs = [p["ref"] for p in payments if p["state"] == "PENDING" and p["ref"] not in exclude]
            return refs[-1] if refs else None
        return wait_until(find, 15, "a pending payment in the PhonePe sandbox")

    def phone(self, ref: str, action: str) -> dict:
        answer = self.http.post(f"{self.phonepe.url}/_control/payments/{ref}/{action}", json={}, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def sales_of(self, order_id: str) -> list[dict]:
        return self.http.get(f"{self.rista.url}/_control/sales", params={"orderTransactionId": order_id},
                             timeout=10).json()


@pytest.fixture
def stack(live_server, settings, phonepe, rista, kiosk, broker, monkeypatch) -> Iterator[Stack]:
    """The live server with both sandboxes calling back into it, as PhonePe and Rista call PUBLIC_BASE_URL."""
    from payments.gateway import reset_gateway

    # Playwright's sync API runs an event loop in this thread; our ORM calls between steps are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.PUBLIC_BASE_URL = live_server.url
    phonepe.config.webhook_url = live_server.url + "/api/v1/payment/webhook"
    rista.webhook_url = live_server.url + "/api/v1/catalog/refresh"
    settings.KIOSK_SCREEN_MENU_REFRESH_SECONDS = 1  # sold-out marks reach the screen within seconds
    settings.KIOSK_SCREEN_POLL_SECONDS = 1.0
    reset_gateway()
    yield Stack(url=live_server.url, key=kiosk[1], phonepe=phonepe, rista=rista)
    reset_gateway()


@pytest.fixture
def browser(stack) -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is not at {CHROMIUM}: `make test` installs it (scripts/browser.py)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


class Kiosk:
    """One kiosk screen: a browser page at a size, paired through the link `make run` prints."""

    def __init__(self, browser: Any, stack: Stack, size: str) -> None:
        self.stack = stack
        self.size = size
        self.context = browser.new_context(viewport=SIZES[size], locale="en-IN", timezone_id="Asia/Kolkata",
                                           has_touch=True)
        self.foreign: list[str] = []  # every request that left for another host (only menu images may)
        self.context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]|localhost[:/])"), self._abroad)
        # The OS print dialog cannot run headless: count the calls instead, and print-preview with print media.
        self.context.add_init_script("window.print = () => { window.__printed = (window.__printed || 0) + 1; };")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _abroad(self, route: Any) -> None:
        self.foreign.append(route.request.url)
        route.abort("internetdisconnected")  # the sample's images are on Rista's CDN, unreachable here

    def open(self, *, paired: bool = True) -> Kiosk:
        self.page.goto(self.stack.url + "/kiosk/" + (f"#key={self.stack.key}" if paired else ""))
        return self

    def tid(self, testid: str) -> Any:
        return self.page.locator(f'[data-testid="{testid}"]')

    def wait(self, testid: str, timeout: float = 15_000) -> Any:
        locator = self.tid(testid)
        locator.first.wait_for(state="visible", timeout=timeout)
        return locator

    def tap(self, testid: str) -> None:
        self.tid(testid).first.click()

    def text(self, testid: str) -> str:
        return self.tid(testid).first.inner_text()

    def shot(self, name: str, *, both: bool = True, focus: Any = None) -> None:
        """This screen at this size, and (both=True) at the other size too, then back; `focus` scrolled to."""
        sizes = [self.size, *(s for s in SIZES if s != self.size)] if both else [self.size]
        for size in sizes:
            self.page.set_viewport_size(SIZES[size])
            if focus is not None:
                focus.evaluate("el => el.scrollIntoView({block: 'center'})")
            self.page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            self.page.screenshot(path=str(SHOTS / f"{size}-{name}.png"), animations="disabled")
        self.page.set_viewport_size(SIZES[self.size])

    def close(self) -> None:
        assert not self.errors, f"JavaScript errors on the page: {self.errors}"
        self.context.close()


@pytest.fixture
def open_kiosk(browser, stack) -> Iterator[Callable[..., Kiosk]]:
    screens: list[Kiosk] = []

    def start(size: str = "portrait", *, paired: bool = True) -> Kiosk:
        screen = Kiosk(browser, stack, size).open(paired=paired)
        screens.append(screen)
        return screen

    yield start
    for screen in screens:
        screen.close()
