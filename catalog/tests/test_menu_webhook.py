"""Rista's menu webhook: the secret as a header or ?token=, 202 at once, one refresh per channel however many
webhooks arrive, run by a real Celery worker against the Rista sandbox (its request counts)."""

from __future__ import annotations

import threading

import pytest
import requests
from django.test import Client

from catalog.models import CatalogSnapshot
from testing.realworker import wait_for

REFRESH = "/api/v1/catalog/refresh"
pytestmark = pytest.mark.django_db(transaction=True)


def catalog_calls(rista) -> int:
    return requests.get(rista.url + "/_control/stats", timeout=5).json()["requests"].get("catalog", 0)


def queued_messages(broker) -> int:
    """Refreshes waiting on the `menu` queue (CELERY_TASK_ROUTES), a Redis list of that name."""
    return int(broker.llen("menu"))


@pytest.mark.parametrize(("path", "headers", "status"), [
    (REFRESH + "?token=sandbox-webhook-secret", {}, 202),  # a webhook URL registered with the secret in it
    (REFRESH, {"HTTP_X_RISTA_SECRET": "sandbox-webhook-secret"}, 202),
    (REFRESH + "?token=wrong", {}, 401),
    (REFRESH + "?token=", {}, 401),
    (REFRESH + "?token=wrong", {"HTTP_X_RISTA_SECRET": "also-wrong"}, 401),
    (REFRESH + "?token=sandbox-webhook-secret", {"HTTP_X_RISTA_SECRET": "wrong"}, 202),  # either one will do
])
def test_the_secret_as_a_header_or_in_the_url(rista, broker, settings, path, headers, status):
    settings.RISTA_WEBHOOK_SECRET = "sandbox-webhook-secret"
    resp = Client().post(path, data={"type": "menu.sync"}, content_type="application/json", **headers)
    assert resp.status_code == status, resp.content
    if status == 401:
        assert resp.json()["error"]["code"] == "WEBHOOK_UNAUTHORIZED"
        assert queued_messages(broker) == 0


def test_an_empty_secret_setting_refuses_everything(rista, broker, settings):
    settings.RISTA_WEBHOOK_SECRET = ""
    assert Client().post(REFRESH + "?token=", data={}, content_type="application/json").status_code == 401


def test_a_burst_of_webhooks_costs_one_fetch_per_channel(rista, broker, settings, start_worker):
    settings.KIOSK_CHANNELS = ["Takeaway", "Dine In"]
    answers: list[int] = []

    def webhook() -> None:
        resp = Client().post(REFRESH, data=b"", content_type="application/json",
                             HTTP_X_RISTA_SECRET=settings.RISTA_WEBHOOK_SECRET)
        answers.append(resp.status_code)

    threads = [threading.Thread(target=webhook) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == [202] * 50  # answered at once: nothing was fetched in the request
    assert catalog_calls(rista) == 0
    assert queued_messages(broker) == 2  # one refresh per channel waits

    start_worker()
    wait_for(lambda: CatalogSnapshot.objects.count() == 2, 60, "both channels refreshed")
    assert catalog_calls(rista) == 2
    assert set(CatalogSnapshot.objects.values_list("channel", flat=True)) == {"Takeaway", "Dine In"}

    # After the refresh has started, the next webhook queues the next refresh (it may describe a newer change).
    resp = Client().post(REFRESH, data={"context": {"channelName": "Takeaway"}}, content_type="application/json",
                         HTTP_X_RISTA_SECRET=settings.RISTA_WEBHOOK_SECRET)
    assert resp.json() == {"queued": ["Takeaway"], "already_queued": []}
    wait_for(lambda: catalog_calls(rista) == 3, 60, "the third refresh")
