"""The sandboxes' shared HTTP layer: answers on a reused keep-alive connection are not held back.

BaseHTTPRequestHandler writes the headers and the body as two segments; on a reused
connection the second one then waits for the client's delayed ACK (Nagle), about 40 ms
on Linux, which inflated every latency measured through a sandbox. httpkit writes each
answer in one piece and sets TCP_NODELAY.

No Django, no database: run with
    .venv/bin/pytest -p no:django -p no:cacheprovider sandbox/tests/test_httpkit.py -q
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from sandbox.httpkit import SandboxServer
from sandbox.phonepe.server import PhonePeSandbox
from sandbox.rista.auth import mint_token
from sandbox.rista.server import RistaSandbox

REQUESTS = 20
# Delayed ACK holds a held-back segment for at least 40 ms on Linux. This bound is far above
# what a sandbox needs to answer (about 1-5 ms here, even on a busy machine) and far below
# the stall, so it tests the socket behaviour, not anyone's speed.
STALL = 0.040


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    """Shadow the root conftest's autouse Redis flush: no Django or Redis here."""


@pytest.fixture(scope="module")
def rista() -> Iterator[RistaSandbox]:
    sb = RistaSandbox().start()
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def phonepe() -> Iterator[PhonePeSandbox]:
    sb = PhonePeSandbox().start()
    yield sb
    sb.stop()


def timed_on_one_connection(sb: SandboxServer, call: Callable[[requests.Session], requests.Response]) -> list[float]:
    """Latencies of REQUESTS calls made on one keep-alive connection (after one warm-up call)."""
    with requests.Session() as session:
        call(session).raise_for_status()  # opens the connection
        latencies = []
        for _ in range(REQUESTS):
            start = time.perf_counter()
            resp = call(session)
            latencies.append(time.perf_counter() - start)
            assert resp.ok, resp.text
        pools = session.get_adapter(sb.url).poolmanager.pools
        opened = sum(pools[key].num_connections for key in pools.keys())  # noqa: SIM118 (not a dict)
        assert opened == 1  # every request reused the one connection
    return latencies


def assert_not_held_back(latencies: list[float]) -> None:
    assert statistics.median(latencies) < STALL / 2, [round(t * 1000, 1) for t in latencies]
    assert sum(latencies) < REQUESTS * STALL / 2


def test_rista_small_answers_on_a_reused_connection(rista: RistaSandbox) -> None:
    assert_not_held_back(timed_on_one_connection(rista, lambda s: s.get(rista.url + "/_control/stats", timeout=5)))


def test_rista_catalog_and_sale_posts_on_a_reused_connection(rista: RistaSandbox) -> None:
    rista.reset()

    def catalog(session: requests.Session) -> requests.Response:  # 25 KB: several segments
        headers = {"x-api-key": rista.api_key, "x-api-token": mint_token(rista.api_key, rista.secret_key)}
        return session.get(rista.url + "/v1/catalog", params={"branch": rista.branch, "channel": "Takeaway"},
                           headers=headers, timeout=5)

    def sale(session: requests.Session) -> requests.Response:
        headers = {"x-api-key": rista.api_key, "x-api-token": mint_token(rista.api_key, rista.secret_key)}
        body = {"branchCode": rista.branch, "channel": "Takeaway",
                "items": [{"shortName": "Idli Chutney", "skuCode": "9", "quantity": 1, "unitPrice": 70}]}
        return session.post(rista.url + "/v1/sale", json=body, headers=headers, timeout=5)

    assert_not_held_back(timed_on_one_connection(rista, catalog))
    assert_not_held_back(timed_on_one_connection(rista, sale))


def test_phonepe_answers_on_a_reused_connection(phonepe: PhonePeSandbox) -> None:
    assert_not_held_back(timed_on_one_connection(
        phonepe, lambda s: s.get(phonepe.url + "/_control/config", timeout=5)))
    form = {"client_id": phonepe.config.client_id, "client_secret": phonepe.config.client_secret,
            "client_version": phonepe.config.client_version, "grant_type": "client_credentials"}
    assert_not_held_back(timed_on_one_connection(
        phonepe, lambda s: s.post(phonepe.url + "/v1/oauth/token", data=form, timeout=5)))


def test_an_answer_carries_its_length_and_the_connection_stays_open(rista: RistaSandbox) -> None:
    with requests.Session() as session:
        first = session.get(rista.url + "/_control/stats", timeout=5)
        second = session.get(rista.url + "/_control/nope", timeout=5)
    assert first.status_code == 200 and int(first.headers["Content-Length"]) == len(first.content)
    assert first.headers["Content-Type"] == "application/json" and first.headers["Date"]
    assert second.status_code == 404 and second.json() == {"message": "no route for GET /_control/nope"}
    assert "close" not in second.headers.get("Connection", "")
