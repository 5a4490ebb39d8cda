"""POST /api/v1/payment/webhook: the sandbox delivering real callbacks to a live server (both families),
and hand-built callbacks signed exactly as PhonePe signs them."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from kiosk_project.core import metrics
from orders.models import Order, OrderEvent, OrderStatus
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.status_cache import CopyRebuild
from payments.tests.helpers import (
    confirmations,
    kitchen_handoffs,
    post_callback,
    reference_of,
    signed_callback,
)


def order_status(order) -> str:
    return Order.objects.values_list("status", flat=True).get(pk=order["order_id"])


def webhook_rows(reference: str) -> list[tuple[str, str]]:
    return list(PaymentEvent.objects.filter(provider_reference=reference, source__startswith="webhook")
                .values_list("source", "state"))


def delivered(phonepe, reference: str) -> list[dict]:
    return [c for c in phonepe.payment(reference)["callbacks"] if c["delivery"] == "sent"]


# -- the sandbox delivers (live server) --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_happy_path(gateway_family, phonepe, deliver_callbacks, order, initiate):
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)

    phonepe.pay(reference)  # the customer pays; returns once the callback was answered

    assert [c["status"] for c in delivered(phonepe, reference)] == [200]
    assert order_status(order) == OrderStatus.CONFIRMED
    payment = Payment.objects.get(pk=payment_id)
    assert payment.status == PaymentStatus.SUCCEEDED and payment.confirmed_order
    assert payment.paid_amount == payment.amount and payment.utr
    assert kitchen_handoffs(order["order_id"]) == 1
    assert confirmations(order["order_id"]) == 1
    assert webhook_rows(reference) == [(f"webhook_{gateway_family}", "COMPLETED")]
    # The callback was a trigger: the status API was asked before anything changed.
    assert PaymentEvent.objects.filter(provider_reference=reference, source="status_check",
                                       state="COMPLETED").exists()
    assert metrics.get("payments.confirmed") == 1


@pytest.mark.django_db(transaction=True)
def test_a_callback_replayed_ten_times_confirms_once(gateway_family, phonepe, deliver_callbacks, order, initiate):
    reference = reference_of(initiate(order).json()["payment_id"])
    phonepe.pay(reference)
    for _ in range(10):
        phonepe.resend(reference)

    callbacks = delivered(phonepe, reference)
    assert len(callbacks) == 11 and {c["status"] for c in callbacks} == {200}
    assert confirmations(order["order_id"]) == 1
    assert kitchen_handoffs(order["order_id"]) == 1
    assert len(webhook_rows(reference)) == 1
    assert metrics.get("payments.webhook_duplicate") == 10
    assert metrics.get("payments.confirmed") == 1


@pytest.mark.django_db(transaction=True)
def test_twice_delivered_callback_confirms_once(gateway_family, phonepe, deliver_callbacks, order, initiate):
    reference = reference_of(initiate(order).json()["payment_id"])
    phonepe.set_callback(reference, "twice")
    phonepe.pay(reference)
    assert len(delivered(phonepe, reference)) == 2
    assert confirmations(order["order_id"]) == 1
    assert kitchen_handoffs(order["order_id"]) == 1


@pytest.mark.django_db(transaction=True)
def test_a_stale_failed_after_completed_changes_nothing(gateway_family, phonepe, deliver_callbacks, order,
                                                        initiate):
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.set_callback(reference, "stale_failed_after")  # COMPLETED, then an out-of-order FAILED
    phonepe.pay(reference)

    assert [c["state"] for c in delivered(phonepe, reference)] == ["COMPLETED", "FAILED"]
    assert sorted(state for _, state in webhook_rows(reference)) == ["COMPLETED", "FAILED"]
    assert Payment.objects.get(pk=payment_id).status == PaymentStatus.SUCCEEDED
    assert order_status(order) == OrderStatus.CONFIRMED
    assert kitchen_handoffs(order["order_id"]) == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_payment_leaves_the_order_payable(gateway_family, phonepe, deliver_callbacks, order, initiate):
    first = initiate(order).json()["payment_id"]
    phonepe.decline(reference_of(first))
    assert Payment.objects.get(pk=first).status == PaymentStatus.FAILED
    assert order_status(order) == OrderStatus.PENDING

    second = initiate(order).json()["payment_id"]  # the customer tries again with a new QR
    assert second != first
    phonepe.pay(reference_of(second))
    assert order_status(order) == OrderStatus.CONFIRMED


@pytest.mark.django_db(transaction=True)
def test_a_forged_callback_is_refused_and_writes_nothing(gateway_family, phonepe, deliver_callbacks, order,
                                                         initiate, caplog):
    reference = reference_of(initiate(order).json()["payment_id"])
    phonepe.set_callback(reference, "bad_signature")
    with caplog.at_level(logging.WARNING, logger="payments.security"):
        phonepe.pay(reference)

    assert [c["status"] for c in delivered(phonepe, reference)] == [401]
    assert webhook_rows(reference) == []
    assert order_status(order) == OrderStatus.PENDING
    assert metrics.get("payments.webhook_unauthorized") == 1
    [record] = [r for r in caplog.records if r.name == "payments.security"]
    assert record.remote_addr == "127.0.0.1"


@pytest.mark.django_db(transaction=True)
def test_a_callback_claiming_another_amount_is_not_believed(gateway_family, phonepe, deliver_callbacks, order,
                                                            initiate):
    reference = reference_of(initiate(order).json()["payment_id"])
    phonepe.set_callback(reference, "wrong_amount", amount=100)  # the callback lies; the status API does not
    phonepe.pay(reference)
    assert order_status(order) == OrderStatus.CONFIRMED


# -- hand-built callbacks (test client) --------------------------------------------------------------


@pytest.mark.django_db
def test_answers_and_duplicates(gateway_family, phonepe, order, initiate, django_capture_on_commit_callbacks):
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.pay(reference)  # no callback URL reaches us: we post it ourselves
    body, headers = signed_callback(gateway_family, reference)
    client = Client()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = post_callback(client, body, headers)
    assert (first.status_code, first.json()) == (200, {"status": "processed"})
    # The kitchen hand-off fires after commit (beside it, the status document's rebuild: payments/status_cache.py).
    assert len([callback for callback in callbacks if not isinstance(callback, CopyRebuild)]) == 1
    for _ in range(3):
        again = post_callback(client, body, headers)
        assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert order_status(order) == OrderStatus.CONFIRMED
    assert kitchen_handoffs(order["order_id"]) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("tamper", ["no_headers", "wrong_secret"])
def test_bad_signatures_are_401_and_write_nothing(gateway_family, phonepe, order, initiate, tamper, caplog):
    reference = reference_of(initiate(order).json()["payment_id"])
    phonepe.pay(reference)
    if tamper == "wrong_secret":
        body, headers = signed_callback(gateway_family, reference, salt="not-the-salt", password="not-the-password")
    else:
        body, headers = signed_callback(gateway_family, reference)[0], {}
    with caplog.at_level(logging.WARNING, logger="payments.security"):
        resp = post_callback(Client(REMOTE_ADDR="203.0.113.9"), body, headers)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "WEBHOOK_UNAUTHORIZED"
    assert not PaymentEvent.objects.filter(source__startswith="webhook").exists()
    assert order_status(order) == OrderStatus.PENDING
    assert any(r.name == "payments.security" and r.remote_addr == "203.0.113.9" for r in caplog.records)


@pytest.mark.django_db
def test_v1_a_response_changed_after_signing_is_refused(phonepe, order, initiate, settings):
    settings.PHONEPE_API = "v1"
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    reference = reference_of(initiate(order).json()["payment_id"])
    phonepe.pay(reference)
    _, headers = signed_callback("v1", reference, state_override="FAILED")
    forged, _ = signed_callback("v1", reference)  # another response under the first one's X-VERIFY
    assert post_callback(Client(), forged, headers).status_code == 401


@pytest.mark.django_db
def test_v2_a_forged_success_with_leaked_credentials_still_cannot_confirm(phonepe, order, initiate, settings):
    """v2's Authorization does not cover the body; the status API is what protects us."""
    reference = reference_of(initiate(order).json()["payment_id"])  # never paid
    body, headers = signed_callback("v2", reference, state_override="COMPLETED")
    assert post_callback(Client(), body, headers).json() == {"status": "processed"}
    assert order_status(order) == OrderStatus.PENDING
    assert Payment.objects.get(merchant_reference=reference).status == PaymentStatus.PENDING


@pytest.mark.django_db
def test_callback_for_an_unknown_reference_is_recorded_and_ignored(gateway_family, phonepe, settings):
    from payments.gateway import get_gateway

    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    get_gateway(gateway_family).initiate(merchant_reference="NOT-OURS-1", amount_paise=1000, expire_after_s=480,
                                         callback_url="http://127.0.0.1:9/x")
    phonepe.pay("NOT-OURS-1")
    body, headers = signed_callback(gateway_family, "NOT-OURS-1")
    resp = post_callback(Client(), body, headers)
    assert (resp.status_code, resp.json()) == (200, {"status": "ignored"})
    event = PaymentEvent.objects.get(provider_reference="NOT-OURS-1", source__startswith="webhook")
    assert event.payment_id is None


@pytest.mark.django_db
def test_status_api_down_during_a_callback_defers_to_the_reconciler(gateway_family, phonepe, order, initiate,
                                                                     django_capture_on_commit_callbacks):
    from django.utils import timezone

    from payments.reconciliation import payments_reconcile

    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.pay(reference)
    body, headers = signed_callback(gateway_family, reference)
    phonepe.set_fault("error", count=None, routes=["status"])

    resp = post_callback(Client(), body, headers)
    assert (resp.status_code, resp.json()) == (200, {"status": "deferred"})
    assert order_status(order) == OrderStatus.PENDING
    payment = Payment.objects.get(pk=payment_id)
    assert payment.next_check_at <= timezone.now()  # due for the reconciler's next pass
    assert len(webhook_rows(reference)) == 1  # the event is kept

    phonepe.clear_faults()
    with django_capture_on_commit_callbacks(execute=True):
        report = payments_reconcile()
    assert report.checked == 1
    assert order_status(order) == OrderStatus.CONFIRMED
    assert kitchen_handoffs(order["order_id"]) == 1


@pytest.mark.django_db
def test_a_replayed_success_we_could_not_verify_yet_is_checked_again(gateway_family, phonepe, order, initiate,
                                                                     settings):
    settings.PAYMENT_CALLBACK_COALESCE_SECONDS = 0  # a replay after the window (test_abuse: within it)
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.pay(reference)
    body, headers = signed_callback(gateway_family, reference)
    phonepe.set_fault("error", count=1, routes=["status"])
    assert post_callback(Client(), body, headers).json() == {"status": "deferred"}

    again = post_callback(Client(), body, headers)  # PhonePe (or an operator) re-sends it
    assert again.json() == {"status": "duplicate"}
    assert order_status(order) == OrderStatus.CONFIRMED
    assert len(webhook_rows(reference)) == 1


@pytest.mark.django_db
def test_out_of_order_failed_before_completed(gateway_family, phonepe, order, initiate):
    """A FAILED for an earlier attempt arrives after the order was paid: still one confirmation."""
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    phonepe.pay(reference)
    completed, completed_headers = signed_callback(gateway_family, reference)
    failed, failed_headers = signed_callback(gateway_family, reference, state_override="FAILED")

    assert post_callback(Client(), failed, failed_headers).json() == {"status": "processed"}
    # The FAILED claim was checked with the status API, which says COMPLETED: the order is confirmed.
    assert order_status(order) == OrderStatus.CONFIRMED
    assert post_callback(Client(), completed, completed_headers).json() == {"status": "processed"}
    assert Payment.objects.get(pk=payment_id).status == PaymentStatus.SUCCEEDED
    assert confirmations(order["order_id"]) == 1
    assert OrderEvent.objects.filter(order_id=order["order_id"], reason__contains="failed").count() == 0
