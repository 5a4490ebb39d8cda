"""Hostile bodies on every POST endpoint: refused in the envelope by the one parser and the one size
limit, never a 500, never a stack trace. The endpoints are found from the URL configuration, so a new
one is covered (or this test says which credentials it needs)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
from django.conf import settings
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver

from kiosk_project.core.middleware import ApiBodyLimitMiddleware
from kiosk_project.core.parsers import MalformedJSON, loads
from kiosk_project.core.tests.servers import gunicorn

pytestmark = pytest.mark.django_db

HOSTILE = {
    "60,000 open brackets": b"[" * 60000,
    "60,000 open braces": b'{"a":' * 12000,
    "nested just past the limit": b'{"a":' * 21 + b"1" + b"}" * 21,
    "lone surrogate in a value": b'{"order_mode": "\\ud800", "items": []}',
    "lone surrogate in a field name": b'{"\\ud800": 1}',
    "lone low surrogate in a list": b'["ok", "\\udfff"]',
    "reversed surrogate pair": b'{"note": "\\ude00\\ud83d"}',
    "invalid UTF-8": b'{"order_mode": "\xff\xfe"}',
    "NaN": b'{"amount": NaN}',
    "a 5,000-digit integer": b'{"amount": ' + b"9" * 5000 + b"}",
}


def _walk(patterns: list, prefix: str) -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
            if view is not None and hasattr(view, "post"):
                yield "/" + prefix + str(pattern.pattern)


def post_endpoints() -> set[str]:
    return {p for p in _walk(get_resolver().url_patterns, "") if not p.startswith("/admin/")}


@pytest.fixture
def credentials(kiosk, settings) -> dict[str, dict[str, str]]:
    """What each POST endpoint needs to get as far as reading its body."""
    from kds_bridge.payload import CALLBACK_SECRET_HEADER

    settings.PHONEPE_API = "v2"
    v2_auth = hashlib.sha256(f"{settings.PHONEPE_WEBHOOK_USERNAME}:{settings.PHONEPE_WEBHOOK_PASSWORD}".encode())
    kiosk_key = {"HTTP_AUTHORIZATION": f"Kiosk {kiosk[1]}"}
    return {
        "/api/v1/orders": kiosk_key,
        "/api/v1/orders/quote": kiosk_key,
        "/api/v1/orders/<str:order_id>/cancel": kiosk_key,  # the body is read before the id is looked up
        "/api/v1/payment/initiate": kiosk_key,
        "/api/v1/payment/webhook": {"HTTP_AUTHORIZATION": v2_auth.hexdigest()},
        "/api/v1/catalog/refresh": {"HTTP_X_RISTA_SECRET": settings.RISTA_WEBHOOK_SECRET},
        "/api/v1/kds/webhook": {"HTTP_" + CALLBACK_SECRET_HEADER.upper().replace("-", "_"):
                                settings.KDS_WEBHOOK_SECRET},
    }


def assert_envelope(resp, status: int, code: str | None = None) -> None:
    assert resp.status_code == status, (resp.status_code, resp.content[:300])
    error = resp.json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code:
        assert error["code"] == code
    assert "Traceback" not in resp.content.decode("utf-8", "replace")


def test_every_post_endpoint_is_listed(credentials):
    assert post_endpoints() == set(credentials), "a new POST endpoint: add the credentials it needs above"


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_json_is_400_in_the_envelope_everywhere(name, credentials, caplog):
    client = Client(raise_request_exception=False)
    for path, headers in credentials.items():
        resp = client.generic("POST", path, HOSTILE[name], content_type="application/json", **headers)
        assert_envelope(resp, 400, "MALFORMED_REQUEST")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_hostile_json_without_credentials_is_refused_before_it_is_read(credentials):
    client = Client(raise_request_exception=False)
    for path in credentials:
        resp = client.generic("POST", path, b"[" * 60000, content_type="application/json")
        assert resp.status_code in (400, 401), (path, resp.status_code)  # never parsed for a stranger but v1's
        assert "error" in resp.json()


@pytest.mark.parametrize("name", ["60,000 open brackets", "lone surrogate in a value",
                                  "lone surrogate in a field name"])
def test_the_phonepe_v1_path_refuses_hostile_json_inside_the_signed_base64(name, settings):
    """v1 carries its JSON as base64 inside a JSON envelope: the outer and the inner go through one parser."""
    settings.PHONEPE_API = "v1"
    inner = base64.b64encode(HOSTILE[name][:40000]).decode()  # base64 grows it by a third: stay under the limit
    x_verify = hashlib.sha256((inner + settings.PHONEPE_SALT_KEY).encode()).hexdigest() + "###1"
    client = Client(raise_request_exception=False)
    signed = client.post("/api/v1/payment/webhook", json.dumps({"response": inner}), content_type="application/json",
                         HTTP_X_VERIFY=x_verify)
    assert_envelope(signed, 400, "MALFORMED_REQUEST")
    outer = client.generic("POST", "/api/v1/payment/webhook", HOSTILE[name], content_type="application/json",
                           HTTP_X_VERIFY=x_verify)
    assert_envelope(outer, 400, "MALFORMED_REQUEST")


def test_oversized_bodies_are_413_before_anything_reads_them(credentials):
    too_big = b'{"pad": "' + b"x" * settings.API_MAX_BODY_BYTES + b'"}'
    client = Client(raise_request_exception=False)
    for path, headers in credentials.items():
        assert_envelope(client.generic("POST", path, too_big, content_type="application/json", **headers), 413,
                        "PAYLOAD_TOO_LARGE")
        assert_envelope(client.generic("POST", path, too_big, content_type="application/json"), 413)


def test_a_chunked_body_the_server_did_not_dechunk_is_411():
    request = RequestFactory().post("/api/v1/kds/webhook", data=b"{}", content_type="application/json")
    del request.META["CONTENT_LENGTH"]
    request.META["HTTP_TRANSFER_ENCODING"] = "chunked"
    resp = ApiBodyLimitMiddleware(lambda r: HttpResponse("read"))(request)
    assert resp.status_code == 411 and json.loads(resp.content)["error"]["code"] == "LENGTH_REQUIRED"


def test_the_parser_keeps_what_is_valid():
    valid = loads(b'{"note": "\\ud83d\\ude00 dosa", "amount": 324.50}')  # a surrogate *pair* is one emoji
    assert valid == {"note": "\U0001f600 dosa", "amount": Decimal("324.50")}
    assert loads('["[not nested]", "{", "\\"["]') == ["[not nested]", "{", '"[']  # brackets inside strings
    assert loads(b'{"a":' * 20 + b"1" + b"}" * 20) is not None  # exactly at the limit
    with pytest.raises(MalformedJSON):
        loads(b"")


# -- under gunicorn: chunked bodies without Content-Length -----------------------------------------------


def _chunks(data: bytes, size: int = 8192) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def test_chunked_bodies_are_limited_and_read_under_gunicorn(credentials, tmp_path):
    from kds_bridge.payload import CALLBACK_SECRET_HEADER

    kds = {CALLBACK_SECRET_HEADER: settings.KDS_WEBHOOK_SECRET, "Content-Type": "application/json"}
    with gunicorn(log_path=tmp_path / "gunicorn.log") as url:
        for path in credentials:
            resp = requests.post(url + path, data=_chunks(b"[" * (settings.API_MAX_BODY_BYTES + 10)),
                                 headers={"Content-Type": "application/json"}, timeout=30)
            assert_envelope(resp, 413, "PAYLOAD_TOO_LARGE")
        # Under the limit, a chunked body reaches the one parser...
        hostile = requests.post(url + "/api/v1/kds/webhook", data=_chunks(b"[" * 60000), headers=kds, timeout=30)
        assert_envelope(hostile, 400, "MALFORMED_REQUEST")
        # ...and a good one is read whole (Django alone would have read it as empty).
        body = json.dumps({"type": "menu.other", "data": {"invoiceNumber": "INV1", "status": "Accepted"}}).encode()
        ok = requests.post(url + "/api/v1/kds/webhook", data=_chunks(body, 16), headers=kds, timeout=30)
        assert (ok.status_code, ok.json()) == (200, {"result": "ignored_type"})
    assert b"Traceback" not in (tmp_path / "gunicorn.log").read_bytes()
