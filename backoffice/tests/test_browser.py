"""The back office in a real browser: Playwright driving Debian's Chromium against a live server.

Each role logs in through the login form. A manager finds an order by number
and reprints its KOT, resends a rejected order, refunds (branch manager only),
watches the live board refresh itself and downloads the day's CSV; a view-only
user's refund attempt is refused. Clicks are counted from the admin index and
printed; every page is saved as a screenshot under .run/screenshots/ (git-ignored)
for people to look at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse

from backoffice.tests.conftest import PASSWORD, make_user
from orders.models import OrderEvent
from orders.printing import order_print
from payments.models import Refund

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / ".run" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1366, "height": 768}


class Clicks:
    """Counts what a person does from the admin index: each click, and each Enter that submits."""

    def __init__(self) -> None:
        self.count = 0

    def click(self, locator) -> None:
        self.count += 1
        locator.click()


@pytest.fixture
def browser(live):
    """Started after (and closed before) the live server and the database, whose teardown is sync."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is not at {CHROMIUM}: `make test` installs it (scripts/browser.py)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
        # While Playwright's loop runs, Django keeps this thread's connections per context (asgiref), so the
        # test's ORM calls opened their own; close them here, or the test database cannot be dropped.
        connections.close_all()


@pytest.fixture
def live(live_server, monkeypatch):
    # Playwright's sync API runs an event loop in this thread; our ORM calls between steps are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SHOTS.mkdir(parents=True, exist_ok=True)
    return live_server.url


@pytest.fixture
def open_as(browser, live):
    contexts = []

    def login(username: str):
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, locale="en-IN",
                                      timezone_id="Asia/Kolkata")
        contexts.append(context)
        page = context.new_page()
        page.goto(live + reverse("admin:index"))
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#bo-find")
        return page

    yield login
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    """A PNG to look at, and a small JPEG (what docs/ keeps for the README)."""
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    page.screenshot(path=str(SHOTS / f"{name}.jpg"), type="jpeg", quality=62, full_page=False)


def report(capsys, text: str) -> None:
    with capsys.disabled():
        print(f"\n[browser] {text}")
    with open(SHOTS / "clicks.txt", "a") as out:
        out.write(text + "\n")


def find(page, clicks: Clicks, query: str) -> None:
    """From the index: type the order number in the big search box and press Find (one click)."""
    page.fill("#bo-find", query)
    clicks.click(page.locator(".bo-search button[type=submit]"))
    page.wait_for_load_state()


def test_a_shift_in_the_back_office(scenes, live, open_as, capsys, settings):
    (SHOTS / "clicks.txt").unlink(missing_ok=True)
    make_user("shiva", role="Shift manager")
    make_user("bina", role="Branch manager")
    make_user("anand", role="Accountant")
    viewer = make_user("vera")
    from django.contrib.auth.models import Permission

    viewer.user_permissions.set(Permission.objects.filter(codename__startswith="view_").exclude(
        codename="view_reports"))
    # A dozen orders in every state a shift meets.
    printed = scenes.in_kitchen()
    order_print(order=printed, document="kot", actor="kiosk:kiosk-1")  # the kiosk printed it once already
    waiting, ready, stuck, rejected = scenes.waiting(), scenes.ready(), scenes.stuck(), scenes.rejected()
    to_refund = scenes.in_kitchen()
    scenes.failed_payment()
    scenes.mismatch()
    scenes.late_refunded()
    scenes.refunded()
    scenes.paid()
    scenes.waiting()

    # -- the login page looks like the admin, styled (static files served) ----------------------------------
    page = open_as("shiva")
    shot(page, "01-index-shift-manager")
    assert page.locator("#bo-attention-count").inner_text() == "4"
    assert page.evaluate("getComputedStyle(document.querySelector('#header')).display") == "flex"

    # -- reprint a KOT: find by number, Print KOT, confirm ------------------------------------------------
    clicks = Clicks()
    find(page, clicks, printed.order_number)
    assert page.url.endswith(reverse("admin:orders_order_change", args=[printed.pk]))
    shot(page, "02-order-screen")
    for selector in ("#bo-order-number", "#bo-order-amount", ".bo-statuses", "#action-print-kot",
                     "#bo-timeline .bo-entry >> nth=0", "#bo-lines"):
        box = page.locator(selector).bounding_box()
        assert box and box["y"] + min(box["height"], 40) <= VIEWPORT["height"], f"{selector} below the fold"
    assert page.get_by_text("Save").count() == 0
    clicks.click(page.locator("#action-print-kot"))
    assert page.locator("#confirm-kot").is_visible()
    assert "DUPLICATE" in page.locator("#confirm-kot").inner_text()
    shot(page, "03-confirm-print")
    clicks.click(page.locator("#confirm-kot-submit"))
    page.wait_for_load_state()
    assert "DUPLICATE (copy 2)" in page.content()
    shot(page, "04-kot-reprint")
    reprint_clicks = clicks.count
    assert reprint_clicks <= 3
    assert OrderEvent.objects.filter(order=printed, kind="print", actor="staff:shiva").count() == 1
    report(capsys, f"reprint KOT: {reprint_clicks} clicks from the admin index (limit 3)")

    # -- resend the rejected order to the kitchen ----------------------------------------------------------
    page.goto(live + reverse("admin:index"))
    clicks = Clicks()
    find(page, clicks, rejected.order_number)
    assert "Kitchen did not get it" in page.content()
    clicks.click(page.locator("#action-resend"))
    clicks.click(page.locator("#confirm-resend-submit"))
    page.wait_for_load_state()
    assert "Resend to kitchen: queued" in page.content()
    shot(page, "05-resent")
    report(capsys, f"resend to kitchen: {clicks.count} clicks from the admin index")

    # -- the live board refreshes itself without a reload ----------------------------------------------------
    page.goto(live + reverse("admin:index"))
    clicks = Clicks()
    clicks.click(page.locator(".bo-nav a", has_text="Live board"))
    page.wait_for_selector(".bo-board")
    page.evaluate("window.__marker = 'same page'")
    assert page.locator(f'.bo-col-awaiting a[data-order="{waiting.order_number}"]').count() == 1
    assert page.locator(f'.bo-col-ready a[data-order="{ready.order_number}"]').count() == 1
    assert page.locator(f'.bo-col-problems a[data-order="{stuck.order_number}"]').count() == 1
    newcomer = scenes.waiting()  # an order placed while the board is open appears by itself
    page.wait_for_selector(f'.bo-col-awaiting a[data-order="{newcomer.order_number}"]', timeout=20_000)
    assert page.evaluate("window.__marker") == "same page"  # no full page reload
    assert page.locator("#bo-live-status").inner_text().startswith("Live, updated")
    shot(page, "06-live-board")
    clicks.click(page.locator(f'a[data-order="{ready.order_number}"]'))
    assert page.url.endswith(reverse("admin:orders_order_change", args=[ready.pk]))
    report(capsys, f"board to an order: {clicks.count} clicks from the admin index")

    page.goto(live + reverse("admin:backoffice_attention"))
    shot(page, "07-needs-attention")
    page.goto(live + reverse("admin:orders_order_changelist") + "?day=today")
    shot(page, "08-todays-orders")
    # A shift manager may not refund, not even by posting the form.
    page.goto(live + reverse("admin:orders_order_change", args=[to_refund.pk]))
    assert page.locator("#action-refund").count() == 0

    # -- a branch manager refunds, with a reason, seeing the amount ------------------------------------------
    page = open_as("bina")
    clicks = Clicks()
    find(page, clicks, to_refund.order_number)
    clicks.click(page.locator("#action-refund"))
    dialog = page.locator("#confirm-refund")
    assert dialog.is_visible() and "₹324.50" in dialog.inner_text()
    page.locator("#confirm-refund-submit").click()  # not counted: without a reason the form will not submit
    assert dialog.is_visible() and not Refund.objects.filter(payment__order=to_refund).exists()
    page.fill("#refund-reason", "dosa was cold")
    shot(page, "09-confirm-refund")
    clicks.click(page.locator("#confirm-refund-submit"))
    page.wait_for_load_state()
    assert "Refund of ₹324.50" in page.content()
    refund_clicks = clicks.count
    assert refund_clicks <= 4
    assert Refund.objects.get(payment__order=to_refund).reason == "dosa was cold"
    shot(page, "10-refunded")
    report(capsys, f"refund (branch manager): {refund_clicks} clicks from the admin index (limit 4), "
                   "plus typing the reason; an empty reason is refused")

    # -- the day's CSV ------------------------------------------------------------------------------------------
    page.goto(live + reverse("admin:index"))
    clicks = Clicks()
    clicks.click(page.locator(".bo-nav a", has_text="Reports"))
    page.wait_for_selector("#bo-takings")
    shot(page, "11-reports")
    with page.expect_download() as download:
        clicks.click(page.locator("#csv-orders"))
    path = download.value.path()
    text = Path(path).read_text()
    assert text.startswith("business_day,branch,order_number") and to_refund.order_number in text
    assert re.match(r"orders-\d{4}-\d{2}-\d{2}\.csv", download.value.suggested_filename)
    report(capsys, f"download the day's orders CSV: {clicks.count} clicks from the admin index")

    # -- the accountant sees reports, cannot print or refund -----------------------------------------------------
    page = open_as("anand")
    page.goto(live + reverse("admin:backoffice_reports"))
    assert page.locator("#bo-net").is_visible()
    page.goto(live + reverse("admin:orders_order_change", args=[printed.pk]))
    assert page.locator("#action-print-kot").count() == 0 and page.locator("#action-refund").count() == 0

    # -- a view-only user's refund attempt is refused --------------------------------------------------------------
    page = open_as("vera")
    target = scenes.paid()
    page.goto(live + reverse("admin:orders_order_change", args=[target.pk]) + "?confirm=refund")
    assert page.locator("#confirm-refund").count() == 0
    shot(page, "12-view-only")
    status = page.evaluate("""async ([url, payment]) => {
        const token = document.cookie.split('; ').find(c => c.startsWith('csrftoken=')).split('=')[1];
        const body = new URLSearchParams({csrfmiddlewaretoken: token, payment: payment, reason: 'let me'});
        const resp = await fetch(url, {method: 'POST', body: body, credentials: 'same-origin'});
        return resp.status;
    }""", [reverse("admin:orders_order_refund", args=[target.pk]), str(target.payments.get().pk)])
    assert status == 403
    assert not Refund.objects.filter(payment__order=target).exists()
    report(capsys, "view-only user's refund: refused (HTTP 403), nothing refunded")

    # -- the printed bill of a paid order, for the screenshot folder ------------------------------------------
    page = open_as("shiva")
    page.goto(live + reverse("admin:orders_order_print", args=[printed.pk, "bill"]))
    shot(page, "13-bill-preview")


def test_a_branch_manager_sees_only_their_branch(scenes, live, open_as):
    """Two branches: Bengaluru's manager finds Bengaluru's order, and Mysuru's does not exist for them
    (the list leaves it out, its page is 404, and a refund posted by hand is refused with nothing done)."""
    from kiosk_project.core.models import Branch
    from orders.models import Order
    from payments.models import Payment

    Branch.objects.create(code="MYS01", display_name="Mysuru", invoice_prefix="MYS1")
    bengaluru, mysuru = scenes.paid(), scenes.paid()
    Order.objects.filter(pk=mysuru.pk).update(branch_code="MYS01")  # scoping reads only the order's branch
    manager = make_user("bala", role="Branch manager")
    Branch.objects.get(code="BLR01").staff.add(manager)

    page = open_as("bala")
    page.goto(live + reverse("admin:orders_order_changelist"))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1 and bengaluru.order_number in rows.first.inner_text()
    shot(page, "20-branch-manager-list")
    answer = page.goto(live + reverse("admin:orders_order_change", args=[mysuru.pk]))
    assert answer is not None and answer.status == 404
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    payment = Payment.objects.get(order_id=mysuru.pk)
    refused = page.request.post(live + reverse("admin:orders_order_refund", args=[mysuru.pk]),
                                form={"payment": str(payment.pk), "reason": "customer asked"},
                                headers={"X-CSRFToken": token, "Referer": live + "/admin/"})
    assert refused.status == 404
    assert not Refund.objects.exists()
    page.goto(live + reverse("admin:orders_order_change", args=[bengaluru.pk]))
    assert page.locator("text=Refund").first.is_visible()  # their own branch's order has its actions
