"""The PhonePe modules: signatures (protocols.md test vectors), tokens, error translation, over HTTP."""

from __future__ import annotations

import base64
import json

import pytest

from kiosk_project.core.parsers import MalformedJSON
from payments.gateway import (
    GatewayDuplicate,
    GatewayNotFound,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnavailable,
    WebhookUnauthorized,
    get_gateway,
)
from payments.gateway.phonepe_v1 import drop_nulls, encode_request, verify_x_verify, x_verify
from payments.gateway.phonepe_v2 import webhook_authorization
from payments.tests.helpers import wait_for

SALT = "099eb0cd-02cf-4e2a-8aca-3e6c6aff0399"
VECTOR_B64 = (
    "ewogICJtZXJjaGFudElkIjogIlBHVEVTVFBBWVVBVCIsCiAgIm1lcmNoYW50VHJhbnNhY3Rpb25JZCI6ICJNVDc4NTA1OTAwNjgxODgxMDQiLAog"
    "ICJtZXJjaGFudFVzZXJJZCI6ICJNVUlEMTIzIiwKICAiYW1vdW50IjogMTAwMDAsCiAgInJlZGlyZWN0VXJsIjogImh0dHBzOi8vd2ViaG9vay5z"
    "aXRlL3JlZGlyZWN0LXVybCIsCiAgInJlZGlyZWN0TW9kZSI6ICJSRURJUkVDVCIsCiAgImNhbGxiYWNrVXJsIjogImh0dHBzOi8vd2ViaG9vay5z"
    "aXRlL2NhbGxiYWNrLXVybCIsCiAgIm1vYmlsZU51bWJlciI6ICI5OTk5OTk5OTk5IiwKICAicGF5bWVudEluc3RydW1lbnQiOiB7CiAgICAidHlw"
    "ZSI6ICJQQVlfUEFHRSIKICB9Cn0="
)
VECTOR_PAYLOAD = {
    "merchantId": "PGTESTPAYUAT", "merchantTransactionId": "MT7850590068188104", "merchantUserId": "MUID123",
    "amount": 10000, "redirectUrl": "https://webhook.site/redirect-url", "redirectMode": "REDIRECT",
    "callbackUrl": "https://webhook.site/callback-url", "mobileNumber": "9999999999",
    "paymentInstrument": {"type": "PAY_PAGE"},
}


# -- signatures: the documented vectors ------------------------------------------------------------


def test_x_verify_pay_vector_from_protocols():
    assert json.loads(base64.b64decode(VECTOR_B64)) == VECTOR_PAYLOAD
    assert x_verify(VECTOR_B64 + "/pg/v1/pay", SALT, 1) == (
        "d7a8e4458caa6fcd781166bbdc85fec76740c18cb9baa9a4c48cf2387d554180###1")


def test_x_verify_status_vector_from_protocols():
    assert x_verify("/pg/v1/status/PGTESTPAYUAT/MT7850590068188104", SALT, 1) == (
        "95c6d60f014b7190aa417083aca2489bb5b0a729d0421c17dea19f5913e6d741###1")


def test_x_verify_check_is_case_insensitive_and_picks_the_salt_by_index():
    good = x_verify(VECTOR_B64, SALT, 1)
    digest = good.split("###")[0]
    assert verify_x_verify(good, VECTOR_B64, SALT, 1)
    assert verify_x_verify(digest.upper() + "###1", VECTOR_B64, SALT, 1)
    assert not verify_x_verify(digest + "###2", VECTOR_B64, SALT, 1)  # we hold no salt with index 2
    assert not verify_x_verify(digest, VECTOR_B64, SALT, 1)  # no index
    assert not verify_x_verify(x_verify(VECTOR_B64, "another-salt", 1), VECTOR_B64, SALT, 1)
    assert not verify_x_verify(good, VECTOR_B64 + "x", SALT, 1)


def test_null_keys_are_left_out_before_base64():
    payload = {"merchantId": "M", "merchantUserId": None, "amount": 100, "paymentInstrument": {"type": "UPI_QR",
                                                                                                  "vpa": None}}
    assert drop_nulls(payload) == {"merchantId": "M", "amount": 100, "paymentInstrument": {"type": "UPI_QR"}}
    assert json.loads(base64.b64decode(encode_request(payload))) == drop_nulls(payload)


def test_v2_webhook_authorization_vector_from_protocols():
    assert webhook_authorization("username", "password") == (
        "bc842c31a9e54efe320d30d948be61291f3ceee4766e36ab25fa65243cd76e0e")


@pytest.mark.parametrize("family", ["v2", "v1"])
def test_parse_webhook_refuses_bad_signatures(family, phonepe, settings):
    gateway = get_gateway(family)
    if family == "v2":
        body = json.dumps({"event": "pg.order.completed", "payload": {"merchantOrderId": "X", "state": "COMPLETED"}})
        bad = [{}, {"Authorization": "not-the-hash"},
               {"Authorization": webhook_authorization(settings.PHONEPE_WEBHOOK_USERNAME, "wrong")}]
        for headers in bad:
            with pytest.raises(WebhookUnauthorized):
                gateway.parse_webhook(headers, body.encode())
        good = {"authorization": webhook_authorization(settings.PHONEPE_WEBHOOK_USERNAME,
                                                       settings.PHONEPE_WEBHOOK_PASSWORD)}
        event = gateway.parse_webhook(good, body.encode())
        assert (event.kind, event.reference, event.state) == ("payment", "X", "COMPLETED")
    else:
        response = base64.b64encode(json.dumps({"code": "PAYMENT_SUCCESS", "data": {
            "merchantTransactionId": "X", "state": "COMPLETED", "amount": 100}}).encode()).decode()
        body = json.dumps({"response": response}).encode()
        for headers in [{}, {"X-VERIFY": x_verify(response, "not-the-salt", 1)},
                        {"X-VERIFY": x_verify(response, SALT, 2)}]:
            with pytest.raises(WebhookUnauthorized):
                gateway.parse_webhook(headers, body)
        with pytest.raises(WebhookUnauthorized):  # a body that carries no signed response at all
            gateway.parse_webhook({"X-VERIFY": x_verify("", SALT, 1)}, b'{"no": "response"}')
        with pytest.raises(MalformedJSON):  # not JSON at all: the one parser refuses it (400)
            gateway.parse_webhook({"X-VERIFY": x_verify("", SALT, 1)}, b"not json")
        event = gateway.parse_webhook({"x-verify": x_verify(response, SALT, 1).upper().replace("###", "###")},
                                      body)
        assert (event.kind, event.reference, event.state, event.amount_paise) == ("payment", "X", "COMPLETED", 100)


# -- talking to the sandbox --------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["v2", "v1"])
def test_initiate_status_refund_round_trip(family, phonepe, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    gateway = get_gateway(family)
    started = gateway.initiate(merchant_reference=f"T-{family}-1", amount_paise=32450, expire_after_s=480,
                               callback_url="http://127.0.0.1:9/api/v1/payment/webhook")
    assert started.qr_string.startswith("upi://pay?")
    assert "am=324.50" in started.qr_string
    assert started.provider_order_id
    assert "<omitted>" in json.dumps(started.raw)  # the PNG is not kept

    pending = gateway.status(f"T-{family}-1")
    assert (pending.state, pending.amount_paise) == ("PENDING", 32450)

    phonepe.pay(f"T-{family}-1")
    paid = gateway.status(f"T-{family}-1")
    assert (paid.state, paid.amount_paise) == ("COMPLETED", 32450)
    assert paid.utr and paid.provider_txn_id

    with pytest.raises(GatewayDuplicate):
        gateway.initiate(merchant_reference=f"T-{family}-1", amount_paise=32450, expire_after_s=480,
                         callback_url="http://127.0.0.1:9/x")
    with pytest.raises(GatewayNotFound):
        gateway.status("NO-SUCH-REF")

    refund = gateway.refund(merchant_refund_id=f"R-{family}-1", original_reference=f"T-{family}-1",
                            amount_paise=32450)
    assert refund.state == "PENDING"
    with pytest.raises(GatewayDuplicate):
        gateway.refund(merchant_refund_id=f"R-{family}-1", original_reference=f"T-{family}-1", amount_paise=32450)
    # The sandbox completes refunds 0.2 s after they are made.
    assert wait_for(lambda: gateway.refund_status(f"R-{family}-1").state == "COMPLETED")


def test_v2_token_is_cached_and_refreshed_once_on_401(phonepe, settings):
    settings.PHONEPE_API = "v2"
    gateway = get_gateway()
    gateway.initiate(merchant_reference="TOK-1", amount_paise=1000, expire_after_s=480, callback_url="")
    for _ in range(3):
        gateway.status("TOK-1")
    assert phonepe.report()["requests"]["v2.token"] == 1

    phonepe.expire_tokens()  # PhonePe now answers 401 to the cached token
    assert gateway.status("TOK-1").state == "PENDING"
    report = phonepe.report()
    assert report["requests"]["v2.token"] == 2
    assert report["auth_failures"]["by_route"] == {"v2.order_status": 1}


def test_v2_wrong_credentials_are_a_rejection_not_an_outage(phonepe, settings):
    settings.PHONEPE_CLIENT_SECRET = "not-the-secret"
    with pytest.raises(GatewayRejected) as caught:
        get_gateway("v2").status("ANY")
    assert caught.value.api_error().status_code == 502


def test_v1_wrong_salt_is_a_rejection(phonepe, settings):
    settings.PHONEPE_SALT_KEY = "not-the-salt"
    with pytest.raises(GatewayRejected) as caught:
        get_gateway("v1").status("ANY")
    assert caught.value.code == "AUTHORIZATION_FAILED"


@pytest.mark.parametrize("family", ["v2", "v1"])
@pytest.mark.parametrize("mode", ["error", "rate_limit", "drop"])
def test_outages_become_gateway_unavailable(family, mode, phonepe, settings):
    with pytest.raises(GatewayNotFound):  # a first call (v2: fetches the token, so the fault hits status)
        get_gateway(family).status("ANY")
    phonepe.set_fault(mode, count=1, routes=["status"])
    with pytest.raises(GatewayUnavailable) as caught:
        get_gateway(family).status("ANY")
    error = caught.value.api_error()
    assert (error.status_code, error.code) == (503, "PAYMENT_GATEWAY_UNAVAILABLE")


def test_slow_phonepe_times_out_within_the_read_timeout(phonepe, settings):
    settings.PHONEPE_READ_TIMEOUT = 0.3
    phonepe.set_fault("slow", count=1, delay=2.0, routes=["status", "token"])
    with pytest.raises(GatewayTimeout):
        get_gateway("v1").status("ANY")


def test_settings_checks_refuse_money_mistakes(settings):
    from payments.apps import check_payment_settings

    assert check_payment_settings() == []
    settings.PHONEPE_API = "v3"
    settings.PAYMENT_LATE_SUCCESS_POLICY = "ignore"
    settings.PAYMENT_QR_EXPIRY_SECONDS = 60
    assert [m.id for m in check_payment_settings()] == ["payments.E001", "payments.E002", "payments.W001"]
