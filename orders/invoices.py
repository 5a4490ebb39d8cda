"""GST tax invoice numbers: consecutive per branch and financial year, allocated without races or gaps.

Rule 46(b) of the CGST Rules asks for "a consecutive serial number not
exceeding sixteen characters ... unique for a financial year". The number is
given when the order is confirmed (paid), inside the confirming transaction:
the counter row is created or incremented by one `INSERT ... ON CONFLICT DO
UPDATE ... RETURNING`, and its row lock is held until that transaction ends, so
concurrent confirmations queue for a moment (the transaction does no network
I/O) and a rolled-back confirmation gives its number back: no gaps, no repeats.
Order numbers (orders.numbers) are the opposite trade-off: taken in their own
statement, so they may skip but never wait.

Numbers look like BLR1/2526/42: the branch's invoice prefix (INVOICE_PREFIX, at
most four characters), the financial year (April to March, 2025-26 -> 2526),
the serial; at most 16 characters up to a million invoices a year. The year is the
branch's, in its time zone.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from kiosk_project.core.branches import branch_config
from orders.models import InvoiceCounter, Order
from orders.seller import seller_of

_SQL = (
    "INSERT INTO {table} (branch_code, financial_year, last_value) VALUES (%s, %s, 1) "
    "ON CONFLICT (branch_code, financial_year) DO UPDATE SET last_value = {table}.last_value + 1 "
    "RETURNING last_value"
)


def financial_year(day: date) -> str:
    """India's financial year of a date: 2025-04-01 .. 2026-03-31 -> "2025-26"."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def format_invoice_number(*, prefix: str, year: str, serial: int) -> str:
    return f"{prefix}/{year[2:4]}{year[5:7]}/{serial}"


def invoice_assign(*, order_id: Any) -> str:
    """Give a just-confirmed order its tax invoice number; idempotent (an invoiced order keeps its own).

    Must run inside the transaction that confirms the order (order_confirm_paid):
    the counter's row lock, held to the end of it, is what keeps the series gapless.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("invoice_assign must run inside the order-confirming transaction")
    order = Order.objects.only("branch_code", "invoice_number", "confirmed_at").get(pk=order_id)
    if order.invoice_number:
        return order.invoice_number
    issued_at = order.confirmed_at or timezone.now()
    branch = branch_config(order.branch_code)
    year = financial_year(issued_at.astimezone(branch.tz).date())  # the branch's calendar, not the server's
    table = connection.ops.quote_name(InvoiceCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_SQL.format(table=table), [order.branch_code, year])
        serial = int(cursor.fetchone()[0])
    number = format_invoice_number(prefix=seller_of(branch).invoice_prefix, year=year, serial=serial)
    Order.objects.filter(pk=order_id).update(invoice_number=number, invoice_serial=serial,
                                             invoice_financial_year=year, invoiced_at=issued_at)
    return number
