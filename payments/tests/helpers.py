"""Helpers for payment tests: signed callbacks built exactly as PhonePe builds them, waits, counts."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from payments.gateway import get_gateway
from testing.waiting import poll as wait_for  # noqa: F401 (the payments tests' name for it)
from testing.waiting import run_together  # noqa: F401

WEBHOOK = "/api/v1/payment/webhook"
INITIATE = "/api/v1/payment/initiate"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused at once


def reference_of(payment_id: str) -> str:
    from payments.models import Payment

    return Payment.objects.values_list("merchant_reference", flat=True).get(pk=payment_id)


def signed_callback(family: str, reference: str, *, state_override: str | None = None,
                    salt: str | None = None, password: str | None = None) -> tuple[bytes, dict[str, str]]:
    """The callback PhonePe would send for `reference` now: the status body, signed as PhonePe signs.

    Returns (body, extra test-client headers). `salt`/`password` sign with the wrong secret.
    """
    from django.conf import settings

    raw = dict(get_gateway(family).status(reference).raw)
    if family == "v2":
        if state_override:
            raw["state"] = state_override
        event = "pg.order.completed" if raw["state"] == "COMPLETED" else "pg.order.failed"
        body = json.dumps({"event": event, "type": event.replace(".", "_").upper(), "payload": raw}).encode()
        auth = hashlib.sha256(
            f"{settings.PHONEPE_WEBHOOK_USERNAME}:{password or settings.PHONEPE_WEBHOOK_PASSWORD}".encode()
        ).hexdigest()
        return body, {"HTTP_AUTHORIZATION": auth}
    if state_override:
        raw["data"] = {**raw["data"], "state": state_override}
        raw["code"] = "PAYMENT_SUCCESS" if state_override == "COMPLETED" else "PAYMENT_ERROR"
    response = base64.b64encode(json.dumps(raw).encode()).decode()
    digest = hashlib.sha256((response + (salt or settings.PHONEPE_SALT_KEY)).encode()).hexdigest()
    return (json.dumps({"response": response}).encode(),
            {"HTTP_X_VERIFY": f"{digest}###{settings.PHONEPE_SALT_INDEX}"})


def post_callback(client: Any, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(WEBHOOK, data=body, content_type="application/json", **headers)


def kitchen_handoffs(order_id: str) -> int:
    from kds_bridge.models import KitchenDelivery

    return KitchenDelivery.objects.filter(order_id=order_id).count()


def confirmations(order_id: str) -> int:
    from orders.models import OrderEvent

    return OrderEvent.objects.filter(order_id=order_id, kind="status", to_status="CONFIRMED").count()
