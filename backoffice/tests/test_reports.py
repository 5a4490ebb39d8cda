"""Reports: every figure equals the sum of the stored orders it covers, to the paisa."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse

from backoffice.access import orders_visible_to
from backoffice.reports import Period, item_sales, sales_by_hour, takings
from backoffice.selectors import today
from backoffice.tests.conftest import client_for
from orders.models import Order, OrderLine
from orders.tax_breakdown import tax_breakdown
from payments.models import Refund

pytestmark = pytest.mark.django_db

DINE_IN = {"items": [{"item_sku_id": "3", "quantity": 3}, {"item_sku_id": "9", "quantity": 2}], "order_mode": "dine_in"}


@pytest.fixture
def day_of_business(scenes):
    """Takeaway and dine-in sales, one refunded, one late payment refunded, and orders that are not sales."""
    return {"paid": [scenes.paid(), scenes.paid(DINE_IN), scenes.in_kitchen()], "refunded": scenes.refunded(),
            "late": scenes.late_refunded(), "unpaid": [scenes.waiting(), scenes.failed_payment(), scenes.mismatch()]}


def test_takings_equal_the_sum_of_the_orders(day_of_business, accountant):
    sold = Order.objects.filter(status__in=("CONFIRMED", "REFUNDED"))
    assert sold.count() == 4
    report = takings(Period(today(), today(), ""), orders_visible_to(accountant))
    sums = sold.aggregate(gross=Sum("subtotal"), disc=Sum("discount_total"), charges=Sum("charge_total"),
                          tax=Sum("tax_total"), ro=Sum("round_off"), total=Sum("total_amount_include_tax"),
                          excl=Sum("total_amount_exclude_tax"))
    assert report.orders == 4
    assert (report.gross, report.discounts, report.charges, report.tax, report.round_off, report.total) == (
        sums["gross"], sums["disc"], sums["charges"], sums["tax"], sums["ro"], sums["total"])
    # Per rate: taxable value and each tax, from every line; taxable + not taxed = value before tax.
    by_tax: dict = {}
    taxable = not_taxed = Decimal(0)
    for order in sold:
        b = tax_breakdown(order)
        taxable += b.taxable_total
        not_taxed += b.not_taxed
        for key, amount in b.by_tax().items():
            by_tax[key] = by_tax.get(key, Decimal(0)) + amount
    assert report.breakdown.by_tax() == by_tax
    assert report.taxable_value == taxable and report.breakdown.not_taxed == not_taxed
    assert report.taxable_value + report.breakdown.not_taxed == sums["excl"]
    assert report.breakdown.tax_total == report.tax
    assert report.breakdown.not_taxed == Decimal("60.00")  # three takeaway sales x the untaxed PC charge
    refunded = day_of_business["refunded"]
    assert report.refunds == refunded.total_amount_include_tax and report.refunded_orders == 1
    assert report.net == report.total - report.refunds
    assert sum(r.amount for r in report.by_payment_mode) == report.total
    assert sum(r.amount for r in report.by_order_mode) == report.total
    late = Refund.objects.get(payment__order=day_of_business["late"])
    under_review = Decimal("100.00")  # the mismatched payment: money in, but no sale
    assert report.closed_order_payments == late.amount + under_review
    assert report.closed_order_refunded == late.amount


def test_item_sales_and_hours_equal_the_lines(day_of_business, accountant):
    period = Period(today(), today(), "")
    rows = item_sales(period, orders_visible_to(accountant))
    lines = OrderLine.objects.filter(order__status__in=("CONFIRMED", "REFUNDED"))
    for row in rows:
        mine = lines.filter(sku=row.sku).aggregate(q=Sum("quantity"), net=Sum("net_amount"), total=Sum("total_amount"))
        assert (row.quantity, row.net, row.total) == (mine["q"], mine["net"], mine["total"])
    assert sum(r.net for r in rows) == lines.aggregate(s=Sum("net_amount"))["s"]
    hours = sales_by_hour(period, orders_visible_to(accountant))
    assert len(hours) == 24 and sum(h.orders for h in hours) == 4
    assert sum(h.total for h in hours) == takings(period, orders_visible_to(accountant)).total


def test_the_report_page_and_its_csv_downloads(day_of_business, accountant):
    client = client_for(accountant)
    html = client.get(reverse("admin:backoffice_reports")).content.decode()
    assert "Taxable value @ GST 5%" in html and "<svg" in html and "Net takings" in html
    report = takings(Period(today(), today(), ""), orders_visible_to(accountant))
    resp = client.get(reverse("admin:backoffice_report_csv", args=["takings"]), {"day": today().isoformat()})
    assert resp["Content-Type"].startswith("text/csv")
    assert f'filename="takings-{today():%Y-%m-%d}.csv"' in resp["Content-Disposition"]
    figures = dict(csv.reader(io.StringIO(resp.content.decode())))
    assert Decimal(figures["Net takings"]) == report.net and Decimal(figures["Total collected"]) == report.total
    orders = list(csv.DictReader(io.StringIO(client.get(
        reverse("admin:backoffice_report_csv", args=["orders"])).content.decode())))
    assert len(orders) == OrderLine.objects.count()
    assert {row["status"] for row in orders} >= {"CONFIRMED", "REFUNDED", "PENDING", "EXPIRED"}
    for kind in ("items", "hours"):
        assert client.get(reverse("admin:backoffice_report_csv", args=[kind])).status_code == 200
    assert client.get(reverse("admin:backoffice_report_csv", args=["salaries"])).status_code == 404
    assert client.get(reverse("admin:backoffice_reports"), {"day": "yesterday"}).status_code == 200


def test_reports_need_their_permission(day_of_business, shift, branch_manager):
    assert client_for(shift).get(reverse("admin:backoffice_reports")).status_code == 403
    assert client_for(shift).get(reverse("admin:backoffice_report_csv", args=["orders"])).status_code == 403
    assert client_for(branch_manager).get(reverse("admin:backoffice_reports")).status_code == 200


def test_csv_cells_cannot_run_as_formulas():
    from backoffice.reports import csv_text

    text = csv_text(["a"], [["=HYPERLINK(\"x\")"], ["-5"], ["plain"]])
    assert "'=HYPERLINK" in text and "'-5" in text and "plain" in text


def test_a_branch_keeps_its_own_clock_for_today_and_the_hours(rista, chain_owner):
    """A branch in another time zone: its business day and its hourly sales read its clock, the consolidated
    report the deployment's (TIME_ZONE Asia/Kolkata, business day from 04:00)."""
    from datetime import UTC, date, datetime

    from kiosk_project.core.branches import branch_create
    from testing.factories import OrderFactory

    branch_create(code="LON01", display_name="London", channels=["Takeaway"], invoice_prefix="LON1",
                  time_zone="Europe/London", business_day_start_hour=4)
    late_evening = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # 23:00 in London, 04:30 next morning in India
    assert today(late_evening, "LON01") == date(2026, 3, 1)
    assert today(late_evening) == date(2026, 3, 2)

    noon = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # 12:00 in London, 17:30 in India
    order = OrderFactory(confirmed=True)
    Order.objects.filter(pk=order.pk).update(branch_code="LON01", created_at=noon, business_day=date(2026, 3, 1))
    day = date(2026, 3, 1)
    london = {h.hour: h.orders for h in sales_by_hour(Period(day, day, "LON01"), orders_visible_to(chain_owner))}
    everywhere = {h.hour: h.orders for h in sales_by_hour(Period(day, day, ""), orders_visible_to(chain_owner))}
    assert london[12] == 1 and sum(london.values()) == 1
    assert everywhere[17] == 1 and sum(everywhere.values()) == 1
