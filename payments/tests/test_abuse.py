"""Webhooks an outsider cannot abuse: only the configured family's callbacks, one status call per flood,
bounded ledger rows. Counted on the PhonePe sandbox over HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from kiosk_project.core import metrics
from orders.models import Order, OrderStatus
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.tests.helpers import post_callback, reference_of, run_together, signed_callback

STATUS_ROUTE = {"v2": "v2.order_status", "v1": "v1.status"}


def status_calls(phonepe, family: str) -> int:
    return phonepe.report()["requests"].get(STATUS_ROUTE[family], 0)


def v1_callback(reference: str, salt: str, *, code: str = "PAYMENT_SUCCESS") -> tuple[bytes, dict[str, str]]:
    """A v1 S2S callback built by hand, as anyone holding `salt` could build it."""
    decoded = {"success": True, "code": code, "data": {"merchantId": "PGTESTPAYUAT", "merchantTransactionId": reference,
                                                       "transactionId": "T1", "amount": 32450, "state": "COMPLETED"}}
    response = base64.b64encode(json.dumps(decoded).encode()).decode()
    digest = hashlib.sha256((response + salt).encode()).hexdigest()
    return json.dumps({"response": response}).encode(), {"HTTP_X_VERIFY": f"{digest}###1"}


@pytest.mark.django_db
def test_a_v1_callback_to_a_v2_deployment_is_refused_before_any_write_or_status_call(phonepe, order, initiate,
                                                                                        settings):
    """The fault run's attack: v1 callbacks signed with PhonePe's public UAT salt, sent to a v2 deployment."""
    settings.PHONEPE_API = "v2"
    reference = reference_of(initiate(order).json()["payment_id"])
    body, headers = v1_callback(reference, "099eb0cd-02cf-4e2a-8aca-3e6c6aff0399")
    before = status_calls(phonepe, "v2") + status_calls(phonepe, "v1")

    resp = post_callback(Client(), body, headers)

    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "WEBHOOK_UNAUTHORIZED"
    assert not PaymentEvent.objects.filter(source__startswith="webhook").exists()
    assert status_calls(phonepe, "v2") + status_calls(phonepe, "v1") == before
    assert metrics.get("payments.webhook_unauthorized") == 1


@pytest.mark.django_db
def test_a_v2_callback_to_a_v1_deployment_is_refused(phonepe, order, initiate, settings):
    settings.PHONEPE_API = "v1"
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    reference = reference_of(initiate(order).json()["payment_id"])
    body = json.dumps({"event": "pg.order.completed", "payload": {"merchantOrderId": reference,
                                                                  "state": "COMPLETED", "amount": 32450}}).encode()
    auth = hashlib.sha256(f"{settings.PHONEPE_WEBHOOK_USERNAME}:{settings.PHONEPE_WEBHOOK_PASSWORD}".encode())
    headers = {"HTTP_AUTHORIZATION": auth.hexdigest()}
    before = status_calls(phonepe, "v1")

    assert post_callback(Client(), body, headers).status_code == 401
    assert not PaymentEvent.objects.filter(source__startswith="webhook").exists()
    assert status_calls(phonepe, "v1") == before


@pytest.mark.django_db
def test_an_empty_salt_verifies_nothing(phonepe, order, initiate, settings):
    """A v1 deployment that lost its salt must not accept sha256(response) alone."""
    settings.PHONEPE_API = "v1"
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    reference = reference_of(initiate(order).json()["payment_id"])
    settings.PHONEPE_SALT_KEY = ""
    body, headers = v1_callback(reference, "")
    assert post_callback(Client(), body, headers).status_code == 401


@pytest.mark.django_db
def test_a_hundred_identical_callbacks_cost_one_status_call(gateway_family, phonepe, order, initiate, settings):
    """Validly signed copies of a success PhonePe has not seen (the status API says PENDING)."""
    settings.PAYMENT_CALLBACK_COALESCE_SECONDS = 120  # the whole burst falls in one window, however slow the box
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    body, headers = signed_callback(gateway_family, reference, state_override="COMPLETED")
    before = status_calls(phonepe, gateway_family)

    answers = [post_callback(Client(), body, headers) for _ in range(100)]

    assert {a.status_code for a in answers} == {200}
    assert answers[0].json() == {"status": "processed"}
    assert {a.json()["status"] for a in answers[1:]} == {"duplicate"}
    assert status_calls(phonepe, gateway_family) - before == 1
    assert PaymentEvent.objects.filter(provider_reference=reference, source__startswith="webhook").count() == 1
    assert metrics.get("payments.webhook_coalesced") == 99
    assert Payment.objects.get(pk=payment_id).status == PaymentStatus.PENDING
    assert Order.objects.get(pk=order["order_id"]).status == OrderStatus.PENDING
    # The reconciler still looks again once the window has passed, whatever the schedule said.
    window_end = timezone.now() + timedelta(seconds=settings.PAYMENT_CALLBACK_COALESCE_SECONDS)
    assert Payment.objects.get(pk=payment_id).next_check_at <= window_end


@pytest.mark.django_db(transaction=True)
def test_concurrent_callbacks_keep_one_status_check_in_flight(phonepe, order, initiate, settings):
    """Twenty copies at the same instant while PhonePe's status API takes a second: one call, not twenty.

    Whichever copy wins the claim asks; the first copy (the news) may lose that race, and then
    finds the winner's check started after it arrived, so it does not ask again (CI saw 2 calls
    before that rule)."""
    settings.PAYMENT_CALLBACK_COALESCE_SECONDS = 120  # every copy falls in one window, however slow the box
    reference = reference_of(initiate(order).json()["payment_id"])
    body, headers = signed_callback("v2", reference, state_override="COMPLETED")
    before = status_calls(phonepe, "v2")
    phonepe.set_fault("slow", count=None, delay=1.0, routes=["status"])

    results = run_together([lambda: post_callback(Client(), body, headers).status_code] * 20)

    assert results == [200] * 20
    assert status_calls(phonepe, "v2") - before == 1
    assert Payment.objects.get(merchant_reference=reference).status_check_until is None  # released


@pytest.mark.django_db
def test_the_first_completed_after_a_checked_failed_is_news_and_gets_its_own_check(phonepe, order, initiate):
    """A FAILED callback was just checked; the COMPLETED right after it is not coalesced away."""
    payment_id = initiate(order).json()["payment_id"]
    reference = reference_of(payment_id)
    failed, failed_headers = signed_callback("v2", reference, state_override="FAILED")
    assert post_callback(Client(), failed, failed_headers).json() == {"status": "processed"}
    phonepe.pay(reference)
    completed, completed_headers = signed_callback("v2", reference)
    before = status_calls(phonepe, "v2")

    assert post_callback(Client(), completed, completed_headers).json() == {"status": "processed"}
    assert status_calls(phonepe, "v2") - before == 1
    assert Order.objects.get(pk=order["order_id"]).status == OrderStatus.CONFIRMED


@pytest.mark.django_db
def test_a_scheduled_check_is_skipped_while_a_callback_check_is_in_flight(phonepe, order, initiate):
    from payments.reconciliation import payments_reconcile
    from payments.status_checks import lease_seconds

    payment_id = initiate(order).json()["payment_id"]
    now = timezone.now()
    Payment.objects.filter(pk=payment_id).update(next_check_at=now - timedelta(seconds=1),
                                                 status_check_until=now + timedelta(seconds=lease_seconds()))
    assert payments_reconcile().checked == 0  # left due, untouched
    assert Payment.objects.get(pk=payment_id).next_check_at <= now
    Payment.objects.filter(pk=payment_id).update(status_check_until=None)  # the check in flight ended
    assert payments_reconcile().checked == 1


@pytest.mark.django_db
def test_the_ledger_keeps_a_bounded_payload(phonepe, order, initiate):
    reference = reference_of(initiate(order).json()["payment_id"])
    body, headers = signed_callback("v2", reference)
    message = json.loads(body)
    message["payload"]["padding"] = "x" * 50_000  # validly signed (v2 does not sign the body) and bloated
    resp = post_callback(Client(), json.dumps(message).encode(), headers)
    assert resp.status_code == 200

    row = PaymentEvent.objects.get(provider_reference=reference, source="webhook_v2")
    stored = json.dumps(row.payload)
    assert len(stored) < settings.PAYMENT_LEDGER_MAX_PAYLOAD_BYTES
    assert row.payload["truncated"] is True and row.payload["bytes"] > 50_000
    assert len(row.payload["sha256"]) == 64
