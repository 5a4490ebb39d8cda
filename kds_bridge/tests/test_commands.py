"""Operators: kds_status lists what is not in Rista; kds_resend re-queues without ever duplicating a sale."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kds_bridge.models import DeliveryStatus, KitchenDelivery
from kds_bridge.recovery import kitchen_delivery_resend
from kds_bridge.services import kitchen_sale_send
from kds_bridge.tests.conftest import backdate, fault, make_due, sale_posts
from orders.models import KitchenStatus, Order, OrderEvent

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_kds_status_lists_pending_failed_and_stuck(rista, paid_order, settings):
    rejected, rejected_row = paid_order()
    pending, _ = paid_order()
    delivered, delivered_row = paid_order()
    fault(rista, mode="error", status=422, routes=["sale_post"], body={"message": "bad channel"})
    kitchen_sale_send(delivery_id=rejected_row.pk)
    kitchen_sale_send(delivery_id=delivered_row.pk)
    backdate(pending.pk, settings.KDS_ALERT_AFTER_SECONDS + 5)

    out = run("kds_status")
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip() and not line.startswith("\n")}
    assert "REJECTED" in lines[rejected.order_number] and "bad channel" in lines[rejected.order_number]
    assert "PENDING" in lines[pending.order_number] and "YES" in lines[pending.order_number]
    assert delivered.order_number not in lines
    assert "2 deliveries not in Rista; 1 paid orders stuck" in out


def test_kds_resend_a_rejected_order_reopens_it_and_sends_once(rista, paid_order):
    order, delivery = paid_order()
    fault(rista, mode="error", status=400, routes=["sale_post"])
    kitchen_sale_send(delivery_id=delivery.pk)
    assert Order.objects.get(pk=order.pk).kitchen_status == KitchenStatus.REJECTED

    out = run("kds_resend", order.order_number)
    assert "queued (delivery was REJECTED)" in out
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert Order.objects.get(pk=order.pk).kitchen_status == KitchenStatus.NOT_SENT
    assert OrderEvent.objects.filter(order=order, kind="action", reason__startswith="resend by operator").exists()

    assert kitchen_sale_send(delivery_id=delivery.pk).outcome == "delivered"  # looked up (absent), then posted
    assert len(rista.sales) == 1
    assert Order.objects.get(pk=order.pk).kitchen_status == KitchenStatus.SENT


def test_kds_resend_a_delivered_order_sends_nothing_even_with_force(rista, paid_order):
    order, delivery = paid_order()
    kitchen_sale_send(delivery_id=delivery.pk)
    assert "already delivered" in run("kds_resend", str(order.pk))
    assert KitchenDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED

    assert "queued" in run("kds_resend", str(order.pk), "--force")
    make_due(delivery)
    assert kitchen_sale_send(delivery_id=delivery.pk).outcome == "duplicate_found"
    assert len(rista.sales) == 1 and sale_posts(rista) == 1
    assert KitchenDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED


def test_kds_resend_refuses_unpaid_and_unknown_orders(place_order):
    order_id = place_order()["order_id"]
    assert kitchen_delivery_resend(order_id=order_id, actor="test").queued is False
    assert not KitchenDelivery.objects.exists()
    with pytest.raises(CommandError, match="no order"):
        run("kds_resend", "Z999")


@pytest.fixture
def two_branches_with_the_same_number(paid_order, settings):
    """Order numbers restart per branch: K001 of BLR01 and K001 of MYS01 are two orders."""
    from kiosk_project.core.branches import branch_create

    branch_create(code="MYS01", display_name="Mysuru", channels=["Takeaway"], invoice_prefix="MYS1")
    here, _ = paid_order()
    there, _ = paid_order()
    Order.objects.filter(pk=there.pk).update(branch_code="MYS01", order_number=here.order_number)
    backdate(here.pk, settings.KDS_ALERT_AFTER_SECONDS + 5)
    backdate(there.pk, settings.KDS_ALERT_AFTER_SECONDS + 5)
    return Order.objects.get(pk=here.pk), Order.objects.get(pk=there.pk)


def test_kds_status_lists_one_branch_or_all(two_branches_with_the_same_number, settings):
    here, there = two_branches_with_the_same_number
    default = run("kds_status")
    assert str(here.pk) in default and str(there.pk) not in default
    assert f"1 paid orders stuck in {settings.KIOSK_BRANCH_CODE} " in default
    mysuru = run("kds_status", "--branch", "MYS01")
    assert str(there.pk) in mysuru and str(here.pk) not in mysuru
    everything = run("kds_status", "--all")
    assert str(here.pk) in everything and str(there.pk) in everything
    with pytest.raises(CommandError, match="no branch 'XXX01'"):
        run("kds_status", "--branch", "XXX01")


def test_kds_resend_finds_an_order_number_in_its_branch(two_branches_with_the_same_number):
    here, there = two_branches_with_the_same_number
    assert str(here.pk) in run("kds_resend", here.order_number)  # the deployment's own branch by default
    assert str(there.pk) in run("kds_resend", there.order_number, "--branch", "MYS01")
    with pytest.raises(CommandError, match="in branch XXX01"):
        run("kds_resend", here.order_number, "--branch", "XXX01")


def test_reconcile_payments_finds_an_order_number_in_its_branch(two_branches_with_the_same_number):
    _, there = two_branches_with_the_same_number
    out = run("reconcile_payments", "--order", there.order_number, "--branch", "MYS01")
    assert "checked 0 payment(s)" in out  # that order, found, has no open payment
    with pytest.raises(CommandError, match="no order"):
        run("reconcile_payments", "--order", "Z999", "--branch", "MYS01")
