"""The journeys' shared fixtures: the live server as the public URL both sandboxes call, and a real worker."""

from __future__ import annotations

import pytest


@pytest.fixture
def public_url(live_server, settings, phonepe) -> str:
    """Both sandboxes call back into the live server, as PhonePe and Rista would call PUBLIC_BASE_URL."""
    settings.PUBLIC_BASE_URL = live_server.url
    phonepe.config.webhook_url = live_server.url + "/api/v1/payment/webhook"
    return live_server.url


@pytest.fixture
def worker(public_url, rista, broker, celery_procs):
    return celery_procs.worker()
