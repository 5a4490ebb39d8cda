"""Sales reports for a business day or a range of them: takings, item sales, sales by hour.

Everything is summed from the stored orders (their snapshotted totals, lines
and tax summaries), never recomputed from a catalog, so each figure equals the
sum of the orders it covers to the paisa (backoffice/tests/test_reports.py
checks each against its own sum). A sale is an order that was paid: CONFIRMED,
or REFUNDED afterwards; refunds of those orders are then subtracted. Money that
came in for an order that had already closed (a late or a second payment) is not
a sale: it is listed on its own, with its automatic refund.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from backoffice.labels import mode_label
from kiosk_project.core.branches import branch_config
from orders.models import Order, OrderLine, OrderStatus
from orders.tax_breakdown import TaxBreakdown, tax_breakdown_of_orders
from payments.models import Payment, PaymentStatus, Provider, Refund, RefundStatus

ZERO = Decimal("0.00")
SOLD = (OrderStatus.CONFIRMED, OrderStatus.REFUNDED)
MAX_DAYS = 92
PAYMENT_MODES: dict[str, str] = {Provider.PHONEPE_V2: "UPI (PhonePe)", Provider.PHONEPE_V1: "UPI (PhonePe)"}


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    branch: str  # "" = every branch the user sees

    @property
    def label(self) -> str:
        if self.first == self.last:
            return f"{self.first:%a %d %b %Y}"
        return f"{self.first:%d %b %Y} to {self.last:%d %b %Y}"

    @property
    def slug(self) -> str:
        return f"{self.first:%Y-%m-%d}" if self.first == self.last else f"{self.first:%Y-%m-%d}_{self.last:%Y-%m-%d}"


class BadPeriod(ValueError):
    pass


def period_parse(*, day: str = "", first: str = "", last: str = "", branch: str = "", default: date) -> Period:
    try:
        if day:
            start = end = date.fromisoformat(day)
        elif first or last:
            start = date.fromisoformat(first or last)
            end = date.fromisoformat(last or first)
        else:
            start = end = default
    except ValueError as exc:
        raise BadPeriod("Dates look like 2025-12-01.") from exc
    if end < start:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        raise BadPeriod(f"Choose at most {MAX_DAYS} days at a time.")
    return Period(start, end, branch)


def orders_in(period: Period, orders: QuerySet[Order]) -> QuerySet[Order]:
    found = orders.filter(business_day__gte=period.first, business_day__lte=period.last)
    return found.filter(branch_code=period.branch) if period.branch else found


def sales_in(period: Period, orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders_in(period, orders).filter(status__in=SOLD)


# -- takings -------------------------------------------------------------------------------------------


@dataclass
class ModeRow:
    mode: str
    orders: int
    amount: Decimal


@dataclass
class Takings:
    period: Period
    orders: int = 0
    gross: Decimal = ZERO
    discounts: Decimal = ZERO
    charges: Decimal = ZERO
    taxable_value: Decimal = ZERO
    tax: Decimal = ZERO
    round_off: Decimal = ZERO
    total: Decimal = ZERO
    refunds: Decimal = ZERO
    refunded_orders: int = 0
    refunds_pending: Decimal = ZERO
    net: Decimal = ZERO
    breakdown: TaxBreakdown | None = None
    by_payment_mode: list[ModeRow] = field(default_factory=list)
    by_order_mode: list[ModeRow] = field(default_factory=list)
    closed_order_payments: Decimal = ZERO  # money received that is no sale: late, second or mismatched payments
    closed_order_refunded: Decimal = ZERO

    def rows(self) -> list[tuple[str, Any]]:
        """The report as (label, value) pairs: the CSV and the tests read the same figures."""
        rows: list[tuple[str, Any]] = [
            ("Orders paid", self.orders), ("Gross sales (items and options)", self.gross),
            ("Discounts", self.discounts), ("Charges", self.charges)]
        assert self.breakdown is not None
        for row in self.breakdown.rows:
            rows.append((f"Taxable value @ {row.label}", row.taxable))
            rows += [(f"{tax['name']} @ {tax['percentage']:f}%", tax["amount"]) for tax in row.tax_lines()]
        if self.breakdown.not_taxed:
            rows.append(("Not taxed", self.breakdown.not_taxed))
        rows += [("Taxable value (all rates)", self.taxable_value), ("Total tax", self.tax),
                 ("Round-off", self.round_off), ("Total collected", self.total),
                 ("Refunds completed", self.refunds), ("Orders refunded", self.refunded_orders),
                 ("Refunds still in progress", self.refunds_pending), ("Net takings", self.net)]
        rows += [(f"Paid by {row.mode}", row.amount) for row in self.by_payment_mode]
        rows += [(f"{row.mode} orders", row.amount) for row in self.by_order_mode]
        rows += [("Payments that are not sales (late, extra or under review)", self.closed_order_payments),
                 ("  of which refunded", self.closed_order_refunded)]
        return rows


def takings(period: Period, orders: QuerySet[Order]) -> Takings:
    sales = sales_in(period, orders)
    sums = sales.aggregate(n=Count("id"), gross=Sum("subtotal"), discounts=Sum("discount_total"),
                           charges=Sum("charge_total"), tax=Sum("tax_total"), round_off=Sum("round_off"),
                           total=Sum("total_amount_include_tax"), excl=Sum("total_amount_exclude_tax"))
    report = Takings(period=period, orders=sums["n"] or 0, gross=sums["gross"] or ZERO,
                     discounts=sums["discounts"] or ZERO, charges=sums["charges"] or ZERO, tax=sums["tax"] or ZERO,
                     round_off=sums["round_off"] or ZERO, total=sums["total"] or ZERO)
    report.breakdown = tax_breakdown_of_orders(sales.prefetch_related("lines"))
    report.taxable_value = report.breakdown.taxable_total
    refunds = Refund.objects.filter(payment__order__in=sales, payment__confirmed_order=True)
    done = refunds.filter(status=RefundStatus.COMPLETED).aggregate(s=Sum("amount"), n=Count("payment__order",
                                                                                             distinct=True))
    report.refunds, report.refunded_orders = done["s"] or ZERO, done["n"] or 0
    report.refunds_pending = refunds.filter(status__in=(RefundStatus.CREATED, RefundStatus.PENDING)).aggregate(
        s=Sum("amount"))["s"] or ZERO
    report.net = report.total - report.refunds
    modes: dict[str, ModeRow] = {}
    for row in (Payment.objects.filter(order__in=sales, confirmed_order=True).values("provider")
                .annotate(n=Count("id"), s=Sum("amount")).order_by("provider")):
        name = PAYMENT_MODES.get(row["provider"], row["provider"])
        mode = modes.setdefault(name, ModeRow(name, 0, ZERO))
        mode.orders += row["n"]
        mode.amount += row["s"] or ZERO
    report.by_payment_mode = list(modes.values())
    report.by_order_mode = [ModeRow(mode_label(row["order_mode"]), row["n"], row["s"] or ZERO)
                            for row in sales.values("order_mode").annotate(n=Count("id"),
                                                                          s=Sum("total_amount_include_tax"))
                            .order_by("order_mode")]
    extra = Payment.objects.filter(order__in=orders_in(period, orders), confirmed_order=False,
                                   status__in=(PaymentStatus.SUCCEEDED, PaymentStatus.REFUND_PENDING,
                                               PaymentStatus.REFUNDED, PaymentStatus.NEEDS_REVIEW),
                                   paid_amount__isnull=False)
    report.closed_order_payments = extra.aggregate(s=Sum("paid_amount"))["s"] or ZERO
    report.closed_order_refunded = Refund.objects.filter(payment__in=extra, status=RefundStatus.COMPLETED).aggregate(
        s=Sum("amount"))["s"] or ZERO
    return report


# -- item sales ----------------------------------------------------------------------------------------


@dataclass
class ItemRow:
    sku: str
    name: str
    quantity: int
    gross: Decimal
    discounts: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal


def item_sales(period: Period, orders: QuerySet[Order]) -> list[ItemRow]:
    """Each item sold (options included in its amounts), best sellers by net revenue first."""
    rows = (OrderLine.objects.filter(order__in=sales_in(period, orders)).values("sku", "name")
            .annotate(q=Sum("quantity"), gross=Sum("gross_amount"), discounts=Sum("discount_amount"),
                      net=Sum("net_amount"), tax=Sum("tax_amount"), total=Sum("total_amount"))
            .order_by("-net", "name"))
    return [ItemRow(r["sku"], r["name"], r["q"] or 0, r["gross"] or ZERO, r["discounts"] or ZERO, r["net"] or ZERO,
                    r["tax"] or ZERO, r["total"] or ZERO) for r in rows]


# -- by hour -------------------------------------------------------------------------------------------


@dataclass
class HourRow:
    hour: int  # local hour of day, 0-23
    orders: int
    total: Decimal

    @property
    def label(self) -> str:
        return f"{self.hour:02d}:00"


def sales_by_hour(period: Period, orders: QuerySet[Order]) -> list[HourRow]:
    """Paid orders by the local hour they were placed, in business-day order (04:00 first, 03:00 last).

    One branch's report reads that branch's clock (its time zone and business-day start); the
    consolidated one ("every branch") the deployment's (TIME_ZONE, ORDER_BUSINESS_DAY_START_HOUR)."""
    if period.branch:
        branch = branch_config(period.branch)
        start, zone = branch.business_day_start_hour, branch.tz
    else:
        start, zone = settings.ORDER_BUSINESS_DAY_START_HOUR, timezone.get_current_timezone()
    hours = {h: HourRow(h, 0, ZERO) for h in ((start + i) % 24 for i in range(24))}
    for created_at, total in sales_in(period, orders).values_list("created_at", "total_amount_include_tax"):
        row = hours[created_at.astimezone(zone).hour]
        row.orders += 1
        row.total += total
    return list(hours.values())


# -- CSV -------------------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula (=, +, -, @) is prefixed with ' (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def takings_csv(report: Takings) -> str:
    return csv_text(["figure", "value"], report.rows())


def items_csv(rows: list[ItemRow]) -> str:
    return csv_text(["sku", "item", "quantity", "gross", "discounts", "net", "tax", "total"],
                    [(r.sku, r.name, r.quantity, r.gross, r.discounts, r.net, r.tax, r.total) for r in rows])


def hours_csv(rows: list[HourRow]) -> str:
    return csv_text(["hour", "orders", "total"], [(r.label, r.orders, r.total) for r in rows])


ORDER_COLUMNS = ["business_day", "branch", "order_number", "invoice_number", "status", "kitchen_status",
                 "order_mode", "kiosk", "placed_at", "paid_at", "order_total", "order_tax", "line", "sku", "item",
                 "quantity", "unit_price", "options", "note", "line_gross", "line_discount", "line_net",
                 "line_tax", "line_total"]


def orders_csv(period: Period, orders: QuerySet[Order]) -> str:
    """Every order of the period (any status), one row per line: for the accountant's own sums."""
    rows = []
    found = (orders_in(period, orders).select_related("device").prefetch_related("lines")
             .order_by("business_day", "created_at"))
    for order in found:
        placed = timezone.localtime(order.created_at).isoformat(timespec="seconds")
        paid = timezone.localtime(order.confirmed_at).isoformat(timespec="seconds") if order.confirmed_at else ""
        head = [order.business_day.isoformat(), order.branch_code, order.order_number, order.invoice_number,
                order.status, order.kitchen_status, order.order_mode, order.device.name if order.device else "",
                placed, paid, order.total_amount_include_tax, order.tax_total]
        for line in order.lines.all():
            options = "; ".join(f"{o.get('name')} x{o.get('total_quantity', o.get('quantity', 1))}"
                                for o in line.options or [])
            rows.append([*head, line.position + 1, line.sku, line.name, line.quantity, line.unit_price, options,
                         line.note, line.gross_amount, line.discount_amount, line.net_amount, line.tax_amount,
                         line.total_amount])
    return csv_text(ORDER_COLUMNS, rows)

