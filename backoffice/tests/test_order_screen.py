"""The order screen: the whole story on one page, and actions that each need their own permission."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backoffice.tests.conftest import client_for
from kds_bridge.models import DeliveryStatus, KitchenDelivery
from orders.models import KitchenStatus, OrderEvent, OrderStatus
from payments.models import Refund, RefundStatus

pytestmark = pytest.mark.django_db


def page(client, order) -> str:
    resp = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert resp.status_code == 200, resp.content[:500]
    return resp.content.decode()


def test_the_screen_tells_the_story_in_words_with_links(scenes, shift):
    order = scenes.in_kitchen()
    html = page(client_for(shift), order)
    assert order.order_number in html and "₹324.50" in html
    assert "Paid" in html and "In the kitchen" in html
    # One timeline from every source, to the second.
    for words in ("Order placed", "UPI QR asked for, ₹324.50", "Payment confirmed; order paid",
                  "Sent to Rista (attempt 1): Rista stored the sale", "PhonePe status check: payment completed"):
        assert words in html, words
    assert "raw data</summary>" in html
    assert reverse("admin:kds_bridge_kitchendelivery_change", args=[order.kitchen_delivery.pk]) in html
    payment = order.payments.get()
    assert reverse("admin:payments_payment_change", args=[payment.pk]) in html
    # Lines with notes, and the tax breakdown per rate: the untaxed PC charge is not in the taxable value.
    assert "less oil" in html and "Davanagere Benne Sada Dose" in html
    assert "Taxable value @ GST 5%" in html and "₹290.00" in html and "Not taxed (PC)" in html
    assert "Save" not in html
    # Every linked record opens, and links back to the order.
    back = reverse("admin:orders_order_change", args=[order.pk])
    for url in (reverse("admin:kds_bridge_kitchendelivery_change", args=[order.kitchen_delivery.pk]),
                reverse("admin:payments_payment_change", args=[payment.pk])):
        resp = client_for(shift).get(url)
        assert resp.status_code == 200 and back in resp.content.decode(), url


def test_printing_is_a_post_viewing_records_nothing(scenes, shift):
    order = scenes.paid()
    client = client_for(shift)
    url = reverse("admin:orders_order_print", args=[order.pk, "kot"])
    preview = client.get(url).content.decode()
    assert "Preview" in preview and "DUPLICATE" not in preview
    assert not OrderEvent.objects.filter(order=order, kind="print").exists()
    first = client.post(url).content.decode()
    assert "DUPLICATE" not in first and "less oil" in first and "NOT PAID" not in first
    second = client.post(url).content.decode()
    assert "DUPLICATE (copy 2)" in second
    assert list(OrderEvent.objects.filter(order=order, kind="print").values_list("reason", "actor")) == [
        ("KOT printed", "staff:shiva"), ("KOT reprinted (copy 2)", "staff:shiva")]
    assert "Kot reprinted (copy 2)" in page(client, order) or "KOT reprinted (copy 2)" in page(client, order)


def test_the_bill_is_a_tax_invoice_only_when_paid(scenes, shift, settings):
    client = client_for(shift)
    paid = scenes.paid()
    bill = client.post(reverse("admin:orders_order_print", args=[paid.pk, "bill"])).content.decode()
    assert "TAX INVOICE" in bill and "NOT A TAX INVOICE" not in bill
    assert settings.RESTAURANT_LEGAL_NAME in bill and settings.RESTAURANT_GSTIN in bill
    assert paid.invoice_number and paid.invoice_number in bill
    assert "Taxable value @ GST 5%" in bill and "290.00" in bill and "7.25" in bill
    assert "Not taxed (PC)" in bill and "Ref " in bill and "SAC 996331" in bill
    unpaid = scenes.failed_payment()
    doc = client.post(reverse("admin:orders_order_print", args=[unpaid.pk, "bill"])).content.decode()
    assert "NOT A TAX INVOICE" in doc and "NOT PAID" in doc and "Paid by UPI" not in doc
    kot = client.post(reverse("admin:orders_order_print", args=[unpaid.pk, "kot"])).content.decode()
    assert "NOT PAID" in kot and "DO NOT COOK" in kot


def test_a_refunded_bill_says_refunded(scenes, shift):
    order = scenes.refunded()
    assert order.status == OrderStatus.REFUNDED
    bill = client_for(shift).post(reverse("admin:orders_order_print", args=[order.pk, "bill"])).content.decode()
    assert "REFUNDED" in bill and "TAX INVOICE" in bill and "Refunded in full" in bill and "Thank you" not in bill


def test_a_branch_manager_refunds_with_a_reason(scenes, branch_manager):
    order = scenes.paid()
    client = client_for(branch_manager)
    url = reverse("admin:orders_order_refund", args=[order.pk])
    payment = order.payments.get()
    assert 'id="refund-amount">₹324.50' in page(client, order)
    client.post(url, {"payment": payment.pk, "reason": " "})
    assert not Refund.objects.exists()  # no reason, no refund
    assert client.post(url, {"payment": "not-a-payment", "reason": "junk"}).status_code == 302
    assert not Refund.objects.exists()
    resp = client.post(url, {"payment": payment.pk, "reason": "item not available"}, follow=True)
    refund = Refund.objects.get()
    assert refund.reason == "item not available" and refund.requested_by == "staff:bina"
    assert refund.status in (RefundStatus.PENDING, RefundStatus.COMPLETED)
    assert "Refund of ₹324.50" in resp.content.decode()
    html = page(client, order)
    assert "Refund of ₹324.50 asked for" in html and "Customer paid ₹324.50" in html
    if refund.status == RefundStatus.PENDING:
        assert "Paid; refund in progress" in html


@pytest.mark.parametrize("who", ["shift", "accountant", "viewer"])
def test_only_the_refund_permission_refunds(scenes, who, request):
    order = scenes.paid()
    client = client_for(request.getfixturevalue(who))
    html = page(client, order)
    assert 'id="action-refund"' not in html
    resp = client.post(reverse("admin:orders_order_refund", args=[order.pk]),
                       {"payment": order.payments.get().pk, "reason": "trying"})
    assert resp.status_code == 403
    assert not Refund.objects.exists()


def test_a_view_only_user_can_change_nothing(scenes, viewer):
    order = scenes.rejected()
    client = client_for(viewer)
    html = page(client, order)
    assert "no permission to print, resend or refund" in html
    for name, args in (("print", [order.pk, "kot"]), ("print", [order.pk, "bill"]), ("resend", [order.pk]),
                       ("handle", [order.pk]), ("check_refund", [order.pk])):
        assert client.post(reverse(f"admin:orders_order_{name}", args=args)).status_code == 403, name
    assert client.get(reverse("admin:orders_order_print", args=[order.pk, "kot"])).status_code == 403
    assert client.get(reverse("admin:backoffice_reports")).status_code == 403
    assert not OrderEvent.objects.filter(order=order, kind__in=("print", "action")).exists()


def test_a_shift_manager_resends_a_rejected_order(scenes, shift):
    order = scenes.rejected()
    assert order.kitchen_status == KitchenStatus.REJECTED
    client = client_for(shift)
    assert "Kitchen did not get it" in page(client, order)
    client.post(reverse("admin:orders_order_resend", args=[order.pk]))
    delivery = KitchenDelivery.objects.get(order=order)
    assert delivery.status == DeliveryStatus.PENDING
    assert OrderEvent.objects.filter(order=order, kind="action", actor="staff:shiva").exists()
    scenes.deliver(order)
    html = page(client, order)
    assert "Resend by operator" in html and "Rista stored the sale" in html


def test_printing_needs_a_staff_login(scenes, kiosk_client):
    from django.test import Client

    order = scenes.paid()
    url = reverse("admin:orders_order_print", args=[order.pk, "kot"])
    for client in (Client(), kiosk_client):
        resp = client.post(url)
        assert resp.status_code == 302 and "/admin/login/" in resp["Location"]
    assert not OrderEvent.objects.filter(kind="print").exists()
    assert client_for_unknown_document(order) == 404


def client_for_unknown_document(order) -> int:
    from backoffice.tests.conftest import make_user

    user = make_user("pat", role="Shift manager")
    return client_for(user).get(reverse("admin:orders_order_print", args=[order.pk, "menu"])).status_code
