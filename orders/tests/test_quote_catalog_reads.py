"""Checkout reads the menu's ETag, not the menu, when this process has already parsed that version."""

from __future__ import annotations

import pytest
import requests
from django_redis import get_redis_connection

from catalog.services import catalog_refresh
from conftest import WORKED_EXAMPLE

pytestmark = pytest.mark.django_db


def redis_bytes_sent() -> int:
    return int(get_redis_connection("default").info("stats")["total_net_output_bytes"])


def test_repeated_quotes_do_not_read_the_whole_menu(kiosk_client, menu):
    assert kiosk_client.post("/api/v1/orders/quote", WORKED_EXAMPLE, format="json").status_code == 200
    before = redis_bytes_sent()
    for _ in range(5):
        resp = kiosk_client.post("/api/v1/orders/quote", WORKED_EXAMPLE, format="json")
        assert resp.status_code == 200
        assert resp.json()["total_amount_include_tax"] == 324.5
    # Reading the menu each time would send 5 x its size (17.7 KB); the ETag and the rate limit are bytes.
    assert redis_bytes_sent() - before < len(menu.body)


def test_a_refreshed_menu_reaches_the_next_quote_of_a_process_that_parsed_the_old_one(kiosk_client, menu, rista,
                                                                                      settings):
    assert kiosk_client.post("/api/v1/orders/quote", WORKED_EXAMPLE, format="json").json()["subtotal"] == 290.0
    requests.post(f"{rista.url}/_control/items/1", json={"price": 120}, timeout=5)
    catalog_refresh(branch=settings.KIOSK_BRANCH_CODE, channel=settings.KIOSK_DEFAULT_CHANNEL)
    quote = kiosk_client.post("/api/v1/orders/quote", WORKED_EXAMPLE, format="json").json()
    assert quote["subtotal"] == 310.0


def test_a_menu_cached_before_its_etag_had_a_key_is_still_priced(kiosk_client, menu, settings):
    from django.core.cache import cache

    from catalog.store import etag_key

    cache.delete(etag_key(settings.KIOSK_BRANCH_CODE, settings.KIOSK_DEFAULT_CHANNEL))
    resp = kiosk_client.post("/api/v1/orders/quote", WORKED_EXAMPLE, format="json")
    assert resp.status_code == 200 and resp.json()["total_amount_include_tax"] == 324.5
