"""Metrics through a real Redis restart (they say they were reset), and operator-only endpoints."""

from __future__ import annotations

import re
import threading

import pytest
from django.test import Client

from kiosk_project.core import metrics
from kiosk_project.core.tests.servers import PrivateRedis

pytestmark = pytest.mark.django_db

OPS_PATHS = ["/metrics", "/api/schema/", "/api/docs/", "/api/redoc/"]


def exported(body: str, name: str) -> float | None:
    match = re.search(rf"^{name} (\S+)$", body, re.M)
    return float(match.group(1)) if match else None


@pytest.fixture
def private_redis(settings):
    redis = PrivateRedis()
    redis.start()
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": redis.url}}
    yield redis
    redis.close()


def test_metrics_say_when_redis_lost_them(private_redis):
    metrics.incr("test.failures", 3)
    first = Client().get("/metrics").content.decode()
    assert exported(first, "kiosk_test_failures") == 3
    counted_since = exported(first, "kiosk_metrics_reset_time_seconds")
    assert counted_since

    private_redis.stop()
    metrics.incr("test.failures")  # Redis is down: nothing raised, nothing counted
    assert Client().get("/metrics").status_code == 200
    private_redis.start()  # back, empty (no persistence): everything counted before is gone

    metrics.incr("test.failures")
    after = Client().get("/metrics").content.decode()
    assert exported(after, "kiosk_test_failures") == 1
    assert exported(after, "kiosk_metrics_reset_time_seconds") > counted_since  # the reset is visible


def test_a_reset_is_visible_before_anything_is_counted_again(private_redis):
    metrics.incr("test.failures")
    before = metrics.reset_time()
    private_redis.stop()
    private_redis.start()
    assert metrics.snapshot() == {}
    assert metrics.reset_time() > before


def test_concurrent_first_increments_of_new_names_are_all_kept():
    """The old name index was read-modify-write: names created together could vanish from /metrics."""
    names = [f"test.race_{n}" for n in range(40)]
    barrier = threading.Barrier(len(names))

    def count(name: str) -> None:
        barrier.wait(timeout=10)
        metrics.incr(name)

    threads = [threading.Thread(target=count, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert {n: 1 for n in names}.items() <= metrics.snapshot().items()


# -- operator-only endpoints ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", OPS_PATHS)
def test_operator_endpoints_are_open_to_loopback_by_default(path):
    assert Client().get(path).status_code == 200  # the test client calls from 127.0.0.1, like `make run`


@pytest.mark.parametrize("path", OPS_PATHS)
def test_operator_endpoints_refuse_strangers(path):
    resp = Client(REMOTE_ADDR="203.0.113.50").get(path)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "PERMISSION_DENIED"
    # A forged X-Forwarded-For claiming loopback does not help (no trusted proxy configured).
    assert Client(REMOTE_ADDR="203.0.113.50", HTTP_X_FORWARDED_FOR="127.0.0.1").get(path).status_code == 403


@pytest.mark.parametrize("path", OPS_PATHS)
def test_operator_endpoints_accept_the_token_from_anywhere(path, settings):
    settings.OPS_ACCESS_TOKEN = "scrape-token-0123456789"
    stranger = Client(REMOTE_ADDR="203.0.113.50")
    assert stranger.get(path, HTTP_AUTHORIZATION="Bearer scrape-token-0123456789").status_code == 200
    assert stranger.get(path, HTTP_AUTHORIZATION="Bearer scrape-token-wrong").status_code == 403
    assert stranger.get(path, HTTP_AUTHORIZATION="scrape-token-0123456789").status_code == 403


def test_an_empty_token_setting_lets_no_token_in(settings):
    settings.OPS_ACCESS_TOKEN = ""
    assert Client(REMOTE_ADDR="203.0.113.50").get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_allowed_networks_are_a_setting(settings):
    settings.OPS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert Client(REMOTE_ADDR="10.20.3.4").get("/metrics").status_code == 200
    assert Client().get("/metrics").status_code == 403  # loopback is no longer on the list


def test_behind_a_trusted_proxy_the_real_caller_is_checked(settings):
    settings.TRUSTED_PROXY_HOPS = 1
    settings.OPS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    proxy = Client(REMOTE_ADDR="192.0.2.1")
    assert proxy.get("/metrics", HTTP_X_FORWARDED_FOR="10.20.3.4").status_code == 200
    assert proxy.get("/metrics", HTTP_X_FORWARDED_FOR="10.20.3.4, 203.0.113.50").status_code == 403


def test_health_stays_public():
    assert Client(REMOTE_ADDR="203.0.113.50").get("/health").status_code == 200
