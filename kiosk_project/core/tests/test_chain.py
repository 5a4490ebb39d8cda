"""One deployment, two branches (BLR01 and MYS01) on one Rista account: menus by the kiosk's branch,
order numbers, invoice series and business days per branch, webhooks routed by branchCode, commands
over every branch, and one branch closing without closing the other."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from io import StringIO
from itertools import pairwise

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from catalog.services import catalog_refresh, catalog_refresh_schedule
from catalog.tests.test_catalog_api import catalog_calls, run_tasks_now  # noqa: F401 (run_tasks_now: fixture)
from catalog.tests.test_fastpath import app, call  # noqa: F401 (app: the fast path in front of Django)
from conftest import RISTA_WEBHOOK_SECRET, WORKED_EXAMPLE
from kiosk_project.core.branches import branch_config, branches_changed
from kiosk_project.core.kiosk_auth import forget_cached_keys
from kiosk_project.core.models import Branch, KioskDevice
from orders.models import Order
from orders.numbers import business_day
from orders.seller import seller_for
from payments.confirmation import order_confirm_paid

pytestmark = pytest.mark.django_db


def _kiosk_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Kiosk {key}")
    return client


def _price_in(rista, branch: str, sku: str, price: int) -> None:
    answer = requests.post(f"{rista.url}/_control/items/{sku}", json={"price": price, "branch": branch}, timeout=5)
    assert answer.status_code == 200, answer.text


def _price_of(menu: dict, sku: str) -> float:
    return next(item["price"] for item in menu["items"] if item["skuCode"] == sku)


@pytest.fixture
def chain_menus(rista_chain, settings):
    _price_in(rista_chain, "MYS01", "1", 95)  # Mysuru sells the Benne Dose for less
    return {code: catalog_refresh(branch=code, channel="Takeaway") for code in ("BLR01", "MYS01")}


def test_each_kiosk_gets_its_own_branch_menu(kiosk, mysuru_kiosk, chain_menus):
    forget_cached_keys()
    bengaluru = json.loads(_kiosk_client(kiosk[1]).get("/api/v1/catalog").content)
    mysuru = json.loads(_kiosk_client(mysuru_kiosk[1]).get("/api/v1/catalog").content)
    assert (_price_of(bengaluru, "1"), _price_of(mysuru, "1")) == (110, 95)
    public = json.loads(Client().get("/api/v1/catalog", {"branch": "MYS01"}).content)  # a public menu names it
    assert _price_of(public, "1") == 95
    # A kiosk key decides over ?branch=: a Mysuru kiosk cannot read (or price from) Bengaluru's menu.
    assert _price_of(json.loads(_kiosk_client(mysuru_kiosk[1]).get("/api/v1/catalog", {"branch": "BLR01"})
                                .content), "1") == 95


def test_an_unknown_branch_is_404_and_never_reaches_rista(rista_chain):
    answer = Client().get("/api/v1/catalog", {"branch": "NOPE01"})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "BRANCH_NOT_FOUND"
    assert Client().get("/api/v1/catalog", {"branch": "../../x"}).status_code == 404
    assert catalog_calls(rista_chain) == 0


def test_a_channel_one_branch_has_is_unknown_at_the_other(mysuru_kiosk, chain_menus):
    forget_cached_keys()
    answer = _kiosk_client(mysuru_kiosk[1]).get("/api/v1/catalog", {"channel": "Dine In"})
    assert answer.status_code == 404 and answer.json()["error"]["details"]["channels"] == ["Takeaway"]


def test_the_fast_path_serves_each_kiosk_its_branch_from_memory(app, kiosk, mysuru_kiosk, chain_menus,  # noqa: F811
                                                                django_assert_num_queries):
    fast, inner = app
    forget_cached_keys()
    for key in (kiosk[1], mysuru_kiosk[1]):  # the first request of each key goes to Django, which learns it
        call(fast, HTTP_AUTHORIZATION=f"Kiosk {key}")
    before = inner.calls
    with django_assert_num_queries(0):
        _, _, bengaluru = call(fast, HTTP_AUTHORIZATION=f"Kiosk {kiosk[1]}")
        _, headers, mysuru = call(fast, HTTP_AUTHORIZATION=f"Kiosk {mysuru_kiosk[1]}")
    assert inner.calls == before  # both answered without Django
    assert (_price_of(json.loads(bengaluru), "1"), _price_of(json.loads(mysuru), "1")) == (110, 95)
    assert headers["ETag"] == chain_menus["MYS01"].etag and "Authorization" in headers["Vary"]
    status, _, _ = call(fast, HTTP_AUTHORIZATION="Kiosk kk_00112233_" + "x" * 43)  # unknown: Django says 401
    assert status == 401


def test_orders_numbers_and_invoices_are_per_branch(kiosk, mysuru_kiosk, chain_menus,
                                                    django_capture_on_commit_callbacks):
    forget_cached_keys()
    placed = {name: client.post("/api/v1/orders", WORKED_EXAMPLE, format="json").json()
              for name, client in (("BLR01", _kiosk_client(kiosk[1])), ("MYS01", _kiosk_client(mysuru_kiosk[1])))}
    assert {code: (o["order_number"], o["total_amount_include_tax"]) for code, o in placed.items()} == {
        "BLR01": ("K001", 324.5), "MYS01": ("K001", 293.0)}  # 2 x 95 + 70 = 260, + 5% GST 13, + PC 20
    with django_capture_on_commit_callbacks(), transaction.atomic():
        for code, order in placed.items():
            assert order_confirm_paid(order_id=order["order_id"], actor="test", payment_reference=f"ref-{code}",
                                      amount=order["total_amount_include_tax"])
    stored = {o.branch_code: o for o in Order.objects.all()}
    year = stored["BLR01"].invoice_financial_year
    assert stored["BLR01"].invoice_number == f"BLR1/{year[2:4]}{year[5:7]}/1"
    assert stored["MYS01"].invoice_number == f"MYS1/{year[2:4]}{year[5:7]}/1"
    assert (seller_for("MYS01").legal_name, seller_for("MYS01").gstin) == ("Mysuru Dosa House LLP",
                                                                           "29AABCM1234E1Z5")
    assert seller_for("BLR01").legal_name == "Test Dosa House Private Limited"


def test_business_days_follow_the_branch_time_zone_and_start_hour(rista_chain, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        Branch.objects.filter(code="MYS01").update(time_zone="America/New_York", business_day_start_hour=6)
    branches_changed("MYS01")
    instant = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # 15:30 in Bengaluru, 05:00 in New York
    assert business_day(instant, branch_config("BLR01")) == date(2026, 11, 30)
    assert business_day(instant, branch_config("MYS01")) == date(2026, 11, 29)  # before 06:00 there


def test_the_menu_webhook_refreshes_the_branch_it_names(rista_chain, chain_menus, run_tasks_now):  # noqa: F811
    _price_in(rista_chain, "MYS01", "1", 99)
    webhook = Client(HTTP_X_RISTA_SECRET=RISTA_WEBHOOK_SECRET)
    answer = webhook.post("/api/v1/catalog/refresh", {"type": "menu.sync", "context": {"branchCode": "MYS01"}},
                          content_type="application/json")
    assert answer.status_code == 202 and answer.json()["queued"] == ["Takeaway"]
    assert _price_of(json.loads(Client().get("/api/v1/catalog", {"branch": "MYS01"}).content), "1") == 99
    assert _price_of(json.loads(Client().get("/api/v1/catalog").content), "1") == 110
    ignored = webhook.post("/api/v1/catalog/refresh", {"type": "menu.sync", "context": {"branchCode": "GOA01"}},
                           content_type="application/json")
    assert ignored.json() == {"queued": [], "already_queued": [], "ignored": "other branch"}


def test_commands_take_branch_and_all(rista_chain, settings):
    out = StringIO()
    call_command("refresh_catalog", "--all", stdout=out)
    assert [line.split()[:2] for line in out.getvalue().splitlines()] == [["BLR01/Takeaway:", "ok"],
                                                                         ["MYS01/Takeaway:", "ok"]]
    out = StringIO()
    call_command("catalog_status", "--branch", "MYS01", stdout=out)
    assert out.getvalue().splitlines()[1].startswith("Takeaway") and " yes " in out.getvalue()
    with pytest.raises(CommandError, match="no branch 'GOA01'"):
        call_command("refresh_catalog", "--branch", "GOA01", stdout=StringIO())
    out = StringIO()
    call_command("create_kiosk", "mysuru-2", "--branch", "MYS01", stdout=out)
    assert KioskDevice.objects.get(name="mysuru-2").branch_code == "MYS01"
    with pytest.raises(CommandError, match="no branch 'GOA01'"):
        call_command("create_kiosk", "goa-1", "--branch", "GOA01", stdout=StringIO())


def test_refreshes_are_spread_over_the_interval(rista_chain, settings):
    settings.KIOSK_CHANNELS = ["Takeaway", "Dine In"]
    for n in range(2, 5):
        Branch.objects.create(code=f"CHN0{n}", display_name=f"Chennai {n}", invoice_prefix=f"CHN{n}")
    schedule = catalog_refresh_schedule(every=300)
    assert [(branch, channel) for _, branch, channel in schedule][:3] == [
        ("BLR01", "Takeaway"), ("BLR01", "Dine In"), ("CHN02", "Takeaway")]
    assert len(schedule) == 2 + 2 * 3 + 1  # every channel of every branch once; MYS01 has one
    delays = [delay for delay, _, _ in schedule]
    assert delays[0] == 0 and delays[-1] < 300
    assert all(abs(b - a - 300 / 9) < 0.01 for a, b in pairwise(delays))


def test_closing_one_branch_leaves_the_other_open(kiosk, mysuru_kiosk, chain_menus):
    forget_cached_keys()
    Branch.objects.filter(code="MYS01").update(is_open=False)
    branches_changed("MYS01")
    refused = _kiosk_client(mysuru_kiosk[1]).post("/api/v1/orders", WORKED_EXAMPLE, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "STORE_CLOSED"
    assert _kiosk_client(kiosk[1]).post("/api/v1/orders", WORKED_EXAMPLE, format="json").status_code == 201
    assert json.loads(Client().get("/api/v1/catalog", {"branch": "MYS01"}).content)["store"]["open"] is False
    assert json.loads(Client().get("/api/v1/catalog").content)["store"]["open"] is True


def test_made_up_branch_codes_are_never_remembered(rista_chain):
    from django.core.cache import cache

    from kiosk_project.core import branches

    for n in range(5):
        assert Client().get("/api/v1/catalog", {"branch": f"FAKE{n}"}).status_code == 404
    assert not [code for code in branches._memory if code.startswith("FAKE")]
    assert cache.get("branch:v1:FAKE0") is None
