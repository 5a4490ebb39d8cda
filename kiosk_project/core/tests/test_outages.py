"""PostgreSQL outages answer fast and honestly: 503 SERVICE_UNAVAILABLE in the envelope, the cached menu
still served, /health naming the component without its internals.

In-process tests point the connection at a port nothing listens on (refused at once); the end-to-end
test runs gunicorn against a PostgreSQL of its own and pauses it (connections open, nothing answers:
a frozen server, a vanished host), resumes it, stops it and starts it again.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import pytest
import requests
from django.db import connections
from django.test import Client
from django.urls import path

from kiosk_project.core.db.base import breaker
from kiosk_project.core.kiosk_auth import forget_cached_keys
from kiosk_project.core.models import KioskDevice
from kiosk_project.core.tests.servers import ROOT, PrivatePostgres, free_port, gunicorn


def _count_devices(request):
    from django.http import JsonResponse

    return JsonResponse({"devices": KioskDevice.objects.count()})


urlpatterns = [path("plain-view", _count_devices)]


@pytest.fixture
def database_down(transactional_db):
    """From here on, connecting to PostgreSQL is refused (nothing listens on its port)."""
    connection = connections["default"]
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())
    yield
    connection.close()
    connection.settings_dict["PORT"] = saved
    breaker.reset()


def assert_unavailable(resp) -> None:
    assert resp.status_code == 503, (resp.status_code, resp.content[:300])
    assert resp.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert resp.headers["Retry-After"]
    text = resp.content.decode()
    assert "OperationalError" not in text and "connection" not in text.lower() and "Traceback" not in text


@pytest.mark.django_db(transaction=True)
def test_the_api_answers_503_when_the_database_is_down(kiosk, menu, request, caplog):
    _, key = kiosk
    client = Client(HTTP_AUTHORIZATION=f"Kiosk {key}")
    order = client.post("/api/v1/orders", {"items": [{"item_sku_id": "1", "quantity": 1}]},
                        content_type="application/json").json()
    request.getfixturevalue("database_down")

    with caplog.at_level(logging.WARNING):
        assert_unavailable(client.get(f"/api/v1/orders/{order['order_id']}/status"))
        assert_unavailable(client.post("/api/v1/orders", {"items": [{"item_sku_id": "1", "quantity": 1}]},
                                       content_type="application/json"))
        assert_unavailable(Client(HTTP_AUTHORIZATION=f"Kiosk kk_0011aabb_{'x' * 43}").get(
            f"/api/v1/orders/{order['order_id']}/status"))  # an unknown key needs the database: 503, not 401
    assert any("database unavailable" in r.getMessage() for r in caplog.records)  # the detail goes to the log
    assert not [r for r in caplog.records if r.exc_info]  # an outage, not a bug: no stack traces


@pytest.mark.django_db(transaction=True)
def test_the_cached_menu_is_served_while_the_database_is_down(menu, request, django_assert_num_queries):
    request.getfixturevalue("database_down")
    resp = Client().get("/api/v1/catalog")
    assert resp.status_code == 200 and resp["X-Catalog-Source"] == "cache"
    assert json.loads(resp.content)["items"]


@pytest.mark.django_db(transaction=True)
def test_a_menu_behind_kiosk_keys_keeps_being_served_from_memory(kiosk, menu, settings, request):
    """The key's cached lookup has expired, but nothing changed (same key generation): no database needed."""
    settings.CATALOG_REQUIRE_KIOSK_KEY = True
    settings.KIOSK_KEY_CACHE_SECONDS = 0
    forget_cached_keys()
    client = Client(HTTP_AUTHORIZATION=f"Kiosk {kiosk[1]}")
    assert client.get("/api/v1/catalog").status_code == 200
    request.getfixturevalue("database_down")
    assert client.get("/api/v1/catalog").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_view_outside_drf_answers_503_too(settings, request):
    settings.ROOT_URLCONF = __name__
    request.getfixturevalue("database_down")
    assert_unavailable(Client(raise_request_exception=False).get("/plain-view"))


@pytest.mark.django_db(transaction=True)
def test_health_names_the_component_and_keeps_the_reason_to_the_log(request, caplog):
    request.getfixturevalue("database_down")
    with caplog.at_level(logging.WARNING, logger="kiosk_project.core.health"):
        resp = Client().get("/health")
    assert resp.status_code == 503
    body = resp.json()
    assert body["failed"] == ["database"]
    assert body["checks"]["database"] == {"ok": False, "state": "down"}
    assert body["checks"]["cache"] == {"ok": True, "state": "ok"}
    assert "Error" not in resp.content.decode() and "refused" not in resp.content.decode()
    [record] = [r for r in caplog.records if r.getMessage() == "health check failed"]
    assert record.component == "database" and "OperationalError" in record.error


@pytest.mark.django_db(transaction=True)
def test_after_a_refusal_the_process_fails_fast_then_tries_again(request, django_assert_num_queries):
    request.getfixturevalue("database_down")
    assert Client().get("/health").status_code == 503
    assert breaker.is_open()  # the next requests do not even try to connect...
    breaker.reset()  # ...until DB_OUTAGE_BACKOFF has passed (here: at once), when one tries for real
    connections["default"].close()
    assert Client().get("/health").status_code == 503
    assert breaker.is_open()


# -- end to end: gunicorn, and a PostgreSQL that freezes, stops and comes back -------------------------------


def _manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True, timeout=120).stdout


def _until(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("pool, fast_path", [("false", "0"), ("true", "1.0")], ids=["persistent+django-menu",
                                                                                      "pool+fast-path-menu"])
def test_gunicorn_through_a_frozen_then_stopped_postgresql(pool, fast_path, rista_server, tmp_path):
    pg = PrivatePostgres()
    try:
        pg.start()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kiosk_project.settings.test", "DATABASE_URL": pg.url,
               "RISTA_BASE_URL": rista_server.url + "/v1", "RISTA_API_KEY": rista_server.api_key,
               "RISTA_SECRET_KEY": rista_server.secret_key, "DB_POOL": pool, "CATALOG_FAST_PATH_TTL": fast_path,
               # The production deadlines (probe 1 s, query 6 s, connect 2 s); a shorter back-off to recover fast.
               "DB_OUTAGE_BACKOFF": "1",
               # The status fast path trusts a kiosk key it loaded this long ago (production: 10 s, after which
               # Django re-reads it, which needs the database): long enough to outlast this test.
               "KIOSK_KEY_CACHE_SECONDS": "600"}
        _manage(env, "migrate", "-v", "0")
        key = json.loads(_manage(env, "create_kiosk", "outage-kiosk", "--json"))["key"]
        _manage(env, "refresh_catalog")
        headers = {"Authorization": f"Kiosk {key}", "Content-Type": "application/json"}
        cart = json.dumps({"items": [{"item_sku_id": "1", "quantity": 1}]})
        # One thread: a request that hung would block every later one, the menu included.
        with gunicorn(env, threads=1, log_path=tmp_path / "gunicorn.log") as url:
            def get(path: str, **kw):  # the timeout is a hang guard: nothing here may take seconds
                return requests.get(url + path, timeout=10, **kw)

            order = requests.post(url + "/api/v1/orders", data=cart, headers=headers, timeout=10).json()
            status_path = f"/api/v1/orders/{order['order_id']}/status"
            before = get(status_path, headers=headers)  # Django's answer, which fills the order's status copy
            assert before.status_code == 200
            unknown = status_path.replace(order["order_id"], "00000000-0000-4000-8000-000000000000")

            for outage in (pg.pause, pg.stop):
                outage()
                # Nothing can commit while PostgreSQL is down, so the status copy in Redis is the truth:
                # the waiting kiosk keeps its answer (payments/status_fastpath.py). What needs the
                # database is refused at once.
                during = get(status_path, headers=headers)
                assert (during.status_code, during.content) == (200, before.content)
                assert_unavailable(get(unknown, headers=headers))
                assert_unavailable(requests.post(url + "/api/v1/orders", data=cart, headers=headers, timeout=10))
                menu = get("/api/v1/catalog")
                assert menu.status_code == 200 and json.loads(menu.content)["items"]
                health = get("/health")
                assert health.status_code == 503 and health.json()["checks"]["database"]["state"] == "down"
                pg.resume() if outage == pg.pause else pg.start()
                assert _until(lambda: get(unknown, headers=headers).status_code == 404)  # Django reads again
                assert get(status_path, headers=headers).status_code == 200
                assert get("/health").status_code == 200
        assert b"Traceback" not in (tmp_path / "gunicorn.log").read_bytes()
    finally:
        pg.close()
