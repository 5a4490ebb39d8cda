"""PhonePe answers in every documented shape (the sandbox's answer-shape switches): the kiosk always gets a QR
image it can show, and a callback naming the payment only by PhonePe's orderId is processed at once."""

from __future__ import annotations

import base64

import pytest
import requests

from orders.models import Order, OrderStatus
from payments.gateway.base import qr_from_answer
from payments.models import Payment
from payments.tests.helpers import reference_of

pytestmark = pytest.mark.django_db


def shape(phonepe, **switches: str) -> None:
    answer = requests.post(f"{phonepe.url}/_control/config", json=switches, timeout=5)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(("qr_data", "intent_url", "rendered_from"), [
    ("png", "upi", "upi"),  # the sandbox's default: a UPI intentUrl wins (we render a crisp SVG)
    ("png", "ppe", "png"),  # v2's sample: a PhonePe-app link no other UPI app opens, so PhonePe's image
    ("data-uri", "empty", "png"),
    ("upi", "absent", "upi"),  # the UPI string in qrData itself
])
def test_the_kiosk_always_gets_an_image(gateway_family, phonepe, order, initiate, qr_data, intent_url,
                                        rendered_from):
    shape(phonepe, qrDataForm=qr_data, intentUrlForm=intent_url)
    body = initiate(order).json()
    assert body["merchant_reference"] == reference_of(body["payment_id"])
    if rendered_from == "upi":
        assert body["qr_string"].startswith("upi://pay?") and body["qr_svg"].startswith("<svg")
        assert body["qr_image"].startswith("data:image/svg+xml;base64,")
    else:
        assert body["qr_string"] is None and body["qr_svg"] is None
        assert body["qr_image"].startswith("data:image/png;base64,")
        assert base64.b64decode(body["qr_image"].split(",", 1)[1]).startswith(b"\x89PNG")
    # Handed out again while it is valid, the same image.
    assert initiate(order).json()["qr_image"] == body["qr_image"]


def test_no_upi_link_and_no_image_is_refused(gateway_family, phonepe, order, initiate):
    shape(phonepe, qrDataForm="absent", intentUrlForm="ppe")
    answer = initiate(order, expect=502)
    assert answer.json()["error"]["code"] == "PAYMENT_GATEWAY_REJECTED"
    assert Payment.objects.get().error_code.endswith("NO_QR")


@pytest.mark.parametrize("value", [
    "bm90IGEgcG5n",  # base64, but not a PNG
    "%%%not base64%%%",
    "ppe://url",
    "",
    None,
    12,
])
def test_things_that_are_not_a_qr(value):
    assert qr_from_answer("ppe://url", value) is None


@pytest.mark.django_db(transaction=True)
def test_a_callback_with_only_phonepes_order_id_confirms_at_once(phonepe, deliver_callbacks, settings, order,
                                                                  initiate):
    settings.PHONEPE_API = "v2"
    shape(phonepe, callbackIds="orderId")
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.pay(reference)  # returns once the callback was answered
    callbacks = [c for c in phonepe.payment(reference)["callbacks"] if c["delivery"] == "sent"]
    assert [c["status"] for c in callbacks] == [200]
    assert Order.objects.get(pk=order["order_id"]).status == OrderStatus.CONFIRMED  # no reconciler needed
