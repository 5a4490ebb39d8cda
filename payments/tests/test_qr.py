"""The QR is made once per payment attempt: never again on a replayed initiation or a status read."""

from __future__ import annotations

import pytest

from kiosk_project.core import metrics
from payments.qr import qr_svg

pytestmark = pytest.mark.django_db


def test_a_replay_in_another_process_and_status_reads_do_not_render_the_qr_again(phonepe, order, initiate,
                                                                                  kiosk_client):
    first = initiate(order).json()
    assert metrics.get("payments.qr_rendered") == 1
    qr_svg.cache_clear()  # what another gunicorn worker holds: nothing but the shared cache
    again = initiate(order)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["qr_svg"] == first["qr_svg"]
    assert kiosk_client.get(f"/api/v1/orders/{order['order_id']}/status").status_code == 200
    assert kiosk_client.get(f"/api/v1/payment/{first['payment_id']}").status_code == 200
    assert metrics.get("payments.qr_rendered") == 1


def test_each_attempt_gets_its_own_qr(phonepe, place_order, initiate):
    a, b = initiate(place_order()).json(), initiate(place_order()).json()
    assert a["qr_svg"] != b["qr_svg"] and a["qr_svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert metrics.get("payments.qr_rendered") == 2
