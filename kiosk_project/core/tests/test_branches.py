"""Branches as data: the default branch from the settings, create_branch, validation, opening hours,
and a closed store (STORE_CLOSED on new orders, the menu's store block and ETag; paid orders unaffected)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from conftest import WORKED_EXAMPLE
from kiosk_project.core.branch_rules import parse_hours, window_at
from kiosk_project.core.branches import branch_config, branches_changed
from kiosk_project.core.models import Branch
from orders.models import Order

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")


def _ist(*args: int) -> datetime:
    return datetime(*args, tzinfo=IST)


def _close(code: str = "BLR01", **fields) -> None:
    Branch.objects.filter(code=code).update(**({"is_open": False} | fields))
    branches_changed(code)  # a queryset update sends no signal; the test does what BRANCH_CACHE_SECONDS would


# --- the default branch --------------------------------------------------------------------------------
def test_the_first_run_branch_is_blank_and_follows_the_settings(settings):
    row = Branch.objects.get(code=settings.KIOSK_BRANCH_CODE)  # the data migration's
    assert (row.channels, row.time_zone, row.legal_name, row.is_open) == ([], "", "", True)
    settings.KIOSK_CHANNELS = ["Takeaway", "Dine In"]
    config = branch_config()
    assert config.channels == ("Takeaway", "Dine In") and config.default_channel == "Takeaway"
    assert config.time_zone == "Asia/Kolkata" and config.business_day_start_hour == 4
    assert config.legal_name == settings.RESTAURANT_LEGAL_NAME and config.invoice_prefix == settings.INVOICE_PREFIX
    assert config.order_modes == ("takeaway", "dine_in") and config.order_expiry_seconds == 900
    assert config.store_status().as_dict() == {"open": True, "next_open_at": None, "closes_at": None}


def test_a_field_filled_in_wins_over_the_setting(settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        row = Branch.objects.get(code="BLR01")
        row.legal_name, row.order_expiry_seconds, row.enabled_order_modes = "Chain Foods Pvt Ltd", 300, ["takeaway"]
        row.save()
    config = branch_config("BLR01")
    assert (config.legal_name, config.order_expiry_seconds, config.order_modes) == (
        "Chain Foods Pvt Ltd", 300, ("takeaway",))


def test_the_default_branch_is_made_again_when_missing(settings):
    Branch.objects.all().delete()
    branches_changed(settings.KIOSK_BRANCH_CODE)
    assert branch_config().exists
    assert Branch.objects.get().code == settings.KIOSK_BRANCH_CODE


# --- create_branch and validation ---------------------------------------------------------------------
def test_create_branch_makes_a_branch_with_its_own_invoice_series():
    out = StringIO()
    call_command("create_branch", "MYS01", "--name", "Mysuru", "--channels", "Takeaway",
                 "--hours", '{"mon": ["07:00-22:30"]}', "--time-zone", "Asia/Kolkata", stdout=out)
    assert "Branch MYS01 (Mysuru), invoices MYS0/" in out.getvalue()
    config = branch_config("MYS01")
    assert (config.channels, config.invoice_prefix, config.display_name) == (("Takeaway",), "MYS0", "Mysuru")
    with pytest.raises(CommandError, match="exists"):
        call_command("create_branch", "MYS01", "--name", "again", stdout=StringIO())


@pytest.mark.parametrize("args, problem", [
    (["--hours", '{"monday": ["07:00-22:00"]}'], "opening_hours: unknown weekday"),
    (["--hours", '{"mon": ["7-22"]}'], "opening_hours: mon: '7-22' is not HH:MM-HH:MM"),
    (["--time-zone", "Mars/Olympus"], "time_zone: unknown time zone"),
    (["--modes", "delivery"], "enabled_order_modes"),
    (["--invoice-prefix", "TOO-LONG"], "invoice_prefix"),
    (["--gstin", "29AAB"], "gstin: not a valid GSTIN"),
])
def test_create_branch_refuses_what_the_admin_refuses(args, problem):
    with pytest.raises(CommandError, match=problem):
        call_command("create_branch", "BAD01", "--name", "Bad", *args, stdout=StringIO())
    assert not Branch.objects.filter(code="BAD01").exists()


def test_invoice_prefixes_are_unique_per_branch():
    Branch.objects.create(code="MYS01", display_name="Mysuru", invoice_prefix="MYS1")
    with pytest.raises(ValidationError, match="Another branch has this invoice prefix"):
        Branch(code="MYS02", display_name="Mysuru 2", invoice_prefix="MYS1").full_clean()


# --- opening hours ---------------------------------------------------------------------------------------
HOURS = parse_hours({"mon": ["07:00-15:00", "18:00-23:30"], "fri": ["18:00-02:00"], "sat": ["00:00-24:00"]})


@pytest.mark.parametrize("now, expected", [
    (_ist(2026, 11, 30, 8, 0), (True, _ist(2026, 11, 30, 15, 0), None)),  # Monday morning
    (_ist(2026, 11, 30, 16, 0), (False, None, _ist(2026, 11, 30, 18, 0))),  # between the two openings
    (_ist(2026, 11, 30, 23, 30), (False, None, _ist(2026, 12, 4, 18, 0))),  # Monday night: Friday's next
    # Friday's late opening runs into Saturday's all-day one: one opening, closing Sunday 00:00.
    (_ist(2026, 12, 4, 23, 0), (True, _ist(2026, 12, 6, 0, 0), None)),
    (_ist(2026, 12, 6, 10, 0), (False, None, _ist(2026, 12, 7, 7, 0))),  # Sunday: closed all day
])
def test_opening_hours_in_the_branch_time_zone(now, expected):
    window = window_at(HOURS, IST, now.astimezone(UTC))
    assert (window.open, window.closes_at, window.next_open_at) == expected


# --- a closed store -----------------------------------------------------------------------------------
def test_a_switched_off_branch_refuses_new_orders_and_still_quotes(kiosk_client, menu):
    _close()
    placed = kiosk_client.post("/api/v1/orders", WORKED_EXAMPLE, format="json")
    assert placed.status_code == 409
    error = placed.json()["error"]
    assert error["code"] == "STORE_CLOSED"
    assert error["details"] == {"branch": "BLR01", "open": False, "next_open_at": None, "closes_at": None}
    assert Order.objects.count() == 0
    # A quote changes nothing: a customer finishing a cart at closing time still sees the prices.
    assert kiosk_client.post("/api/v1/orders/quote", WORKED_EXAMPLE, format="json").status_code == 200


def test_outside_its_hours_the_answer_says_when_it_opens(kiosk_client, menu):
    every_day_at_dawn = {day: ["05:00-05:01"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    Branch.objects.filter(code="BLR01").update(opening_hours=every_day_at_dawn)
    branches_changed("BLR01")
    status = branch_config("BLR01").store_status()
    if status.open:  # the one minute a day this test cannot run in
        pytest.skip("ran at 05:00 IST")
    error = kiosk_client.post("/api/v1/orders", WORKED_EXAMPLE, format="json").json()["error"]
    assert error["code"] == "STORE_CLOSED"
    opens = datetime.fromisoformat(error["details"]["next_open_at"])
    assert opens.utcoffset() is not None and error["details"]["next_open_at"].endswith("+05:30")
    assert opens.astimezone(IST).strftime("%H:%M") == "05:00"


def test_an_order_placed_before_closing_can_still_be_paid(kiosk_client, place_order, phonepe):
    order = place_order()
    _close()
    paid = kiosk_client.post("/api/v1/payment/initiate", {"order_id": order["order_id"],
                                                           "amount": order["total_amount_include_tax"]},
                             format="json")
    assert paid.status_code == 201, paid.content


def test_the_menu_says_whether_the_store_is_open_and_its_etag_changes(menu):
    client = Client()
    opened = client.get("/api/v1/catalog")
    assert json.loads(opened.content)["store"] == {"open": True, "next_open_at": None, "closes_at": None}
    assert opened["ETag"] == menu.etag  # simply open: the catalog's own ETag
    _close()
    closed = client.get("/api/v1/catalog", HTTP_IF_NONE_MATCH=opened["ETag"])
    assert closed.status_code == 200 and closed["ETag"] != opened["ETag"]
    assert json.loads(closed.content)["store"] == {"open": False, "next_open_at": None, "closes_at": None}
    assert json.loads(closed.content)["items"] == json.loads(opened.content)["items"]
    assert client.get("/api/v1/catalog", HTTP_IF_NONE_MATCH=closed["ETag"]).status_code == 304
