"""Refunds for managers (service and admin action), tracked to completion or failure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kiosk_project.core import metrics
from orders.models import Order, OrderStatus
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.reconciliation import payments_reconcile
from payments.refunds import PaymentNotRefundable, refund_check, refund_create
from payments.tests.helpers import post_callback, reference_of, signed_callback, wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(gateway_family, phonepe, order, initiate, django_capture_on_commit_callbacks):
    """A confirmed order and its SUCCEEDED payment."""
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.pay(reference)
    with django_capture_on_commit_callbacks(execute=True):
        body, headers = signed_callback(gateway_family, reference)
        assert post_callback(Client(), body, headers).json() == {"status": "processed"}
    assert Order.objects.get(pk=order["order_id"]).status == OrderStatus.CONFIRMED
    return Payment.objects.get(pk=payment_id)


def test_a_manager_refund_completes_and_refunds_the_order(paid, phonepe):
    refund = refund_create(payment_id=paid.id, reason="customer complaint", requested_by="staff:asha")
    assert refund.status == RefundStatus.PENDING  # PhonePe accepted it
    assert refund.amount_paise == 32450
    assert Payment.objects.get(pk=paid.id).status == PaymentStatus.REFUND_PENDING

    assert wait_for(lambda: phonepe.refunds[0]["state"] == "COMPLETED")
    refund = refund_check(refund_id=refund.id)
    assert refund.status == RefundStatus.COMPLETED and refund.utr
    assert Payment.objects.get(pk=paid.id).status == PaymentStatus.REFUNDED
    order = Order.objects.get(pk=paid.order_id)
    assert (order.status, order.status_reason) == (OrderStatus.REFUNDED, "refunded: customer complaint")
    assert metrics.get("payments.refunded") == 1


def test_refund_create_is_idempotent(paid, phonepe):
    first = refund_create(payment_id=paid.id, reason="r", requested_by="staff:a")
    again = refund_create(payment_id=paid.id, reason="r", requested_by="staff:b")
    assert again.id == first.id
    assert Refund.objects.count() == 1
    assert len(phonepe.refunds) == 1


def test_an_unpaid_payment_cannot_be_refunded(phonepe, order, initiate):
    payment_id = initiate(order).json()["payment_id"]
    with pytest.raises(PaymentNotRefundable):
        refund_create(payment_id=payment_id, reason="r", requested_by="staff:a")


def test_a_failed_refund_flags_the_payment(paid, phonepe):
    phonepe.config.refund_outcome = "fail"
    refund = refund_create(payment_id=paid.id, reason="r", requested_by="staff:a")
    assert wait_for(lambda: phonepe.refunds[0]["state"] == "FAILED")
    refund = refund_check(refund_id=refund.id)
    assert refund.status == RefundStatus.FAILED
    payment = Payment.objects.get(pk=paid.id)
    assert payment.status == PaymentStatus.NEEDS_REVIEW and "failed" in payment.flag_reason
    assert Order.objects.get(pk=paid.order_id).status == OrderStatus.CONFIRMED
    assert metrics.get("payments.refund_failed") == 1
    # A manager can try again: a new refund with a new reference.
    retry = refund_create(payment_id=paid.id, reason="retry", requested_by="staff:a")
    assert retry.id != refund.id


def test_phonepe_down_when_refunding_keeps_it_for_the_reconciler(paid, phonepe):
    phonepe.set_fault("error", count=None, routes=["refund"])
    refund = refund_create(payment_id=paid.id, reason="r", requested_by="staff:a")
    assert refund.status == RefundStatus.CREATED
    assert Refund.objects.get(pk=refund.id).error_code == "GATEWAY_UNAVAILABLE"
    phonepe.clear_faults()
    payments_reconcile(now=timezone.now() + timedelta(minutes=5))
    assert Refund.objects.get(pk=refund.id).status in (RefundStatus.PENDING, RefundStatus.COMPLETED)
    assert len(phonepe.refunds) == 1


def test_payment_pages_are_read_only_with_no_bulk_refund(paid, phonepe):
    """Refunds are made one order at a time from the order's screen (backoffice), never in bulk here."""
    staff = get_user_model().objects.create_user("asha", password="pw", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    url = reverse("admin:payments_payment_changelist")
    page = client.get(url)
    assert page.status_code == 200 and b"refund_in_full" not in page.content
    detail = client.get(reverse("admin:payments_payment_change", args=[paid.id]))
    assert detail.status_code == 200 and reverse("admin:orders_order_change", args=[paid.order_id]).encode() in \
        detail.content
    resp = client.post(url, {"action": "refund_in_full", "_selected_action": [str(paid.id)]})
    assert resp.status_code in (200, 302)
    assert not Refund.objects.filter(payment=paid).exists()
    assert client.get(reverse("admin:payments_refund_changelist")).status_code == 200
