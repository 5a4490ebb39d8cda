"""Finding orders, the live board and Needs attention: human words, rupees, and no N+1 queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice.access import orders_visible_to
from backoffice.attention import KITCHEN_LATE, KITCHEN_REJECTED, LATE_PAYMENT_REFUNDED, PAYMENT_REVIEW, problems_list
from backoffice.board import board_for
from backoffice.search import order_search
from backoffice.selectors import today
from backoffice.tests.conftest import client_for
from orders.models import Order
from payments.models import Payment

pytestmark = pytest.mark.django_db


def test_search_finds_by_number_reference_utr_and_amount(scenes, shift):
    paid = scenes.paid()
    payment = Payment.objects.get(order=paid)
    assert payment.utr
    for query in (paid.order_number, paid.order_number.lower(), str(int(paid.order_number[1:])),
                  payment.merchant_reference, payment.utr, "324.50", "Rs 324.50", "₹324.5", str(paid.pk)):
        result = order_search(user=shift, query=query)
        assert paid in list(result.orders), query
    assert order_search(user=shift, query=payment.utr).jump_to == paid
    assert order_search(user=shift, query="K999").orders.count() == 0


def test_search_puts_todays_order_first_and_jumps_to_it(scenes, shift):
    old = scenes.paid()
    todays = scenes.paid()
    Order.objects.filter(pk=old.pk).update(business_day=today() - timedelta(days=1), order_number=todays.order_number)
    result = order_search(user=shift, query=todays.order_number)
    assert list(result.orders)[:2] == [todays, Order.objects.get(pk=old.pk)]
    assert result.jump_to == todays
    client = client_for(shift)
    resp = client.get(reverse("admin:backoffice_search"), {"q": todays.order_number})
    assert resp.status_code == 302 and resp["Location"] == reverse("admin:orders_order_change", args=[todays.pk])
    # Two orders of 324.50 today: the list, with human statuses and rupees.
    resp = client.get(reverse("admin:backoffice_search"), {"q": "324.50"}, follow=True)
    html = resp.content.decode()
    assert "₹324.50" in html and "Paid" in html and "CONFIRMED" not in html.split("<tbody>")[1]


def test_the_list_says_what_happened_to_the_payment(scenes, shift):
    scenes.failed_payment()
    scenes.waiting()
    scenes.late_refunded()
    html = client_for(shift).get(reverse("admin:orders_order_changelist")).content.decode()
    assert "Payment failed; customer may retry" in html
    assert "Waiting for payment (QR shown)" in html
    assert "Expired; late payment refunded" in html


def test_the_list_costs_the_same_queries_for_many_orders(scenes, shift):
    client = client_for(shift)
    scenes.paid()
    url = reverse("admin:orders_order_changelist")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(4):
        scenes.in_kitchen()
    scenes.failed_payment()
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_the_business_day_filter_keeps_after_midnight_orders_in_today(scenes, shift, settings):
    # At 00:30 the business day that started at 04:00 the evening before is still "today".
    half_past_midnight = timezone.make_aware(datetime(2026, 3, 2, 0, 30))
    assert today(half_past_midnight) == date(2026, 3, 1)
    assert today(half_past_midnight + timedelta(hours=4)) == date(2026, 3, 2)
    todays, yesterdays = scenes.paid(), scenes.paid()
    Order.objects.filter(pk=yesterdays.pk).update(business_day=today() - timedelta(days=1))
    html = client_for(shift).get(reverse("admin:orders_order_changelist"), {"day": "today"}).content.decode()
    assert reverse("admin:orders_order_change", args=[todays.pk]) in html
    assert reverse("admin:orders_order_change", args=[yesterdays.pk]) not in html


def test_the_board_puts_each_order_in_one_column(scenes, shift):
    waiting, paid, kitchen, ready, stuck, rejected = (scenes.waiting(), scenes.paid(), scenes.in_kitchen(),
                                                      scenes.ready(), scenes.stuck(), scenes.rejected())
    scenes.failed_payment()
    refunded = scenes.refunded()
    board = board_for(orders=orders_visible_to(shift), branch=waiting.branch_code)
    where = {card.order.pk: key for key, _, cards in board.titled_columns() for card in cards}
    assert where[waiting.pk] == "awaiting" and where[paid.pk] == "paid" and where[kitchen.pk] == "kitchen"
    assert where[ready.pk] == "ready" and where[stuck.pk] == "problems" and where[rejected.pk] == "problems"
    client = client_for(shift)
    page = client.get(reverse("admin:backoffice_board")).content.decode()
    assert "Awaiting payment" in page and "backoffice/board.js" in page
    live = client.get(reverse("admin:backoffice_board_live"))
    assert live.status_code == 200 and "no-store" in live["Cache-Control"]
    html = live.content.decode()
    assert "<html" not in html and reverse("admin:orders_order_change", args=[ready.pk]) in html
    assert "Done or closed today: Refunded 1" in html and refunded.order_number not in html


def test_the_board_and_attention_do_not_grow_queries_with_orders(scenes, shift):
    client = client_for(shift)
    for make in (scenes.stuck, scenes.rejected, scenes.mismatch, scenes.in_kitchen):
        make()  # one of each kind first: a kind's first row may add its (constant) prefetch query
    urls = [reverse("admin:backoffice_board_live"), reverse("admin:backoffice_attention"), reverse("admin:index")]
    counts = {}
    for url in urls:
        client.get(url)
        with CaptureQueriesContext(connection) as q:
            client.get(url)
        counts[url] = len(q)
    for _ in range(3):
        scenes.stuck()
        scenes.rejected()
        scenes.mismatch()
        scenes.in_kitchen()
    for url in urls:
        with CaptureQueriesContext(connection) as q:
            client.get(url)
        assert len(q) == counts[url], (url, [x["sql"][:120] for x in q.captured_queries])


def test_needs_attention_lists_each_problem_with_its_fix(scenes, shift):
    stuck, rejected, mismatch, late = scenes.stuck(), scenes.rejected(), scenes.mismatch(), scenes.late_refunded()
    scenes.in_kitchen()  # fine: not a problem
    kinds = {p.order.pk: p.kind for p in problems_list(orders=orders_visible_to(shift))}
    assert kinds == {stuck.pk: KITCHEN_LATE, rejected.pk: KITCHEN_REJECTED, mismatch.pk: PAYMENT_REVIEW,
                     late.pk: LATE_PAYMENT_REFUNDED}
    client = client_for(shift)
    html = client.get(reverse("admin:backoffice_attention")).content.decode()
    for words in ("Paid, but not in the kitchen", "Resend to kitchen", "Payment under review", "Mark as handled",
                  "Late payment refunded"):
        assert words in html
    index = client.get(reverse("admin:index")).content.decode()
    assert 'id="bo-attention-count">4<' in index
    # Marking the late payment handled takes it off the list, and says so in the order's history.
    key = next(p.key for p in problems_list(orders=orders_visible_to(shift)) if p.order.pk == late.pk)
    client.post(reverse("admin:orders_order_handle", args=[late.pk]), {"problem": key})
    assert late.pk not in {p.order.pk for p in problems_list(orders=orders_visible_to(shift))}
    assert "Problem marked handled" in client.get(reverse("admin:orders_order_change", args=[late.pk])).content.decode()


def test_the_board_shows_a_branchs_own_business_day(scenes, chain_owner):
    """At 23:00 UTC it is already tomorrow's trade in India (04:30) but still tonight in London (23:00): a
    London branch's board shows tonight's orders."""
    from kiosk_project.core.branches import branch_create

    branch_create(code="LON01", display_name="London", channels=["Takeaway"], invoice_prefix="LON1",
                  time_zone="Europe/London", business_day_start_hour=4)
    tonight = scenes.paid()
    Order.objects.filter(pk=tonight.pk).update(branch_code="LON01", business_day=date(2026, 3, 1))
    late_evening = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    board = board_for(orders=orders_visible_to(chain_owner), branch="LON01", now=late_evening)
    assert tonight.pk in {card.order.pk for _, _, cards in board.titled_columns() for card in cards}
