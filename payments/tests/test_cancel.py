"""POST /api/v1/orders/{id}/cancel: the kiosk closes an unpaid order; a payment that lands later is refunded."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from orders.models import Order, OrderEvent, OrderStatus
from payments.models import Payment, PaymentStatus, Refund
from payments.tests.helpers import kitchen_handoffs, post_callback, reference_of, signed_callback

pytestmark = pytest.mark.django_db


def cancel(client, order, body=None):
    return client.post(f"/api/v1/orders/{order['order_id']}/cancel", body if body is not None else {},
                       format="json")


def test_an_unpaid_order_is_cancelled_with_who_and_why(phonepe, order, initiate, kiosk_client):
    payment_id = initiate(order).json()["payment_id"]
    answer = cancel(kiosk_client, order, {"reason": "walked_away"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "CANCELLED" and body["payment"]["can_retry"] is False
    assert body["payment"]["payment_id"] == payment_id
    event = OrderEvent.objects.get(order_id=order["order_id"], kind="status", to_status=OrderStatus.CANCELLED)
    assert (event.actor, event.reason, event.from_status) == ("kiosk:kiosk-1", "walked_away", "PENDING")
    assert event.data["open_payments"] == [reference_of(payment_id)]
    # Closed to the kiosk: no QR is handed out again.
    again = initiate(order, expect=409)
    assert again.json()["error"]["code"] == "ORDER_NOT_PAYABLE"


def test_cancel_is_idempotent(menu, order, kiosk_client):
    first = cancel(kiosk_client, order)
    second = cancel(kiosk_client, order, {"reason": "again"})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert OrderEvent.objects.filter(order_id=order["order_id"], to_status=OrderStatus.CANCELLED).count() == 1
    assert first.json()["payment"]["message"] == "This order was cancelled."


def test_a_paid_order_cannot_be_cancelled(gateway_family, phonepe, order, initiate, kiosk_client):
    reference = reference_of(initiate(order).json()["payment_id"])
    phonepe.pay(reference)
    body, headers = signed_callback(gateway_family, reference)
    post_callback(Client(), body, headers)
    answer = cancel(kiosk_client, order)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "ORDER_ALREADY_PAID"
    assert Order.objects.get(pk=order["order_id"]).status == OrderStatus.CONFIRMED


def test_another_kiosks_order_is_not_found(menu, order, other_kiosk):
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Kiosk {other_kiosk[1]}")
    answer = cancel(other, order)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "ORDER_NOT_FOUND"
    assert Order.objects.get(pk=order["order_id"]).status == OrderStatus.PENDING


def test_unknown_fields_and_ids(menu, order, kiosk_client):
    answer = cancel(kiosk_client, order, {"reason": "x", "why": "y"})
    assert answer.status_code == 400 and "why" in answer.json()["error"]["details"]
    missing = kiosk_client.post("/api/v1/orders/not-a-uuid/cancel", {}, format="json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ORDER_NOT_FOUND"


def test_a_payment_that_lands_after_the_cancel_is_refunded(gateway_family, phonepe, order, initiate, kiosk_client,
                                                           django_capture_on_commit_callbacks):
    payment_id = initiate(order).json()["payment_id"]
    assert cancel(kiosk_client, order).status_code == 200
    reference = reference_of(payment_id)
    phonepe.pay(reference)  # the customer had already scanned the QR
    with django_capture_on_commit_callbacks(execute=True):
        body, headers = signed_callback(gateway_family, reference)
        assert post_callback(Client(), body, headers).json() == {"status": "processed"}
    order_row = Order.objects.get(pk=order["order_id"])
    assert order_row.status == OrderStatus.CANCELLED and "automatic refund" in order_row.status_reason
    assert Payment.objects.get(pk=payment_id).status in (PaymentStatus.REFUND_PENDING, PaymentStatus.REFUNDED)
    assert Refund.objects.filter(payment_id=payment_id, requested_by="system").count() == 1
    assert kitchen_handoffs(order["order_id"]) == 0
    block = kiosk_client.get(f"/api/v1/orders/{order['order_id']}/status").json()["payment"]
    assert block["status"] in ("REFUND_PENDING", "REFUNDED") and block["can_retry"] is False
