"""The menu's WSGI fast path: what it answers itself, and everything it leaves to Django."""

from __future__ import annotations

import json
import time

import pytest
import requests

from catalog import store
from catalog.fastpath import CatalogFastPath
from catalog.services import catalog_refresh
from testing.wsgi import HOST, CountingDjango, keep_test_connection, wsgi_call

pytestmark = pytest.mark.django_db


def call(app, path: str = "/api/v1/catalog", method: str = "GET", query: str = "", **headers: str):
    return wsgi_call(app, path, method, query, **headers)


@pytest.fixture
def app(settings):
    settings.ALLOWED_HOSTS = [HOST]
    inner = CountingDjango()
    for _ in keep_test_connection():
        yield CatalogFastPath(inner), inner


@pytest.fixture
def warm(rista, settings):
    return catalog_refresh(branch=settings.KIOSK_BRANCH_CODE, channel=settings.KIOSK_DEFAULT_CHANNEL)


def test_a_fresh_menu_is_answered_without_django(app, warm, django_assert_num_queries):
    fast, inner = app
    with django_assert_num_queries(0):
        status, headers, body = call(fast)
    assert status == 200 and json.loads(body)["store"] == {"open": True, "next_open_at": None, "closes_at": None}
    assert body.endswith(warm.body[1:])  # the catalog's own bytes, untouched, after the store block
    assert headers["ETag"] == warm.etag and headers["X-Catalog-Source"] == "cache"
    assert headers["Content-Type"] == "application/json" and headers["Cache-Control"] == "no-cache"
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert len(headers["X-Request-ID"]) == 32
    assert inner.calls == 0


def test_if_none_match_is_a_304_without_a_body(app, warm):
    fast, inner = app
    status, headers, body = call(fast, HTTP_IF_NONE_MATCH=warm.etag)
    assert (status, body, headers["ETag"]) == (304, b"", warm.etag)
    assert inner.calls == 0


def test_the_same_answer_as_django(app, warm, settings):
    fast, _ = app
    _, fast_headers, fast_body = call(fast)
    settings.CATALOG_FAST_PATH_TTL = 0  # off: Django answers
    status, django_headers, django_body = call(fast)
    assert status == 200 and django_body == fast_body
    for name in ("ETag", "Content-Type", "Cache-Control", "X-Catalog-Source", "X-Frame-Options",
                 "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy"):
        assert django_headers.get(name) == fast_headers.get(name), name


# Per request by design: a fresh request id, and the copy's age in whole seconds (may tick between the calls).
_PER_REQUEST = {"X-Request-ID", "X-Catalog-Age"}


@pytest.mark.parametrize("conditional", [False, True], ids=["hit", "304"])
def test_the_fast_path_and_django_answer_byte_for_byte_alike(app, warm, settings, conditional):
    """The whole answer, not a chosen few headers: the same status, body bytes and header set with the same
    values (security headers included), for a hit and for a revalidation."""
    fast, inner = app
    extra = {"HTTP_IF_NONE_MATCH": warm.etag} if conditional else {}
    fast_status, fast_headers, fast_body = call(fast, **extra)
    assert inner.calls == 0  # answered by the fast path
    settings.CATALOG_FAST_PATH_TTL = 0  # off: Django's view answers
    django_status, django_headers, django_body = call(fast, **extra)
    assert inner.calls == 1
    assert fast_status == django_status == (304 if conditional else 200)
    assert fast_body == django_body
    assert set(fast_headers) == set(django_headers), set(fast_headers) ^ set(django_headers)
    for name in set(fast_headers) - _PER_REQUEST:
        assert fast_headers[name] == django_headers[name], name
    assert len(fast_headers["X-Request-ID"]) == len(django_headers["X-Request-ID"]) == 32
    assert abs(int(fast_headers["X-Catalog-Age"]) - int(django_headers["X-Catalog-Age"])) <= 1


@pytest.mark.parametrize("case", ["miss", "post", "other path", "unknown channel", "unknown order mode",
                                  "kiosk key required", "ageing copy", "bad host"])
def test_everything_else_goes_to_django(app, rista, settings, case):
    fast, inner = app
    if case != "miss":
        catalog_refresh(branch=settings.KIOSK_BRANCH_CODE, channel=settings.KIOSK_DEFAULT_CHANNEL)
    kwargs: dict = {}
    if case == "post":
        kwargs["method"] = "POST"
    elif case == "other path":
        kwargs["path"] = "/api/v1/catalog/"
    elif case == "unknown channel":
        kwargs["query"] = "channel=Nope"
    elif case == "unknown order mode":
        kwargs["query"] = "order_mode=drive_through"
    elif case == "kiosk key required":
        settings.CATALOG_REQUIRE_KIOSK_KEY = True
    elif case == "ageing copy":
        settings.CATALOG_REFRESH_AFTER = -1  # every copy is "old": Django serves it and refreshes ahead
    elif case == "bad host":
        kwargs["HTTP_HOST"] = "evil.example.net"
    status, _, _ = call(fast, **kwargs)
    assert inner.calls == 1
    expected = {"miss": 200, "post": 405, "other path": 404, "unknown channel": 404, "unknown order mode": 400,
                "kiosk key required": 401, "ageing copy": 200, "bad host": 400}[case]
    assert status == expected


def test_a_configured_channel_in_the_query_is_served(app, rista, settings):
    settings.KIOSK_CHANNELS = ["Takeaway", "Dine In"]
    dine_in = catalog_refresh(branch=settings.KIOSK_BRANCH_CODE, channel="Dine In")
    fast, inner = app
    status, headers, _ = call(fast, query="channel=Dine+In")
    assert (status, headers["ETag"], inner.calls) == (200, dine_in.etag, 0)


def test_an_order_mode_gets_the_menu_of_its_channel(app, warm, rista, settings):
    fast, inner = app
    # This branch serves no "Dine In" channel yet: dine-in is priced from the default channel.
    assert call(fast, query="order_mode=dine_in")[1]["ETag"] == warm.etag
    settings.KIOSK_CHANNELS = ["Takeaway", "Dine In"]
    requests.post(f"{rista.url}/_control/items/1", json={"price": 120}, timeout=5).raise_for_status()
    dine_in = catalog_refresh(branch=settings.KIOSK_BRANCH_CODE, channel="Dine In")
    assert dine_in.etag != warm.etag
    assert call(fast, query="order_mode=dine_in")[1]["ETag"] == dine_in.etag
    assert call(fast, query="order_mode=takeaway")[1]["ETag"] == warm.etag
    assert call(fast, query="channel=Takeaway&order_mode=dine_in")[1]["ETag"] == warm.etag  # a channel wins
    assert inner.calls == 0


def test_a_refresh_reaches_each_process_within_the_copy_ttl(app, warm, rista, settings):
    settings.CATALOG_FAST_PATH_TTL = 0.2
    fast, _ = app
    assert call(fast)[1]["ETag"] == warm.etag
    requests.post(f"{rista.url}/_control/items/1", json={"price": 125}, timeout=5)
    fresh = catalog_refresh(branch=settings.KIOSK_BRANCH_CODE, channel=settings.KIOSK_DEFAULT_CHANNEL)
    time.sleep(0.25)
    assert call(fast)[1]["ETag"] == fresh.etag != warm.etag


def test_cache_trouble_falls_back_to_django(app, warm, settings, monkeypatch):
    fast, inner = app

    def down(*args, **kwargs):
        raise store.CacheDown("redis is down")

    monkeypatch.setattr("catalog.fastpath.cache_read", down)
    status, _, _ = call(fast)
    assert inner.calls == 1 and status == 200  # Django serves it (here from Redis, which is actually up)
