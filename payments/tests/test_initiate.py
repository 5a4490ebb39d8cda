"""POST /api/v1/payment/initiate, both API families, against the sandbox over HTTP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from kiosk_project.core import metrics
from orders.models import Order, OrderStatus
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.tests.helpers import INITIATE

pytestmark = pytest.mark.django_db


def pay_calls(phonepe) -> int:
    requests = phonepe.report()["requests"]
    return requests.get("v2.pay", 0) + requests.get("v1.pay", 0)


def test_happy_path_returns_a_qr(gateway_family, phonepe, order, initiate):
    resp = initiate(order)
    body = resp.json()
    assert set(body) == {"order_id", "payment_id", "merchant_reference", "amount", "qr_string", "qr_svg", "qr_image",
                         "expires_at"}
    assert body["order_id"] == order["order_id"]
    assert body["amount"] == 324.5
    assert body["qr_string"].startswith("upi://pay?") and "am=324.50" in body["qr_string"]
    assert body["qr_svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    expires = timezone.datetime.fromisoformat(body["expires_at"])
    assert timedelta(seconds=470) < expires - timezone.now() < timedelta(seconds=490)

    payment = Payment.objects.get(pk=body["payment_id"])
    assert payment.status == PaymentStatus.PENDING
    assert payment.provider == f"phonepe_{gateway_family}"
    assert (payment.amount, payment.amount_paise) == (Decimal("324.50"), 32450)
    assert len(payment.merchant_reference) <= 35 and body["merchant_reference"] == payment.merchant_reference
    assert payment.next_check_at == pytest.approx(payment.initiated_at + timedelta(seconds=25),
                                                  abs=timedelta(seconds=1))
    sandbox = phonepe.payment(payment.merchant_reference)
    assert (sandbox["amount"], sandbox["state"], sandbox["api"]) == (32450, "PENDING", gateway_family)
    assert PaymentEvent.objects.filter(payment=payment, source="initiate").count() == 1
    assert Order.objects.get(pk=order["order_id"]).status == OrderStatus.PENDING
    assert metrics.get("payments.initiated") == 1


def test_initiating_again_returns_the_same_qr_without_calling_phonepe(gateway_family, phonepe, order, initiate):
    first = initiate(order).json()
    calls = pay_calls(phonepe)
    again = initiate(order)
    assert again.json() == first
    assert again["Idempotent-Replayed"] == "true"
    assert pay_calls(phonepe) == calls
    assert Payment.objects.filter(order_id=order["order_id"]).count() == 1


def test_after_the_qr_expires_a_new_attempt_gets_a_new_reference(gateway_family, phonepe, order, initiate):
    first = initiate(order).json()
    Payment.objects.filter(pk=first["payment_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    second = initiate(order).json()
    assert second["payment_id"] != first["payment_id"]
    references = set(Payment.objects.filter(order_id=order["order_id"]).values_list("merchant_reference", flat=True))
    assert len(references) == 2
    # The old attempt stays open for the reconciler: a customer may still pay that QR.
    assert Payment.objects.get(pk=first["payment_id"]).status == PaymentStatus.PENDING


@pytest.mark.parametrize("amount", [Decimal("324.49"), Decimal("324.51"), 324, 0])
def test_amount_must_equal_the_order_total(phonepe, order, initiate, amount):
    resp = initiate(order, amount=amount, expect=409)
    error = resp.json()["error"]
    assert error["code"] == "AMOUNT_MISMATCH"
    assert error["details"]["expected"] == 324.5
    assert not Payment.objects.exists()
    assert pay_calls(phonepe) == 0


def test_amount_as_an_equal_decimal_with_trailing_zero_is_accepted(phonepe, order, kiosk_client):
    body = f'{{"order_id": "{order["order_id"]}", "amount": 324.50}}'  # a JSON number, parsed as Decimal
    resp = kiosk_client.generic("POST", INITIATE, body, content_type="application/json")
    assert resp.status_code == 201, resp.content


@pytest.mark.parametrize("amount", ["324.505", "3.245e2", " 324.50", True, 324.505, -324.5, "", [324.5]])
def test_amount_must_be_rupees_with_at_most_two_decimals(phonepe, order, initiate, amount):
    resp = initiate(order, amount=amount, expect=400)
    assert resp.json()["error"]["code"] == "VALIDATION_ERROR"
    assert pay_calls(phonepe) == 0


def test_amount_as_a_decimal_string(phonepe, order, initiate):
    """What a JavaScript kiosk gets from total.toFixed(2)."""
    assert initiate(order, amount="324.50").json()["amount"] == 324.5


def test_unknown_initiation_fields_are_refused(phonepe, order, kiosk_client):
    resp = kiosk_client.post(INITIATE, {"order_id": order["order_id"], "amount": 324.5, "tip": 10}, format="json")
    assert resp.status_code == 400 and resp.json()["error"]["details"] == {"tip": ["Unknown field."]}
    assert pay_calls(phonepe) == 0


@pytest.mark.parametrize("status", [OrderStatus.CONFIRMED, OrderStatus.EXPIRED, OrderStatus.CANCELLED])
def test_only_pending_orders_can_be_paid(phonepe, order, initiate, status):
    # (a CONFIRMED order has its confirmed_at: the database insists)
    Order.objects.filter(pk=order["order_id"]).update(status=status, confirmed_at=timezone.now())
    resp = initiate(order, expect=409)
    assert resp.json()["error"]["code"] == "ORDER_NOT_PAYABLE"
    assert pay_calls(phonepe) == 0


def test_an_order_past_its_window_cannot_be_paid(phonepe, order, initiate):
    Order.objects.filter(pk=order["order_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    resp = initiate(order, expect=409)
    assert resp.json()["error"]["code"] == "ORDER_NOT_PAYABLE"
    assert resp.json()["error"]["details"]["reason"] == "expired"


def test_a_kiosk_cannot_pay_another_kiosks_order(phonepe, order, initiate, other_kiosk):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Kiosk {other_kiosk[1]}")
    resp = initiate(order, client=client, expect=404)
    assert resp.json()["error"]["code"] == "ORDER_NOT_FOUND"
    assert pay_calls(phonepe) == 0


def test_a_kiosk_cannot_read_another_kiosks_payment(phonepe, order, initiate, other_kiosk, kiosk_client):
    payment_id = initiate(order).json()["payment_id"]
    assert kiosk_client.get(f"/api/v1/payment/{payment_id}").json()["status"] == "PENDING"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Kiosk {other_kiosk[1]}")
    resp = client.get(f"/api/v1/payment/{payment_id}")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "PAYMENT_NOT_FOUND"


def test_a_kiosk_key_is_required(phonepe, order):
    resp = APIClient().post(INITIATE, {"order_id": order["order_id"], "amount": 324.5}, format="json")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "NOT_AUTHENTICATED"


def test_bad_input_is_a_validation_error(phonepe, order, initiate, kiosk_client):
    resp = kiosk_client.post(INITIATE, {"order_id": "nope", "amount": "abc"}, format="json")
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("mode", ["error", "drop", "rate_limit"])
def test_phonepe_down_is_a_clear_503_and_the_order_can_retry(gateway_family, phonepe, order, initiate, mode):
    phonepe.set_fault(mode, count=None, routes=["pay", "token"])
    resp = initiate(order, expect=503)
    error = resp.json()["error"]
    assert error["code"] == "PAYMENT_GATEWAY_UNAVAILABLE"
    assert error["details"]["retryable"] is True
    failed = Payment.objects.get(order_id=order["order_id"])
    assert failed.status == PaymentStatus.FAILED and failed.error_code == "GATEWAY_UNAVAILABLE"
    assert Order.objects.get(pk=order["order_id"]).status == OrderStatus.PENDING
    assert metrics.get("payments.gateway_unavailable") == 1

    phonepe.clear_faults()
    retried = initiate(order).json()
    assert retried["payment_id"] != str(failed.id)
    assert Payment.objects.get(pk=retried["payment_id"]).merchant_reference != failed.merchant_reference


def test_phonepe_slow_is_a_503_within_the_timeout(gateway_family, phonepe, order, initiate, settings):
    settings.PHONEPE_READ_TIMEOUT = 0.3
    phonepe.set_fault("slow", count=1, delay=2.0, routes=["pay", "token"])
    started = timezone.now()
    resp = initiate(order, expect=503)
    assert timezone.now() - started < timedelta(seconds=2)
    assert resp.json()["error"]["code"] == "PAYMENT_GATEWAY_UNAVAILABLE"
    assert Payment.objects.get(order_id=order["order_id"]).error_code == "GATEWAY_TIMEOUT"
    assert Order.objects.get(pk=order["order_id"]).status == OrderStatus.PENDING
    initiate(order)  # and the kiosk can try again


def test_phonepe_rejecting_our_credentials_is_a_502(gateway_family, phonepe, order, initiate, settings):
    if gateway_family == "v2":
        settings.PHONEPE_CLIENT_SECRET = "wrong"
    else:
        settings.PHONEPE_SALT_KEY = "wrong"
    resp = initiate(order, expect=502)
    assert resp.json()["error"]["code"] == "PAYMENT_GATEWAY_REJECTED"
    assert Order.objects.get(pk=order["order_id"]).status == OrderStatus.PENDING


def test_a_second_initiate_while_one_is_in_flight_is_told_to_retry(phonepe, order, initiate):
    from orders.models import Order as OrderModel
    from payments.initiation import new_merchant_reference

    order_row = OrderModel.objects.get(pk=order["order_id"])
    Payment.objects.create(order=order_row, merchant_reference=new_merchant_reference(order_row),
                           provider="phonepe_v2", amount=Decimal("324.50"), amount_paise=32450,
                           status=PaymentStatus.CREATED)
    resp = initiate(order, expect=409)
    assert resp.json()["error"]["code"] == "PAYMENT_IN_PROGRESS"
    # An attempt abandoned by a crashed process does not block the order for long.
    Payment.objects.filter(order_id=order["order_id"]).update(created_at=timezone.now() - timedelta(minutes=5))
    initiate(order)
