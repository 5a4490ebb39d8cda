"""A customer's journey on the kiosk screen, in Chromium, with every part real.

The screen calls the live API with the kiosk's key; the PhonePe sandbox's control endpoint plays the
customer's phone; PhonePe's webhook confirms the order; a real Celery worker sends the sale to the Rista
sandbox; the Rista sandbox's kitchen moves it to ready and calls our webhook; the screen follows it all.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from kiosk_screen.tests.conftest import SHOTS
from orders.models import Order, OrderStatus
from payments.models import Payment, PaymentStatus
from testing.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def fill_worked_example(screen) -> None:
    """2 x Davanagere Benne Sada Dose + 1 x Idli Chutney, from the menu."""
    screen.tap("add-1")
    screen.wait("stepper-1").first.get_by_role("button", name="One more").click()
    screen.tap("add-9")
    wait_until(lambda: screen.text("summary-total") == "₹324.50", 10, "the quoted total in the order bar")


def test_journey_from_welcome_to_the_order_number(stack, open_kiosk, start_worker):
    worker = start_worker()  # noqa: F841 (kept running: it sends the paid order to the kitchen)
    screen = open_kiosk("portrait")
    page = screen.page

    # Paired by the link make run prints: the key is kept on the device and taken out of the address bar.
    screen.wait("screen-welcome")
    assert page.url == stack.url + "/kiosk/"
    assert page.evaluate("localStorage.getItem('kiosk.key')") == stack.key
    assert screen.tid("mode-takeaway").is_visible() and screen.tid("mode-dine_in").is_visible()
    screen.shot("01-welcome")

    screen.tap("mode-takeaway")
    screen.wait("screen-menu")
    screen.shot("02-menu")
    fill_worked_example(screen)
    assert screen.text("cart-count") == "3 items"
    screen.shot("03-menu-with-order")

    # The review: every amount is the server's quote, itemised.
    screen.tap("review-order")
    screen.wait("screen-cart")
    wait_until(lambda: screen.text("total") == "₹324.50", 10, "the quote on the review screen")
    rows = {key: screen.text(f"row-{key}") for key in ("subtotal", "charge-PC", "tax-CGST", "tax-SGST")}
    assert rows == {"subtotal": "Items\n₹290.00", "charge-PC": "Packing charge\n₹20.00",
                    "tax-CGST": "CGST 2.5%\n₹7.25", "tax-SGST": "SGST 2.5%\n₹7.25"}
    screen.shot("04-review")

    # The first answer to "place the order" is lost on the way back (the server did create it): the screen
    # retries with the same Idempotency-Key and gets the same order back. One order, never two.
    keys: list[str] = []

    def lose_first_answer(route) -> None:
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fetch()  # reaches the server...
            route.abort("connectionreset")  # ...but the answer never reaches the kiosk
        else:
            route.continue_()

    page.route(f"{stack.url}/api/v1/orders", lose_first_answer)
    screen.tap("pay")
    screen.wait("screen-pay")
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0].startswith("kiosk-")
    order = Order.objects.get()
    assert order.total_amount_include_tax == Decimal("324.50") and order.status == OrderStatus.PENDING

    screen.wait("qr")
    page.locator(".qr-svg, .qr-img").first.wait_for()
    assert screen.text("pay-amount") == "₹324.50"
    assert re.fullmatch(r"Time left [78]:\d\d", screen.text("countdown"))  # the QR lives 8 minutes
    screen.shot("05-pay")

    # The customer pays on their phone.
    stack.phone(stack.pending_payment(), "pay")
    screen.wait("screen-success")
    assert screen.text("order-number") == order.order_number
    screen.shot("06-paid")

    # Exactly one sale in the kitchen, found the way the README says.
    sale = wait_until(lambda: stack.sales_of(str(order.id)), 60, "the sale in the Rista sandbox")
    assert len(sale) == 1 and len(stack.rista.sales) == 1
    assert Decimal(str(sale[0]["totalAmount"])) == Decimal("324.50")

    # The kitchen (the sandbox's Accept / Ready buttons post these) moves it along; the screen follows.
    for status in ("Accepted", "Processed"):
        moved = stack.http.post(f"{stack.rista.url}/_control/sales/{sale[0]['invoiceNumber']}/status",
                                json={"status": status}, timeout=15)
        assert moved.json()["callback_status"] == 200, moved.text
    page.locator('[data-testid="kitchen-status"][data-kitchen="READY"]').wait_for(timeout=15_000)
    assert "ready" in screen.text("kitchen-status").lower()
    screen.shot("07-ready")

    # Print receipt: the browser prints the stored order (lines, charges, taxes, total).
    screen.tap("print-receipt")
    wait_until(lambda: page.evaluate("window.__printed || 0") == 1, 10, "window.print()")
    receipt = page.locator("#receipt").inner_text()
    assert order.order_number in receipt and "₹324.50" in receipt and "Packing charge" in receipt
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 420, "height": 1000})
    page.locator("#receipt").screenshot(path=str(SHOTS / "receipt.png"))
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 1080, "height": 1920})

    screen.tap("done")
    screen.wait("screen-welcome")
    assert Order.objects.count() == 1 and len(stack.rista.sales) == 1

    # Nothing came from anywhere but this server, except the menu's own images (Rista's CDN, blocked here).
    images = {item.get("imageURL") for item in stack.http.get(f"{stack.api}/catalog", timeout=10).json()["items"]}
    assert set(screen.foreign) <= images, set(screen.foreign) - images


def test_a_declined_payment_is_retried_and_paid(stack, open_kiosk):
    screen = open_kiosk("landscape")
    screen.wait("screen-welcome")
    screen.tap("mode-dine_in")
    screen.wait("screen-menu")
    screen.tap("add-27")  # Hot Filter Coffee
    wait_until(lambda: screen.text("summary-total").startswith("₹"), 10, "the quoted total")
    screen.tap("review-order")
    wait_until(lambda: screen.tid("pay").is_enabled(), 10, "the Pay button")
    screen.tap("pay")
    screen.wait("screen-pay")
    order = Order.objects.get()
    first = stack.pending_payment()
    stack.phone(first, "decline")

    screen.wait("screen-failed")
    assert screen.tid("retry").is_visible() and screen.tid("failed-cancel").is_visible()
    screen.shot("08-payment-failed")
    assert stack.status(str(order.id))["status"] == "PENDING"  # still payable

    screen.tap("retry")
    screen.wait("screen-pay")
    second = stack.pending_payment(exclude=(first,))
    assert second != first  # a new QR for the new attempt
    stack.phone(second, "pay")
    screen.wait("screen-success")
    assert screen.text("order-number") == order.order_number
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED and order.order_mode == "dine_in"
    assert sorted(Payment.objects.filter(order=order).values_list("status", flat=True)) == [
        PaymentStatus.FAILED, PaymentStatus.SUCCEEDED]


def test_the_failure_message_comes_from_the_api(stack, open_kiosk):
    """With the contract's `payment` block, the customer reads the API's own message for the failure."""
    screen = open_kiosk("portrait")
    screen.wait("screen-welcome")
    screen.tap("mode-takeaway")
    screen.tap("add-27")
    screen.tap("review-order")
    wait_until(lambda: screen.tid("pay").is_enabled(), 10, "the Pay button")
    screen.tap("pay")
    screen.wait("screen-pay")
    order = Order.objects.get()
    stack.phone(stack.pending_payment(), "decline")
    screen.wait("screen-failed")
    payment = wait_until(lambda: stack.status(str(order.id))["payment"], 10, "the payment block")
    assert payment["status"] == "FAILED" and payment["can_retry"] is True
    assert screen.text("failure-message") == payment["message"]


def test_cancel_on_the_qr_screen_cancels_the_order_and_keeps_the_cart(stack, open_kiosk):
    screen = open_kiosk("portrait")
    screen.wait("screen-welcome")
    screen.tap("mode-takeaway")
    screen.wait("screen-menu")
    fill_worked_example(screen)
    screen.tap("review-order")
    wait_until(lambda: screen.tid("pay").is_enabled(), 10, "the Pay button")
    screen.tap("pay")
    screen.wait("screen-pay")
    order = Order.objects.get()
    screen.tap("pay-cancel")
    screen.wait("screen-cart")
    wait_until(lambda: stack.status(str(order.id))["status"] == "CANCELLED", 10, "the order CANCELLED")
    assert screen.text("total") == "₹324.50"  # the customer can change the order and pay again


def test_payment_expired_goes_back_to_start(stack, open_kiosk, settings):
    """The QR ran out unpaid: the countdown reaches 0:00, the screen says so and starts again."""
    settings.PAYMENT_QR_EXPIRY_SECONDS = 6
    answer = stack.http.post(f"{stack.phonepe.url}/_control/config", json={"minExpireAfter": 1}, timeout=10)
    assert answer.status_code == 200, answer.text
    screen = open_kiosk("portrait")
    screen.wait("screen-welcome")
    screen.tap("mode-takeaway")
    screen.tap("add-27")
    screen.tap("review-order")
    wait_until(lambda: screen.tid("pay").is_enabled(), 10, "the Pay button")
    screen.tap("pay")
    screen.wait("screen-pay")
    screen.page.locator(".qr-svg, .qr-img").first.wait_for()
    assert re.fullmatch(r"Time left 0:0[3-8]", screen.text("countdown"))  # 6 s, give or take the clocks' second
    screen.wait("screen-expired", timeout=20_000)
    screen.shot("09-expired")
    screen.tap("start-again")
    screen.wait("screen-welcome")
