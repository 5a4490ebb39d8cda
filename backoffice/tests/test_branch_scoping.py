"""Managers see only their branches: lists, order pages, actions, reports, exports and alerts; a chain
owner sees every branch, per branch and consolidated (kiosk_project.core.branch_access)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backoffice.alerts import alert_recipients
from backoffice.tests.conftest import client_for, make_user
from kiosk_project.core.models import Branch
from orders.models import Order
from payments.models import Payment, Refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_branches(scenes):
    """A paid order at BLR01 and one at MYS01 (placed at BLR01's kiosk, then moved: scoping reads only the
    order's branch code, and one Rista sandbox serves the kiosk)."""
    Branch.objects.create(code="MYS01", display_name="Mysuru", invoice_prefix="MYS1")
    bengaluru, mysuru = scenes.paid(), scenes.paid()
    Order.objects.filter(pk=mysuru.pk).update(branch_code="MYS01")
    return Order.objects.get(pk=bengaluru.pk), Order.objects.get(pk=mysuru.pk)


def _manager_of(code: str, username: str):
    user = make_user(username, role="Branch manager")
    Branch.objects.get(code=code).staff.add(user)
    return user


def test_a_manager_of_one_branch_never_sees_the_other(two_branches):
    bengaluru, mysuru = two_branches
    client = client_for(_manager_of("BLR01", "bala"))
    listing = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert reverse("admin:orders_order_change", args=[bengaluru.pk]) in listing
    assert reverse("admin:orders_order_change", args=[mysuru.pk]) not in listing
    assert client.get(reverse("admin:orders_order_change", args=[mysuru.pk])).status_code == 404
    assert client.get(reverse("admin:orders_order_print", args=[mysuru.pk, "bill"])).status_code == 404
    # Payments, refunds and kitchen deliveries: their lists and pages follow the order's branch.
    theirs = Payment.objects.get(order=mysuru)
    assert str(theirs.pk) not in client.get(reverse("admin:payments_payment_changelist")).content.decode()
    assert client.get(reverse("admin:payments_payment_change", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("admin:kds_bridge_kitchendelivery_change",
                              args=[mysuru.kitchen_delivery.pk])).status_code == 404
    # Searching by the other branch's number finds only one's own.
    found = client.get(reverse("admin:backoffice_search"), {"q": mysuru.invoice_number}, follow=True)
    assert reverse("admin:orders_order_change", args=[mysuru.pk]) not in found.content.decode()


def test_a_manager_cannot_refund_another_branch_order(two_branches):
    _, mysuru = two_branches
    client = client_for(_manager_of("BLR01", "bala"))
    payment = Payment.objects.get(order=mysuru)
    answer = client.post(reverse("admin:orders_order_refund", args=[mysuru.pk]),
                         {"payment": str(payment.pk), "reason": "customer asked"})
    assert answer.status_code == 404
    assert not Refund.objects.exists()
    # Mysuru's own manager can.
    own = client_for(_manager_of("MYS01", "mala"))
    answer = own.post(reverse("admin:orders_order_refund", args=[mysuru.pk]),
                      {"payment": str(payment.pk), "reason": "customer asked"})
    assert answer.status_code == 302 and Refund.objects.get().payment == payment


def test_reports_and_exports_hold_only_the_manager_branches(two_branches):
    bengaluru, _ = two_branches
    client = client_for(_manager_of("BLR01", "bala"))
    csv = client.get(reverse("admin:backoffice_report_csv", args=["orders"])).content.decode()
    assert bengaluru.order_number in csv and "MYS01" not in csv
    assert client.get(reverse("admin:backoffice_reports"), {"branch": "MYS01"}).status_code == 403


def test_staff_with_no_branch_see_the_deployment_own(two_branches, branch_manager):
    bengaluru, mysuru = two_branches
    client = client_for(branch_manager)
    assert client.get(reverse("admin:orders_order_change", args=[bengaluru.pk])).status_code == 200
    assert client.get(reverse("admin:orders_order_change", args=[mysuru.pk])).status_code == 404


def test_a_chain_owner_sees_every_branch_per_branch_and_together(two_branches, chain_owner):
    bengaluru, mysuru = two_branches
    client = client_for(chain_owner)
    for order in (bengaluru, mysuru):
        assert client.get(reverse("admin:orders_order_change", args=[order.pk])).status_code == 200
    everything = client.get(reverse("admin:backoffice_report_csv", args=["orders"])).content.decode()
    assert "BLR01" in everything and "MYS01" in everything
    one = client.get(reverse("admin:backoffice_report_csv", args=["orders"]), {"branch": "MYS01"}).content.decode()
    assert "MYS01" in one and "BLR01," not in one
    page = client.get(reverse("admin:backoffice_reports")).content.decode()
    assert '<option value="">All</option>' in page and "<option>MYS01</option>" in page


def test_problem_emails_go_to_the_branch_own_managers(two_branches, settings):
    settings.BACKOFFICE_ALERT_EMAILS = []
    _manager_of("BLR01", "bala")
    _manager_of("MYS01", "mala")
    owner = make_user("charu", role="Chain owner")
    assert owner.email in alert_recipients(branch_code="MYS01")
    assert alert_recipients(branch_code="MYS01") == ["charu@example.com", "mala@example.com"]
    assert alert_recipients(branch_code="BLR01") == ["bala@example.com", "charu@example.com"]


def test_a_manager_adds_kiosks_only_to_their_branches(two_branches):
    from kiosk_project.core.models import KioskDevice

    client = client_for(_manager_of("BLR01", "bala"))
    form = client.get(reverse("admin:core_kioskdevice_add")).content.decode()
    assert 'value="BLR01"' in form and "MYS01" not in form
    answer = client.post(reverse("admin:core_kioskdevice_add"), {
        "name": "sneaky", "branch_code": "MYS01", "channel": "Takeaway", "allowed_order_modes": '["takeaway"]',
        "order_prefix": "K", "is_active": "on"})
    assert answer.status_code == 200 and not KioskDevice.objects.filter(name="sneaky").exists()
    assert client.get(reverse("admin:core_branch_change", args=[Branch.objects.get(code="MYS01").pk])
                      ).status_code == 404
