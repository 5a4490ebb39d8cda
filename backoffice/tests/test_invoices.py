"""Tax invoice numbers: consecutive per branch and financial year, one per paid order, none for unpaid."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from kds_bridge.tests.conftest import confirm
from orders.invoices import financial_year, format_invoice_number
from orders.models import Order
from testing.waiting import run_together

pytestmark = pytest.mark.django_db


def test_financial_years_run_april_to_march():
    assert financial_year(date(2026, 3, 31)) == "2025-26"
    assert financial_year(date(2026, 4, 1)) == "2026-27"
    assert format_invoice_number(prefix="BLR1", year="2025-26", serial=42) == "BLR1/2526/42"
    assert len(format_invoice_number(prefix="BLR1", year="2025-26", serial=999999)) <= 16


def test_each_paid_order_gets_the_next_number_and_unpaid_ones_none(scenes):
    first, unpaid, second = scenes.paid(), scenes.failed_payment(), scenes.paid()
    assert unpaid.invoice_number == ""
    assert (first.invoice_serial, second.invoice_serial) == (1, 2)
    assert first.invoice_number.endswith("/1") and second.invoice_number.endswith("/2")
    assert first.invoice_financial_year == financial_year(first.invoiced_at.date())


@pytest.mark.django_db(transaction=True)
def test_concurrent_confirmations_get_distinct_consecutive_numbers(place_order):
    ids = [place_order()["order_id"] for _ in range(6)]
    results = run_together([lambda order_id=order_id: confirm(order_id) for order_id in ids])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(Order.objects.values_list("invoice_serial", flat=True)) == [1, 2, 3, 4, 5, 6]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_confirmation_gives_its_number_back(place_order):
    from orders.invoices import invoice_assign

    order_id = place_order()["order_id"]
    with pytest.raises(RuntimeError), transaction.atomic():
        Order.objects.filter(pk=order_id).update(confirmed_at="2026-01-01T10:00:00+05:30")
        invoice_assign(order_id=order_id)
        raise RuntimeError("the payment's transaction failed")
    assert confirm(order_id)
    assert Order.objects.get(pk=order_id).invoice_serial == 1
