"""GET /health's kitchen check: runs in the web process, so a dead worker cannot silence it."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kds_bridge.health import kitchen_backlog
from kds_bridge.tests.conftest import backdate

pytestmark = pytest.mark.django_db


def health() -> tuple[int, dict]:
    resp = Client().get("/health")
    return resp.status_code, resp.json()


def test_health_reports_the_oldest_paid_order_waiting_for_the_kitchen(paid_order, settings, caplog):
    settings.KDS_HEALTH_MAX_UNDELIVERED_SECONDS = 60
    status, body = health()
    assert body["checks"]["kitchen"] == {"ok": True, "state": "ok", "oldest_undelivered_s": 0, "limit_s": 60}

    order, _ = paid_order()  # nobody sends it: no worker runs in this test
    status, body = health()
    assert body["checks"]["kitchen"]["ok"] and body["checks"]["kitchen"]["oldest_undelivered_s"] <= 1

    backdate(order.pk, 61)  # paid a minute ago, still not in Rista: the worker is dead, say
    with caplog.at_level(logging.ERROR, logger="kds_bridge.health"):
        status, body = health()
    assert status == 503 and body["failed"] == ["kitchen"]
    assert body["checks"]["kitchen"]["state"] == "late" and body["checks"]["kitchen"]["oldest_undelivered_s"] >= 61
    assert any("ALERT" in r.getMessage() for r in caplog.records)
    # ...while the load balancers' readiness probe keeps the web servers in rotation: checkout and the
    # kitchen outbox still work, and pulling every web server would turn a late kitchen into an outage.
    ready = Client().get("/health/ready")
    assert ready.status_code == 200 and set(ready.json()["checks"]) == {"database", "cache"}


def test_the_kitchen_check_is_one_query(paid_order):
    paid_order()
    with CaptureQueriesContext(connection) as queries:
        kitchen_backlog()
    assert len(queries) == 1
    with connection.cursor() as cursor:  # and PostgreSQL answers it from the partial index on open rows
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + queries[0]["sql"])
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "kitchen_delivery_open_created" in plan
