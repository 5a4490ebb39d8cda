"""Races on the real database: webhooks, replays, the reconciler and the expiry job arriving together
on one payment make exactly one transition and one kitchen hand-off."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from kiosk_project.core import metrics
from orders.models import Order, OrderStatus
from payments.expiry import orders_expire
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.status_checks import payment_check
from payments.tests.helpers import (
    INITIATE,
    confirmations,
    kitchen_handoffs,
    post_callback,
    reference_of,
    run_together,
    signed_callback,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_webhooks_replays_and_reconciler_racing_make_one_transition(gateway_family, phonepe, order, initiate):
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.pay(reference)  # its own callback goes nowhere; we deliver copies concurrently below
    body, headers = signed_callback(gateway_family, reference)
    stale, stale_headers = signed_callback(gateway_family, reference, state_override="FAILED")

    def webhook() -> int:
        return post_callback(Client(), body, headers).status_code

    def stale_webhook() -> int:
        return post_callback(Client(), stale, stale_headers).status_code

    def reconciler() -> str:
        applied = payment_check(payment_id=payment_id, source="reconciler")
        return str(applied.outcome) if applied else "coalesced"

    jobs: list[Callable[[], Any]] = [webhook] * 6 + [stale_webhook] * 2 + [reconciler] * 4
    results = run_together(jobs)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[:8] == [200] * 8
    outcomes = results[8:]
    assert outcomes.count("confirmed") <= 1
    assert confirmations(order["order_id"]) == 1
    assert kitchen_handoffs(order["order_id"]) == 1
    assert metrics.get("payments.confirmed") == 1
    assert Payment.objects.get(pk=payment_id).status == PaymentStatus.SUCCEEDED
    assert Order.objects.get(pk=order["order_id"]).status == OrderStatus.CONFIRMED
    webhook_states = sorted(PaymentEvent.objects.filter(provider_reference=reference, source__startswith="webhook")
                            .values_list("state", flat=True))
    assert webhook_states == ["COMPLETED", "FAILED"]  # one ledger row per (reference, state): replays add none


def test_expiry_racing_a_last_second_payment_never_expires_a_paid_order(phonepe, order, initiate):
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.pay(reference)
    Order.objects.filter(pk=order["order_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    body, headers = signed_callback("v2", reference)

    results = run_together([lambda: orders_expire().orders_expired,
                            lambda: post_callback(Client(), body, headers).status_code,
                            lambda: orders_expire().orders_expired,
                            lambda: payment_check(payment_id=payment_id)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Order.objects.get(pk=order["order_id"]).status == OrderStatus.CONFIRMED
    assert confirmations(order["order_id"]) == 1
    assert kitchen_handoffs(order["order_id"]) == 1


def test_concurrent_initiates_call_phonepe_once(phonepe, order, kiosk):
    def initiate() -> tuple[int, Any]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Kiosk {kiosk[1]}")
        resp = client.post(INITIATE, {"order_id": order["order_id"], "amount": 324.5}, format="json")
        body = resp.json()
        return resp.status_code, body.get("payment_id") or body["error"]["code"]

    results = run_together([initiate] * 6)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert phonepe.report()["requests"]["v2.pay"] == 1
    payment = Payment.objects.get(order_id=order["order_id"])
    for status, value in results:
        assert (status, value) in ((201, str(payment.id)), (409, "PAYMENT_IN_PROGRESS"))
