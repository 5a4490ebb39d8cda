"""The back office: managers find orders and print KOTs and bills; reprints say DUPLICATE."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from orders.models import OrderEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client():
    user = User.objects.create_superuser("manager", "m@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_a_manager_finds_an_order_by_number(place_order, manager_client):
    order = place_order()
    resp = manager_client.get("/admin/orders/order/", {"q": order["order_number"]})
    assert resp.status_code == 200 and order["order_number"].encode() in resp.content
    detail = manager_client.get(f"/admin/orders/order/{order['order_id']}/change/")
    assert detail.status_code == 200
    assert b"Print KOT" in detail.content and b"Davanagere Benne Sada Dose" in detail.content


def test_kot_and_bill_print_and_reprints_are_marked_duplicate(place_order, manager_client):
    order = place_order({"items": [{"item_sku_id": "1", "quantity": 2, "note": "less oil"},
                                   {"item_sku_id": "9", "quantity": 1}]})
    url = f"/admin/orders/order/{order['order_id']}/print/kot/"
    first = manager_client.get(url)
    assert first.status_code == 200
    text = first.content.decode()
    assert order["order_number"] in text and "2 x" in text and "less oil" in text
    assert "DUPLICATE" not in text
    again = manager_client.get(url).content.decode()
    assert "DUPLICATE (copy 2)" in again
    bill = manager_client.get(f"/admin/orders/order/{order['order_id']}/print/bill/").content.decode()
    assert "324.50" in bill and "CGST @ 2.5%" in bill and "DUPLICATE" not in bill
    prints = list(OrderEvent.objects.filter(order_id=order["order_id"], kind="print")
                  .values_list("reason", "actor"))
    assert prints == [("KOT printed", "staff:manager"), ("KOT reprinted (copy 2)", "staff:manager"),
                      ("bill printed", "staff:manager")]


def test_printing_needs_staff(place_order, kiosk_client):
    order = place_order()
    url = f"/admin/orders/order/{order['order_id']}/print/kot/"
    for client in (Client(), kiosk_client):
        resp = client.get(url)
        assert resp.status_code == 302 and "/admin/login/" in resp["Location"]
    assert not OrderEvent.objects.filter(kind="print").exists()


def test_unknown_document_is_404(place_order, manager_client):
    order = place_order()
    assert manager_client.get(f"/admin/orders/order/{order['order_id']}/print/menu/").status_code == 404
