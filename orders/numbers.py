"""Short order numbers (K042): per branch, restarting every business day, without races.

One `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` both creates the day's
counter and increments it; the database serialises concurrent callers on the
counter row. It runs in its own autocommit statement, before the order's
transaction, so the row is locked for one statement only. A number whose order
then fails is skipped: numbers are unique, not gapless.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from kiosk_project.core.branches import BranchConfig
from orders.models import OrderNumberCounter

_SQL = (
    "INSERT INTO {table} (branch_code, business_day, last_value) VALUES (%s, %s, 1) "
    "ON CONFLICT (branch_code, business_day) DO UPDATE SET last_value = {table}.last_value + 1 "
    "RETURNING last_value"
)


def business_day(now: datetime | None = None, branch: BranchConfig | None = None) -> date:
    """The trading day an instant belongs to: a 1 a.m. order belongs to the evening before.

    In the branch's time zone from its business-day start hour (no branch: the settings'
    TIME_ZONE and ORDER_BUSINESS_DAY_START_HOUR).
    """
    if branch is None:
        local = timezone.localtime(now or timezone.now())
        return (local - timedelta(hours=settings.ORDER_BUSINESS_DAY_START_HOUR)).date()
    local = (now or timezone.now()).astimezone(branch.tz)
    return (local - timedelta(hours=branch.business_day_start_hour)).date()


def allocate_order_number(*, branch_code: str, day: date) -> int:
    table = connection.ops.quote_name(OrderNumberCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_SQL.format(table=table), [branch_code, day])
        return int(cursor.fetchone()[0])


def format_order_number(prefix: str, value: int) -> str:
    return f"{prefix}{value:03d}"
