"""The menu on the kiosk screen: sold-out items greyed within seconds, option sets with their rules, the last
menu kept (and said so) while the API is unreachable, pairing and un-pairing."""

from __future__ import annotations

import json

import pytest

from catalog.tests.catalog_builders import add_option_set, make_option
from testing.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_item_sold_out_in_rista_is_greyed_within_seconds(stack, open_kiosk, start_worker):
    start_worker()  # the menu webhook's refresh is a Celery task
    screen = open_kiosk("portrait")
    screen.wait("screen-welcome")
    screen.tap("mode-takeaway")
    screen.wait("screen-menu")
    screen.tap("add-1")
    assert "sold-out" not in screen.tid("item-9").get_attribute("class")

    # The kitchen runs out: Rista marks it (control endpoint) and calls our menu webhook.
    marked = stack.http.post(f"{stack.rista.url}/_control/items/9", json={"soldOut": True, "notify": True}, timeout=10)
    assert marked.json()["webhook_status"] == 202, marked.text  # accepted; the worker refreshes the menu
    card = screen.page.locator('[data-testid="item-9"].sold-out')
    card.wait_for(timeout=10_000)  # the screen revalidates its menu (ETag) every second here, 15 s by default
    assert "Sold out" in card.inner_text() and screen.tid("add-9").count() == 0
    card.click()  # not addable
    assert screen.text("cart-count") == "1 item"
    screen.shot("10-sold-out", focus=card)


def test_a_sold_out_item_already_in_the_cart_blocks_payment(stack, open_kiosk, start_worker):
    start_worker()  # the menu webhook's refresh is a Celery task
    screen = open_kiosk("portrait")
    screen.wait("screen-welcome")
    screen.tap("mode-takeaway")
    screen.tap("add-9")
    screen.tap("add-1")
    screen.tap("review-order")
    wait_until(lambda: screen.tid("pay").is_enabled(), 10, "the Pay button")
    stack.http.post(f"{stack.rista.url}/_control/items/9", json={"soldOut": True, "notify": True}, timeout=10)
    problem = screen.wait("line-problem")
    assert "Idli Chutney is no longer available" in problem.inner_text()
    assert not screen.tid("pay").is_enabled()
    screen.shot("11-cart-item-unavailable")
    screen.tid("line-0").get_by_role("button", name="Remove Idli Chutney").click()
    wait_until(lambda: screen.tid("pay").is_enabled(), 10, "Pay again once the item is removed")
    assert screen.tid("line-problem").count() == 0


def test_option_sets_follow_their_min_and_max(stack, open_kiosk):
    catalog = stack.http.get(f"{stack.rista.url}/_control/catalog", timeout=10).json()
    add_option_set(catalog, "chutney", [make_option("coconut", 0, name="Coconut chutney"),
                                        make_option("tomato", 10, name="Tomato chutney")],
                   min=1, max=1, name="Chutney", for_skus=["11"])
    add_option_set(catalog, "extras", [make_option("ghee", 15, name="Extra ghee", max=2),
                                       make_option("podi", 10, name="Gunpowder podi"),
                                       make_option("butter", 20, name="Butter")],
                   min=0, max=2, name="Extras", for_skus=["11"])
    replaced = stack.http.put(f"{stack.rista.url}/_control/catalog", data=json.dumps(catalog), timeout=10)
    assert replaced.status_code == 200, replaced.text

    screen = open_kiosk("portrait")
    screen.wait("screen-welcome")
    screen.tap("mode-takeaway")
    screen.tap("add-11")
    dialog = screen.wait("item-dialog")
    assert "Choose 1" in screen.text("set-chutney") and "up to 2" in screen.text("set-extras")
    assert not screen.tid("dialog-add").is_enabled()  # the chutney is required
    assert "Chutney" in screen.text("dialog-missing")
    screen.tap("option-tomato")
    screen.tap("option-coconut")  # one of one: the choice moves
    assert screen.tid("option-tomato").get_attribute("aria-checked") == "false"
    screen.tap("option-ghee")
    screen.tid("option-qty-ghee").get_by_role("button", name="One more Extra ghee").click()  # 2 of the set's 2
    assert "blocked" in screen.tid("option-podi").get_attribute("class")  # the set is full
    screen.tap("option-podi")
    assert screen.tid("option-podi").get_attribute("aria-checked") == "false"
    screen.tid("dialog-qty").get_by_role("button", name="One more Thatte Idli").click()
    screen.shot("12-options")
    assert dialog.first.is_visible()
    screen.tap("dialog-add")

    # The line is priced by the server: (80 + 2 x 15) x 2 = 220, as the API itself quotes it.
    body = {"items": [{"item_sku_id": "11", "quantity": 2,
                       "options": [{"option_id": "coconut", "quantity": 1}, {"option_id": "ghee", "quantity": 2}]}],
            "order_mode": "takeaway"}
    quote = stack.http.post(f"{stack.api}/orders/quote", json=body, headers=stack.auth, timeout=10).json()
    assert quote["lines"][0]["gross_amount"] == 220
    screen.tap("review-order")
    line = screen.wait("line-0")
    wait_until(lambda: "₹220.00" in line.inner_text(), 10, "the quoted line amount")
    assert "Coconut chutney, Extra ghee ×2" in line.inner_text()
    wait_until(lambda: screen.text("total") == "₹" + f"{quote['total_amount_include_tax']:.2f}", 10, "the total")


def test_the_last_menu_stays_while_the_api_is_unreachable(stack, open_kiosk):
    screen = open_kiosk("landscape")
    screen.wait("screen-welcome")
    screen.tap("mode-takeaway")
    screen.wait("screen-menu")
    banner = screen.tid("offline-banner")
    assert banner.is_hidden()
    screen.page.route(f"{stack.url}/api/v1/catalog**", lambda route: route.abort("internetdisconnected"))
    banner.wait_for(state="visible", timeout=10_000)
    assert "showing the last menu" in banner.inner_text() and screen.tid("offline-pill").is_visible()
    assert screen.tid("item-1").is_visible()
    screen.tap("add-1")  # still works: quotes are a different call
    wait_until(lambda: screen.text("summary-total") == "₹135.50", 10, "the quote while the menu is unreachable")
    screen.shot("13-offline")
    screen.page.unroute(f"{stack.url}/api/v1/catalog**")
    banner.wait_for(state="hidden", timeout=10_000)


def test_pairing_asks_for_the_key_once_and_staff_can_unpair(stack, open_kiosk):
    screen = open_kiosk("portrait", paired=False)
    screen.wait("screen-pair")
    screen.shot("00-pairing")
    screen.page.fill('[data-testid="pair-key"]', "kk_nothere_not-a-real-key")
    screen.tap("pair-submit")
    assert "not accepted" in screen.wait("pair-error").inner_text()
    screen.page.fill('[data-testid="pair-key"]', stack.key)
    screen.tap("pair-submit")
    screen.wait("screen-welcome")
    screen.page.reload()
    screen.wait("screen-welcome")  # kept on the device

    # Staff hold the logo for three seconds: the staff sheet, with un-pair.
    box = screen.tid("brand").bounding_box()
    screen.page.mouse.move(box["x"] + 10, box["y"] + 10)
    screen.page.mouse.down()
    screen.wait("staff-sheet", timeout=8_000)
    screen.page.mouse.up()
    screen.tap("unpair")
    screen.tap("unpair-confirm-yes")
    screen.wait("screen-pair")
    assert screen.page.evaluate("localStorage.getItem('kiosk.key')") is None


def test_a_revoked_key_sends_the_screen_back_to_pairing(stack, open_kiosk, kiosk):
    from kiosk_project.core.kiosk_auth import forget_cached_keys

    screen = open_kiosk("portrait")
    screen.wait("screen-welcome")
    device = kiosk[0]
    device.is_active = False
    device.save(update_fields=["is_active"])
    forget_cached_keys()
    screen.page.reload()
    assert "not accepted" in screen.wait("pair-error").inner_text()


def test_only_the_modes_the_kiosk_allows(stack, open_kiosk, kiosk):
    device = kiosk[0]
    device.allowed_order_modes = ["takeaway"]
    device.save(update_fields=["allowed_order_modes"])
    from kiosk_project.core.kiosk_auth import forget_cached_keys

    forget_cached_keys()
    screen = open_kiosk("portrait")
    screen.wait("screen-welcome")
    assert screen.tid("mode-dine_in").count() == 0 and screen.tid("mode-takeaway").is_visible()
