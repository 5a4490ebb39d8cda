"""Payment fixtures: both PhonePe API families, callbacks delivered to a live server, initiation."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.renderers import JSONRenderer

from orders.presenters import order_payload
from payments.gateway import reset_gateway
from payments.tests.helpers import INITIATE, UNREACHABLE, WEBHOOK
from testing.factories import OrderFactory


@pytest.fixture(autouse=True)
def _fresh_gateways() -> Iterator[None]:
    reset_gateway()
    yield
    reset_gateway()


@pytest.fixture(params=["v2", "v1"])
def gateway_family(request, phonepe, settings) -> str:
    """Run the test against each PhonePe API family. v1 callbacks go to PUBLIC_BASE_URL, which
    points nowhere unless the test gives it a live server."""
    settings.PHONEPE_API = request.param
    settings.PUBLIC_BASE_URL = UNREACHABLE
    return request.param


@pytest.fixture
def deliver_callbacks(live_server, phonepe, settings) -> str:
    """Make the sandbox deliver its callbacks to a live server running this code (both families)."""
    url = live_server.url + WEBHOOK
    phonepe.config.webhook_url = url  # v2: the dashboard-configured webhook
    settings.PUBLIC_BASE_URL = live_server.url  # v1: callbackUrl sent with each pay/refund
    return url


@pytest.fixture
def order(kiosk, rista) -> dict[str, Any]:
    """A PENDING order of the kiosk's, written from rows (testing.factories: the worked example, Rs 324.50,
    priced by the engine), as its checkout answered it. Checkout itself is tested
    through the API in orders/ and in the end-to-end journeys."""
    row = OrderFactory(device=kiosk[0])
    # The checkout answer's body exactly: the same presenter, rendered and parsed as the kiosk would.
    return json.loads(JSONRenderer().render(order_payload(row)))


@pytest.fixture
def initiate(kiosk_client) -> Callable[..., Any]:
    def run(order: dict[str, Any], amount: Any = None, client: Any = None, expect: int | None = 201) -> Any:
        body = {"order_id": order["order_id"],
                "amount": order["total_amount_include_tax"] if amount is None else amount}
        resp = (client or kiosk_client).post(INITIATE, body, format="json")
        if expect is not None:
            assert resp.status_code == expect, resp.content
        return resp

    return run
