"""Shared fixtures: sandboxes as real HTTP servers, settings pointed at them, clean Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

# Shared fixtures for every test directory (a test module never imports fixtures from another one):
# the test broker, real Celery worker and beat processes, a private Redis (testing/realworker.py).
from testing.realworker import broker, celery_procs, private_redis, start_worker  # noqa: F401

RISTA_API_KEY = "test-rista-key"
RISTA_SECRET = "test-rista-secret-0123456789abcdefghij"
RISTA_WEBHOOK_SECRET = "test-rista-webhook-secret"


@pytest.fixture(scope="session")
def rista_server() -> Iterator:
    from sandbox.rista.server import RistaSandbox

    server = RistaSandbox(port=0, api_key=RISTA_API_KEY, secret_key=RISTA_SECRET,
                          branch=django_settings.KIOSK_BRANCH_CODE, webhook_secret=RISTA_WEBHOOK_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def rista(rista_server, settings) -> Iterator:
    """The Rista sandbox, pristine for each test, with our settings pointing at it."""
    from kiosk_project.integrations.rista import get_client

    rista_server.reset()
    settings.RISTA_BASE_URL = rista_server.url + "/v1"
    settings.RISTA_API_KEY = RISTA_API_KEY
    settings.RISTA_SECRET_KEY = RISTA_SECRET
    settings.RISTA_WEBHOOK_SECRET = RISTA_WEBHOOK_SECRET
    get_client.cache_clear()
    yield rista_server
    get_client.cache_clear()


@pytest.fixture(scope="session")
def rista_chain_server() -> Iterator:
    """A Rista account with two branches: BLR01 (Takeaway, Dine In) and MYS01 (Takeaway only)."""
    from sandbox.rista.server import RistaSandbox

    server = RistaSandbox(port=0, api_key=RISTA_API_KEY, secret_key=RISTA_SECRET, branch=["BLR01", "MYS01"],
                          branch_channels={"MYS01": ["Takeaway"]}, webhook_secret=RISTA_WEBHOOK_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def rista_chain(rista_chain_server, settings, db) -> Iterator:
    """The two-branch sandbox, pristine, our settings pointing at it, and MYS01 as a branch row."""
    from kiosk_project.core.branches import branch_create
    from kiosk_project.integrations.rista import get_client

    rista_chain_server.reset()
    settings.RISTA_BASE_URL = rista_chain_server.url + "/v1"
    settings.RISTA_API_KEY = RISTA_API_KEY
    settings.RISTA_SECRET_KEY = RISTA_SECRET
    settings.RISTA_WEBHOOK_SECRET = RISTA_WEBHOOK_SECRET
    get_client.cache_clear()
    branch_create(code="MYS01", display_name="Mysuru", channels=["Takeaway"], invoice_prefix="MYS1",
                  legal_name="Mysuru Dosa House LLP", address="Kuvempunagar | Mysuru 570023",
                  gstin="29AABCM1234E1Z5")
    yield rista_chain_server
    get_client.cache_clear()


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Each test starts with an empty Redis (the suite owns its Redis database), and with the database
    breaker closed (an outage test may have tripped it: kiosk_project.core.db), and with no branch
    remembered by this process (another test's closed branch must not close this one's)."""
    if django_settings.configured:  # sandbox tests also run without Django (-p no:django)
        from kiosk_project.core.branches import branches_changed
        from kiosk_project.core.db.base import breaker

        breaker.reset()
        cache.clear()
        branches_changed()
    yield


PHONEPE_CLIENT_ID = "TESTCLIENT"
PHONEPE_CLIENT_SECRET = "test-phonepe-client-secret"
PHONEPE_WEBHOOK_USERNAME = "test-webhook-user"
PHONEPE_WEBHOOK_PASSWORD = "test-webhook-password"
PHONEPE_MERCHANT_ID = "PGTESTPAYUAT"
PHONEPE_SALT_KEY = "099eb0cd-02cf-4e2a-8aca-3e6c6aff0399"


@pytest.fixture(scope="session")
def phonepe_server() -> Iterator:
    from sandbox.phonepe.server import PhonePeSandbox

    server = PhonePeSandbox(port=0, client_id=PHONEPE_CLIENT_ID, client_secret=PHONEPE_CLIENT_SECRET,
                            merchant_id=PHONEPE_MERCHANT_ID, salt_keys={1: PHONEPE_SALT_KEY},
                            webhook_username=PHONEPE_WEBHOOK_USERNAME, webhook_password=PHONEPE_WEBHOOK_PASSWORD,
                            refund_delay=0.2).start()
    yield server
    server.stop()


@pytest.fixture
def phonepe(phonepe_server, settings) -> Iterator:
    """The PhonePe sandbox, pristine for each test, with our settings pointing at it.

    Its webhook URL is unset: tests that want callbacks delivered point it at a
    live server (`phonepe.config.webhook_url = live_server.url + ...`) themselves.
    """
    phonepe_server.reset()
    settings.PHONEPE_BASE_URL = phonepe_server.url
    settings.PHONEPE_OAUTH_URL = phonepe_server.url
    settings.PHONEPE_CLIENT_ID = PHONEPE_CLIENT_ID
    settings.PHONEPE_CLIENT_SECRET = PHONEPE_CLIENT_SECRET
    settings.PHONEPE_WEBHOOK_USERNAME = PHONEPE_WEBHOOK_USERNAME
    settings.PHONEPE_WEBHOOK_PASSWORD = PHONEPE_WEBHOOK_PASSWORD
    settings.PHONEPE_MERCHANT_ID = PHONEPE_MERCHANT_ID
    settings.PHONEPE_SALT_KEY = PHONEPE_SALT_KEY
    settings.PHONEPE_SALT_INDEX = 1
    yield phonepe_server


def _make_kiosk(name: str, **fields):
    from kiosk_project.core.models import KioskDevice

    fields = {"branch_code": django_settings.KIOSK_BRANCH_CODE, **fields}
    device = KioskDevice(name=name, channel=django_settings.KIOSK_DEFAULT_CHANNEL,
                         allowed_order_modes=["takeaway", "dine_in"], **fields)
    key = device.issue_key()
    device.save()
    return device, key


@pytest.fixture
def kiosk(db):
    """A registered kiosk device and its key: (device, key)."""
    from kiosk_project.core.kiosk_auth import forget_cached_keys

    forget_cached_keys()
    return _make_kiosk("kiosk-1")


@pytest.fixture
def other_kiosk(db):
    return _make_kiosk("kiosk-2")


@pytest.fixture
def mysuru_kiosk(rista_chain):
    """A kiosk of branch MYS01 and its key."""
    return _make_kiosk("mysuru-1", branch_code="MYS01")


@pytest.fixture
def kiosk_client(kiosk):
    """A DRF test client that authenticates as `kiosk`."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Kiosk {kiosk[1]}")
    return client


@pytest.fixture
def menu(rista, db):
    """The sample menu fetched from the Rista sandbox into the cache and the snapshot."""
    from catalog.services import catalog_refresh

    return catalog_refresh(branch=django_settings.KIOSK_BRANCH_CODE, channel=django_settings.KIOSK_DEFAULT_CHANNEL)


@pytest.fixture
def dine_in_menu(menu, settings):
    """A branch that has Rista's "Dine In" channel: served, and its menu (the sample) in the cache."""
    from catalog.services import catalog_refresh

    settings.KIOSK_CHANNELS = [settings.KIOSK_DEFAULT_CHANNEL, "Dine In"]
    return catalog_refresh(branch=settings.KIOSK_BRANCH_CODE, channel="Dine In")


WORKED_EXAMPLE = {
    "items": [{"item_sku_id": "1", "quantity": 2}, {"item_sku_id": "9", "quantity": 1}],
    "order_mode": "takeaway",
}


@pytest.fixture
def place_order(kiosk_client, menu):
    """Place the brief's worked example (324.50) and return the response JSON."""

    def place(body: dict | None = None, client=None, **headers) -> dict:
        resp = (client or kiosk_client).post("/api/v1/orders", body or WORKED_EXAMPLE, format="json", **headers)
        assert resp.status_code == 201, resp.content
        return resp.json()

    return place
