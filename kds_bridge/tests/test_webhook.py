"""Rista's order.status callbacks: the sandbox calls our live server with the secret our sale carried."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from kds_bridge.models import KitchenDelivery
from kds_bridge.services import kitchen_sale_send
from kds_bridge.tests.conftest import control
from kiosk_project.core import metrics
from orders.models import KitchenStatus, Order, OrderEvent

URL = "/api/v1/kds/webhook"


@pytest.fixture
def delivered(rista, paid_order, live_server, settings):
    """A paid order delivered to Rista, whose callbackURL points at this test's live server."""
    settings.PUBLIC_BASE_URL = live_server.url
    order, delivery = paid_order()
    kitchen_sale_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.rista_invoice_number
    return order, delivery


def kitchen_move(rista, delivery: KitchenDelivery, status: str, **options) -> dict:
    return control(rista, "POST", f"/_control/sales/{delivery.rista_invoice_number}/status", status=status,
                   **options)


def kitchen_status(order: Order) -> str:
    return Order.objects.values_list("kitchen_status", flat=True).get(pk=order.pk)


def kitchen_events(order: Order) -> list[tuple[str, str, str]]:
    return list(OrderEvent.objects.filter(order=order, kind="kitchen").order_by("id")
                .values_list("from_status", "to_status", "actor"))


def callback_body(invoice: str = "", source_invoice: str = "", status: str = "Accepted") -> dict:
    return {"type": "order.status", "context": {"branchCode": "BLR01"},
            "data": {"invoiceNumber": invoice, "orderNumber": "1", "status": status, "channelName": "Takeaway",
                     "sourceInvoiceNumber": source_invoice}}


@pytest.mark.django_db(transaction=True)
def test_callbacks_move_the_kitchen_forward_and_never_back(rista, delivered):
    order, delivery = delivered
    assert kitchen_move(rista, delivery, "Accepted")["callback_status"] == 200
    assert kitchen_status(order) == KitchenStatus.ACCEPTED
    assert kitchen_move(rista, delivery, "Processed", duplicate=True)["callback_statuses"] == [200, 200]
    assert kitchen_status(order) == KitchenStatus.READY
    assert kitchen_move(rista, delivery, "Accepted")["callback_status"] == 200  # late: no step back
    assert kitchen_status(order) == KitchenStatus.READY
    assert kitchen_move(rista, delivery, "Delivered")["callback_status"] == 200
    assert kitchen_status(order) == KitchenStatus.COMPLETED
    assert kitchen_move(rista, delivery, "Cancelled")["callback_status"] == 200  # too late to cancel
    assert kitchen_status(order) == KitchenStatus.COMPLETED
    # One event per real change; the duplicate and the stale callbacks left no trace.
    assert kitchen_events(order) == [("NOT_SENT", "SENT", "kitchen"), ("SENT", "ACCEPTED", "rista"),
                                     ("ACCEPTED", "READY", "rista"), ("READY", "COMPLETED", "rista")]
    callbacks = control(rista, "GET", "/_control/stats")["callbacks"]
    assert [c["status"] for c in callbacks] == [200] * 6
    assert {c["url"] for c in callbacks} == {settings.PUBLIC_BASE_URL + URL}


@pytest.mark.django_db(transaction=True)
def test_a_cancellation_marks_the_kitchen_rejected(rista, delivered):
    order, delivery = delivered
    kitchen_move(rista, delivery, "Accepted")
    assert kitchen_move(rista, delivery, "Cancelled")["callback_status"] == 200
    assert kitchen_status(order) == KitchenStatus.REJECTED


@pytest.mark.django_db
def test_a_wrong_or_missing_secret_is_401_and_changes_nothing(paid_order):
    order, delivery = paid_order()
    before = metrics.get("webhook.kds.unauthorized")
    body = callback_body(source_invoice=delivery.source_invoice_number)
    for headers in ({}, {"HTTP_X_KIOSK_KDS_SECRET": "wrong"}, {"HTTP_X_KIOSK_KDS_SECRET": ""},
                    {"HTTP_X_KIOSK_KDS_SECRET": settings.KDS_WEBHOOK_SECRET + "x"}):
        resp = Client().post(URL, body, content_type="application/json", **headers)
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "KDS_WEBHOOK_UNAUTHORIZED"
    assert metrics.get("webhook.kds.unauthorized") == before + 4
    assert kitchen_status(order) == KitchenStatus.NOT_SENT and kitchen_events(order) == []


@pytest.mark.django_db
def test_a_callback_found_by_our_invoice_number_before_rista_s_is_recorded(paid_order):
    order, delivery = paid_order()  # not yet marked DELIVERED: Rista called back before we recorded its answer
    resp = Client().post(URL, callback_body(invoice="BLR01-999", source_invoice=delivery.source_invoice_number),
                         content_type="application/json", HTTP_X_KIOSK_KDS_SECRET=settings.KDS_WEBHOOK_SECRET)
    assert resp.status_code == 200 and resp.json() == {"result": "changed"}
    assert kitchen_status(order) == KitchenStatus.ACCEPTED


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "status", "answer"), [
    (callback_body(invoice="BLR01-404404", source_invoice="BLR01-19990101-K001"), 200, {"result": "unknown_invoice"}),
    ({"type": "menu.sync", "data": {"invoiceNumber": "x", "status": "Accepted"}}, 200, {"result": "ignored_type"}),
    ({"type": "order.status", "data": {"status": "Accepted"}}, 400, "VALIDATION_ERROR"),
    ({"type": "order.status"}, 400, "VALIDATION_ERROR"),
    ([1, 2], 400, "VALIDATION_ERROR"),
    ("{not json", 400, "MALFORMED_REQUEST"),
])
def test_unknown_invoices_other_types_and_malformed_bodies(db, body, status, answer):
    resp = Client().post(URL, body, content_type="application/json",
                         HTTP_X_KIOSK_KDS_SECRET=settings.KDS_WEBHOOK_SECRET)
    assert resp.status_code == status
    if status == 200:
        assert resp.json() == answer
    else:
        assert resp.json()["error"]["code"] == answer


@pytest.mark.django_db
def test_an_unknown_status_is_acknowledged_and_ignored(paid_order):
    order, delivery = paid_order()
    resp = Client().post(URL, callback_body(source_invoice=delivery.source_invoice_number, status="Teleported"),
                         content_type="application/json", HTTP_X_KIOSK_KDS_SECRET=settings.KDS_WEBHOOK_SECRET)
    assert resp.status_code == 200 and resp.json() == {"result": "ignored_status"}
    assert kitchen_status(order) == KitchenStatus.NOT_SENT
