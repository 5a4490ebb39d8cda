"""The status document's `payment` block: what a waiting kiosk can act on, from one indexed read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from orders.models import Order
from payments.models import Payment, PaymentStatus
from payments.status_document import MESSAGES, failure_code
from payments.tests.helpers import post_callback, reference_of, signed_callback

pytestmark = pytest.mark.django_db


def status_url(order) -> str:
    return f"/api/v1/orders/{order['order_id']}/status"


def tell_us(family: str, reference: str) -> None:
    """PhonePe's callback for the attempt's current state, processed (the webhook asks the status API)."""
    body, headers = signed_callback(family, reference)
    assert post_callback(Client(), body, headers).json() == {"status": "processed"}


def test_a_live_qr_is_pending_with_its_references(gateway_family, order, initiate, kiosk_client):
    started = initiate(order).json()
    block = kiosk_client.get(status_url(order)).json()["payment"]
    assert block == {"status": "PENDING", "payment_id": started["payment_id"],
                     "merchant_reference": reference_of(started["payment_id"]), "failure_code": None,
                     "message": MESSAGES["PENDING"], "can_retry": False, "expires_at": started["expires_at"]}


def test_a_declined_payment_is_visible_on_the_next_poll(gateway_family, phonepe, order, initiate, kiosk_client):
    payment_id = initiate(order).json()["payment_id"]
    first = kiosk_client.get(status_url(order))
    reference = reference_of(payment_id)
    phonepe.decline(reference)
    tell_us(gateway_family, reference)

    polled = kiosk_client.get(status_url(order), HTTP_IF_NONE_MATCH=first["ETag"])
    assert polled.status_code == 200  # not 304: the attempt's outcome changed the document
    body = polled.json()
    assert body["status"] == "PENDING"  # the order is still payable
    assert body["payment"]["status"] == "FAILED" and body["payment"]["failure_code"] == "PAYMENT_DECLINED"
    assert body["payment"]["message"] == MESSAGES["PAYMENT_DECLINED"] and body["payment"]["can_retry"] is True
    assert kiosk_client.get(status_url(order), HTTP_IF_NONE_MATCH=polled["ETag"]).status_code == 304

    # A new attempt replaces it in the block; paid, the block says so and no new attempt is allowed.
    second = initiate(order).json()["payment_id"]
    assert kiosk_client.get(status_url(order)).json()["payment"]["payment_id"] == second
    phonepe.pay(reference_of(second))
    tell_us(gateway_family, reference_of(second))
    body = kiosk_client.get(status_url(order)).json()
    assert body["status"] == "CONFIRMED"
    assert body["payment"] | {"expires_at": None} == {
        "status": "SUCCEEDED", "payment_id": second, "merchant_reference": reference_of(second),
        "failure_code": None, "message": MESSAGES["SUCCEEDED"], "can_retry": False, "expires_at": None}


def test_a_qr_that_ran_out_is_expired(gateway_family, phonepe, order, initiate, kiosk_client):
    reference = reference_of(initiate(order).json()["payment_id"])
    phonepe.expire(reference)
    tell_us(gateway_family, reference)
    block = kiosk_client.get(status_url(order)).json()["payment"]
    assert (block["status"], block["failure_code"], block["can_retry"]) == ("EXPIRED", "PAYMENT_EXPIRED", True)


def test_no_new_attempt_once_the_order_window_closed(phonepe, order, initiate, kiosk_client):
    Order.objects.filter(pk=order["order_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert kiosk_client.get(status_url(order)).json()["payment"]["can_retry"] is False


def test_the_attempt_that_confirmed_the_order_wins_over_a_later_one(gateway_family, phonepe, order, initiate,
                                                                    kiosk_client):
    first = initiate(order).json()["payment_id"]
    Payment.objects.filter(pk=first).update(status=PaymentStatus.FAILED, error_code="ZM")
    second = initiate(order).json()["payment_id"]
    Payment.objects.filter(pk=first).update(status=PaymentStatus.SUCCEEDED, confirmed_order=True)
    assert kiosk_client.get(status_url(order)).json()["payment"]["payment_id"] == first != second


def test_the_poll_is_one_query_with_payments(phonepe, order, initiate, kiosk_client, django_assert_num_queries):
    initiate(order)
    initiate(order, expect=201)  # the same live QR (no second attempt)
    with django_assert_num_queries(1):
        assert kiosk_client.get(status_url(order)).status_code == 200


def test_the_order_detail_carries_the_block(phonepe, order, initiate, kiosk_client):
    payment_id = initiate(order).json()["payment_id"]
    body = kiosk_client.get(f"/api/v1/orders/{order['order_id']}").json()
    assert body["payment"]["payment_id"] == payment_id and body["payment"]["status"] == "PENDING"
    assert body["expires_at"] == order["expires_at"]


@pytest.mark.parametrize(("status", "code", "expected"), [
    (PaymentStatus.FAILED, "REQUEST_DECLINE_BY_REQUESTEE", "PAYMENT_DECLINED"),  # v2 detailedErrorCode
    (PaymentStatus.FAILED, "PAYMENT_DECLINED", "PAYMENT_DECLINED"),  # v1 code
    (PaymentStatus.FAILED, "TXN_AUTO_FAILED", "PAYMENT_EXPIRED"),
    (PaymentStatus.FAILED, "ZM", "PAYMENT_FAILED"),  # the sandbox's "fail" (NPCI: wrong UPI PIN)
    (PaymentStatus.FAILED, "GATEWAY_TIMEOUT", "GATEWAY_UNAVAILABLE"),  # ours: the QR was never made
    (PaymentStatus.FAILED, "SOMETHING_NEW", "PAYMENT_FAILED"),
    (PaymentStatus.EXPIRED, "", "PAYMENT_EXPIRED"),
    (PaymentStatus.PENDING, "", None),
    (PaymentStatus.SUCCEEDED, "", None),
])
def test_failure_codes_are_stable(status, code, expected):
    assert failure_code(status, code) == expected
    if expected:
        assert expected in MESSAGES
