"""Our Rista client against the sandbox: a client bug must fail these tests."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from conftest import RISTA_SECRET as SECRET
from kiosk_project.integrations.rista import RistaClient, RistaRejected, RistaTimeout, RistaUnavailable


def make_client(rista, **overrides) -> RistaClient:
    args = {"base_url": rista.url + "/v1", "api_key": "test-rista-key", "secret_key": SECRET,
            "timeout": (1.0, 1.0)}
    return RistaClient(**{**args, **overrides})


def test_fetch_catalog_with_a_fresh_signed_token_per_request(rista):
    client = make_client(rista)
    assert b'"items"' in client.fetch_catalog(branch="BLR01", channel="Takeaway")
    headers = [client._headers() for _ in range(3)]
    tokens = [jwt.decode(h["x-api-token"], SECRET, algorithms=["HS256"]) for h in headers]
    assert {t["iss"] for t in tokens} == {"test-rista-key"}
    assert len({t["jti"] for t in tokens}) == 3
    assert all(abs(t["iat"] - time.time()) < 5 for t in tokens)


def test_wrong_secret_is_rejected_by_the_sandbox(rista):
    with pytest.raises(RistaRejected) as exc:
        wrong = make_client(rista, secret_key="not-the-secret-but-long-enough-for-hs256")
        wrong.fetch_catalog(branch="BLR01", channel="Takeaway")
    assert exc.value.http_status == 401


def test_wrong_key_is_rejected_by_the_sandbox(rista):
    with pytest.raises(RistaRejected):
        make_client(rista, api_key="nope").fetch_catalog(branch="BLR01", channel="Takeaway")


def test_sandbox_rejects_expired_and_replayed_tokens(rista):
    """The sandbox enforces what real Rista does, so a client that reused tokens would fail here."""
    old = jwt.encode({"iss": "test-rista-key", "iat": int(time.time()) - 3600, "jti": "a"}, SECRET,
                     algorithm="HS256")
    resp = requests.get(rista.url + "/v1/catalog", params={"branch": "BLR01", "channel": "Takeaway"},
                        headers={"x-api-key": "test-rista-key", "x-api-token": old}, timeout=5)
    assert resp.status_code == 401
    token = jwt.encode({"iss": "test-rista-key", "iat": int(time.time()), "jti": "once"}, SECRET,
                       algorithm="HS256")
    sale = {"branchCode": "BLR01", "channel": "Takeaway", "items": [
        {"shortName": "Idli", "skuCode": "9", "quantity": 1, "unitPrice": 70}]}
    first = requests.post(rista.url + "/v1/sale", json=sale, timeout=5,
                          headers={"x-api-key": "test-rista-key", "x-api-token": token})
    assert first.status_code == 201
    replay = requests.post(rista.url + "/v1/sale", json=sale, timeout=5,
                           headers={"x-api-key": "test-rista-key", "x-api-token": token})
    assert replay.status_code == 401


def test_errors_are_translated(rista):
    client = make_client(rista)
    requests.post(rista.url + "/_control/faults", json={"mode": "error", "status": 500, "count": 1}, timeout=5)
    with pytest.raises(RistaUnavailable):
        client.fetch_catalog(branch="BLR01", channel="Takeaway")
    requests.post(rista.url + "/_control/faults", json={"mode": "timeout", "delay": 3, "count": 1}, timeout=5)
    with pytest.raises(RistaTimeout):
        client.fetch_catalog(branch="BLR01", channel="Takeaway")
    with pytest.raises(RistaRejected):
        client.fetch_catalog(branch="NOPE", channel="Takeaway")


def test_sold_out_list(rista):
    requests.post(rista.url + "/_control/items/9", json={"soldOut": True}, timeout=5)
    assert make_client(rista).fetch_sold_out(branch="BLR01") == ["9"]
