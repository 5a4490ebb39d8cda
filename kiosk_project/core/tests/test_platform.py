"""The platform pieces: error envelope for every failure, health, metrics, logs."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client
from django.urls import path
from rest_framework.views import APIView

from kiosk_project.core import metrics
from kiosk_project.core.logging import JsonFormatter, log_context

pytestmark = pytest.mark.django_db


class _Boom(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request):
        raise RuntimeError("secret internals: password=hunter2")


urlpatterns = [path("boom", _Boom.as_view())]


def test_unexpected_errors_are_a_generic_500_without_internals(settings, caplog):
    settings.ROOT_URLCONF = __name__
    resp = Client(raise_request_exception=False).get("/boom")
    assert resp.status_code == 500
    body = resp.json()
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert "hunter2" not in resp.content.decode() and "Traceback" not in resp.content.decode()
    assert any("unhandled error" in r.getMessage() for r in caplog.records)


def test_unknown_api_path_is_404_in_the_envelope():
    resp = Client().get("/api/v1/nothing-here")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "NOT_FOUND"


def test_health_reports_each_dependency(rista):
    resp = Client().get("/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "kitchen"}
    assert all(check["ok"] for check in body["checks"].values())


def test_health_is_503_naming_what_failed(settings):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    resp = Client().get("/health")
    assert resp.status_code == 503
    assert resp.json()["failed"] == ["cache"]


def test_metrics_are_exported_for_prometheus():
    metrics.incr("test.things_that_went_wrong")
    metrics.incr("test.things_that_went_wrong", 2)
    body = Client().get("/metrics").content.decode()
    assert "kiosk_test_things_that_went_wrong 3" in body


def test_json_logs_carry_the_bound_context():
    record = logging.LogRecord("orders", logging.INFO, __file__, 1, "order placed", None, None)
    from kiosk_project.core.logging import ContextFilter

    with log_context(order_id="abc-123", request_id="r1"):
        ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "order placed"
    assert line["order_id"] == "abc-123" and line["request_id"] == "r1"
    assert line["level"] == "INFO"


def test_every_response_has_a_request_id():
    resp = Client().get("/health", HTTP_X_REQUEST_ID="kiosk-7-abc")
    assert resp["X-Request-ID"] == "kiosk-7-abc"
    assert len(Client().get("/health", HTTP_X_REQUEST_ID="bad id with spaces")["X-Request-ID"]) == 32


def test_openapi_schema_and_docs():
    schema = Client().get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/orders" in schema.content and b"/api/v1/catalog" in schema.content
    assert Client().get("/api/docs/").status_code == 200
