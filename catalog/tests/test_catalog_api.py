"""The menu: hit, miss, 304, stampede, refresh webhook, outages, bad upstream answers.

Real PostgreSQL, real Redis, and the Rista sandbox over HTTP.
"""

from __future__ import annotations

import json
import threading

import pytest
import requests
from django.core.cache import cache
from django.db import connection
from django.test import Client

from catalog import store
from catalog.models import CatalogSnapshot

URL = "/api/v1/catalog"
REFRESH = "/api/v1/catalog/refresh"
pytestmark = pytest.mark.django_db(transaction=True)


def rista_stats(rista) -> dict:
    return requests.get(rista.url + "/_control/stats", timeout=5).json()


def catalog_calls(rista) -> int:
    return rista_stats(rista)["requests"].get("catalog", 0)


def fault(rista, **body) -> None:
    requests.post(rista.url + "/_control/faults", json=body, timeout=5).raise_for_status()


def set_item(rista, sku: str, **changes) -> None:
    requests.post(f"{rista.url}/_control/items/{sku}", json=changes, timeout=5).raise_for_status()


def test_miss_then_hit_then_304(rista):
    client = Client()
    first = client.get(URL)
    assert first.status_code == 200
    assert first["X-Catalog-Source"] == "origin"
    body = json.loads(first.content)
    assert len(body["items"]) == 33
    assert body["soldOutSkuCodes"] == []
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"')

    second = client.get(URL)
    assert second.status_code == 200
    assert second["X-Catalog-Source"] == "cache"
    assert second.content == first.content
    assert second["ETag"] == etag
    assert catalog_calls(rista) == 1

    not_modified = client.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert client.get(URL, HTTP_IF_NONE_MATCH='"other", W/' + etag).status_code == 304
    assert client.get(URL, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_the_hit_path_makes_no_sql_queries(rista, django_assert_num_queries):
    client = Client()
    client.get(URL)
    with django_assert_num_queries(0):
        assert client.get(URL).status_code == 200


def test_unknown_channel_is_404_and_never_reaches_rista(rista):
    resp = Client().get(URL, {"channel": "Nope"})
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "CHANNEL_NOT_FOUND"
    assert catalog_calls(rista) == 0


def test_the_menu_by_order_mode(rista, settings):
    settings.KIOSK_CHANNELS = ["Takeaway", "Dine In"]
    client = Client()
    takeaway = client.get(URL, {"order_mode": "takeaway"})
    set_item(rista, "1", price=120)
    dine_in = client.get(URL, {"order_mode": "dine_in"})
    assert (takeaway.status_code, dine_in.status_code) == (200, 200)
    prices = [next(i["price"] for i in json.loads(r.content)["items"] if i["skuCode"] == "1")
              for r in (takeaway, dine_in)]
    assert prices == [110, 120]  # each mode's channel has its own copy
    assert client.get(URL)["ETag"] == takeaway["ETag"]


def test_unknown_order_mode_is_400_and_never_reaches_rista(rista):
    resp = Client().get(URL, {"order_mode": "drive_through"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "INVALID_ORDER_MODE"
    assert resp.json()["error"]["details"]["order_modes"] == ["takeaway", "dine_in"]
    assert catalog_calls(rista) == 0


def test_stampede_on_a_cold_key_makes_exactly_one_rista_call(rista):
    fault(rista, mode="slow", delay=0.5, count=1, routes=["catalog"])  # widen the race window
    results: list[tuple[int, bytes]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(50)

    def hit() -> None:
        barrier.wait()
        try:
            resp = Client().get(URL)
            with lock:
                results.append((resp.status_code, resp.content))
        finally:
            connection.close()  # threads own their connections; let the test database be dropped

    threads = [threading.Thread(target=hit) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 50
    assert {status for status, _ in results} == {200}
    assert len({content for _, content in results}) == 1
    assert catalog_calls(rista) == 1


def test_refresh_webhook_requires_the_secret(rista):
    client = Client()
    client.get(URL)
    set_item(rista, "1", price=125)
    for headers in ({}, {"HTTP_X_RISTA_SECRET": "wrong"}, {"HTTP_X_RISTA_SECRET": ""}):
        resp = client.post(REFRESH, data={"type": "menu.sync"}, content_type="application/json", **headers)
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "WEBHOOK_UNAUTHORIZED"
    assert catalog_calls(rista) == 1  # nothing was refreshed
    item = next(i for i in json.loads(client.get(URL).content)["items"] if i["skuCode"] == "1")
    assert item["price"] == 110


@pytest.fixture
def run_tasks_now():
    """Celery runs each task as it is queued (the real task functions; no worker). The queuing and single
    flight against a real worker: catalog/tests/test_menu_webhook.py."""
    from kiosk_project.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_refresh_webhook_swaps_the_copy_for_the_next_customer(rista, settings, run_tasks_now):
    client = Client()
    before = client.get(URL)
    set_item(rista, "1", price=125)
    set_item(rista, "9", soldOut=True)
    body = {"type": "menu.sync", "context": {"branchCode": settings.KIOSK_BRANCH_CODE, "channelName": "Takeaway"}}
    resp = client.post(REFRESH, data=body, content_type="application/json",
                       HTTP_X_RISTA_SECRET=settings.RISTA_WEBHOOK_SECRET)
    assert resp.status_code == 202, resp.content
    assert resp.json() == {"queued": ["Takeaway"], "already_queued": []}
    after = client.get(URL)
    assert after["X-Catalog-Source"] == "cache"  # swapped in place: no customer pays for a miss
    assert after["ETag"] != before["ETag"]
    doc = json.loads(after.content)
    assert next(i for i in doc["items"] if i["skuCode"] == "1")["price"] == 125
    assert doc["soldOutSkuCodes"] == ["9"]
    assert CatalogSnapshot.objects.get().etag == after["ETag"]


def test_empty_body_webhook_refreshes_every_channel(rista, settings, run_tasks_now):
    settings.KIOSK_CHANNELS = ["Takeaway", "Dine In"]
    resp = Client().post(REFRESH, data=b"", content_type="application/json",
                         HTTP_X_RISTA_SECRET=settings.RISTA_WEBHOOK_SECRET)
    assert resp.status_code == 202, resp.content
    assert set(resp.json()["queued"]) == {"Takeaway", "Dine In"}
    assert catalog_calls(rista) == 2


def test_failed_refresh_keeps_the_old_copy(rista, settings, run_tasks_now):
    client = Client()
    before = client.get(URL)
    fault(rista, mode="error", status=500, count=1, routes=["catalog"])
    resp = client.post(REFRESH, data={}, content_type="application/json",
                       HTTP_X_RISTA_SECRET=settings.RISTA_WEBHOOK_SECRET)
    assert resp.status_code == 202  # Rista is not told: the failure is ours to retry (beat), not its
    assert catalog_calls(rista) == 2  # the refresh ran, and failed
    after = client.get(URL)
    assert after.status_code == 200 and after["ETag"] == before["ETag"]


@pytest.mark.parametrize("attempt", range(4))
def test_malformed_upstream_catalog_never_replaces_a_good_copy(rista, settings, attempt, run_tasks_now):
    client = Client()
    good = client.get(URL)
    # The sandbox cycles null, HTML, wrong types and a document without items.
    for _ in range(attempt + 1):
        fault(rista, mode="malformed", count=1, routes=["catalog"])
        resp = client.post(REFRESH, data={}, content_type="application/json",
                           HTTP_X_RISTA_SECRET=settings.RISTA_WEBHOOK_SECRET)
        assert resp.status_code == 202
    assert catalog_calls(rista) == attempt + 2  # every refresh ran, and refused what it got
    assert client.get(URL)["ETag"] == good["ETag"]
    assert CatalogSnapshot.objects.get().etag == good["ETag"]


def test_malformed_catalog_on_a_cold_cache_is_503_not_500(rista):
    fault(rista, mode="malformed", count=1, routes=["catalog"])
    resp = Client().get(URL)
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "CATALOG_UNAVAILABLE"


def test_rista_down_serves_the_snapshot_marked_stale(rista):
    client = Client()
    good = client.get(URL)
    cache.clear()  # Redis lost its copy (eviction, restart)
    fault(rista, mode="error", status=503, count=5, routes=["catalog"])
    resp = client.get(URL)
    assert resp.status_code == 200
    assert resp.content == good.content
    assert resp["ETag"] == good["ETag"]
    assert resp["X-Catalog-Stale"] == "true"
    assert resp["X-Catalog-Source"] == "snapshot"


def test_rista_timeout_is_bounded_and_falls_back(rista, settings):
    client = Client()
    good = client.get(URL)
    cache.clear()
    fault(rista, mode="timeout", delay=5, count=1, routes=["catalog"])
    resp = client.get(URL)  # the client's read timeout (2 s in tests) bounds the wait
    assert resp.status_code == 200
    assert resp["X-Catalog-Stale"] == "true"
    assert resp.content == good.content


def test_nothing_anywhere_is_503_in_the_envelope(rista):
    fault(rista, mode="error", status=500, count=3, routes=["catalog"])
    resp = Client().get(URL)
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "CATALOG_UNAVAILABLE"
    assert set(resp.json()["error"]) == {"code", "message", "details"}


def test_failed_fill_backs_off_instead_of_hammering_rista(rista):
    fault(rista, mode="error", status=500, count=50, routes=["catalog"])
    client = Client()
    for _ in range(5):
        assert client.get(URL).status_code == 503
    assert catalog_calls(rista) == 1


@pytest.fixture
def dead_redis(settings):
    """Point the cache at a port where nothing listens: a real connection failure."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Django's setting_changed signal rebuilds the cache handlers on change and on restore.
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"],
                                                      "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    yield


def test_redis_down_still_serves_from_the_snapshot(rista, dead_redis):
    from catalog.services import catalog_refresh

    # A snapshot exists from an earlier good fetch (the cache write fails quietly).
    catalog_refresh(branch="BLR01", channel="Takeaway")
    resp = Client().get(URL)
    assert resp.status_code == 200
    assert len(json.loads(resp.content)["items"]) == 33
    assert resp["X-Catalog-Source"] == "snapshot"


def test_redis_down_and_no_snapshot_fetches_directly(rista, dead_redis):
    resp = Client().get(URL)
    assert resp.status_code == 200
    assert resp["X-Catalog-Source"] == "origin"


def test_refresh_ahead_when_the_copy_is_old(rista, settings):
    client = Client()
    client.get(URL)
    entry = store.cache_read("BLR01", "Takeaway")
    store.cache_write("BLR01", "Takeaway", store.CachedCatalog(entry.body, entry.etag, entry.fetched_at - 3600))
    settings.CATALOG_REFRESH_AFTER = 60
    settings.CELERY_TASK_ALWAYS_EAGER = True  # refresh-ahead runs on a thread, no worker needed
    first_snapshot = store.snapshot_read("BLR01", "Takeaway")
    resp = client.get(URL)
    assert resp.status_code == 200 and resp["X-Catalog-Source"] == "cache"  # served without waiting
    import time

    deadline = time.time() + 5
    while time.time() < deadline and catalog_calls(rista) < 2:
        time.sleep(0.05)
    assert catalog_calls(rista) == 2
    # The refresh thread's last write is the snapshot: wait for it, so it cannot land in the next test.
    while time.time() < deadline and store.snapshot_read("BLR01", "Takeaway").fetched_at == first_snapshot.fetched_at:
        time.sleep(0.05)
    assert store.snapshot_read("BLR01", "Takeaway").fetched_at > first_snapshot.fetched_at
