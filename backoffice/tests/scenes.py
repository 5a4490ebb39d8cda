"""Orders in every state a shift meets, made the way production makes them.

Kiosk API for placing and initiating, the PhonePe sandbox for paying (the
status API is asked, as the reconciler would), the Rista sandbox for the
kitchen, and our own services for everything else. Only the clock is moved
(an order "paid 2 minutes ago"), by back-dating our own rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from kds_bridge.models import KitchenDelivery
from kds_bridge.services import kitchen_sale_send
from kds_bridge.tests.conftest import fault
from orders.models import KitchenStatus, Order, OrderStatus
from orders.services import order_kitchen_transition, order_transition
from payments.models import Payment, Refund
from payments.refunds import refund_check, refund_create, refund_submit
from payments.status_checks import payment_check
from payments.tests.helpers import wait_for

CART = {"items": [{"item_sku_id": "1", "quantity": 2, "note": "less oil"}, {"item_sku_id": "9", "quantity": 1}],
        "order_mode": "takeaway"}


class Scenes:
    def __init__(self, *, kiosk_client: Any, phonepe: Any, rista: Any) -> None:
        self.client, self.phonepe, self.rista = kiosk_client, phonepe, rista

    # -- steps ---------------------------------------------------------------------------------------

    def place(self, body: dict | None = None) -> Order:
        resp = self.client.post("/api/v1/orders", body or CART, format="json")
        assert resp.status_code == 201, resp.content
        return Order.objects.get(pk=resp.json()["order_id"])

    def initiate(self, order: Order) -> Payment:
        resp = self.client.post("/api/v1/payment/initiate",
                                {"order_id": str(order.pk), "amount": order.total_amount_include_tax}, format="json")
        assert resp.status_code == 201, resp.content
        return Payment.objects.get(pk=resp.json()["payment_id"])

    def pay(self, payment: Payment, amount_paise: int | None = None, late: bool = False) -> Payment:
        self.phonepe.pay(payment.merchant_reference, amount=amount_paise, late=late)
        payment_check(payment_id=payment.pk)
        return Payment.objects.get(pk=payment.pk)

    def deliver(self, order: Order) -> KitchenDelivery:
        delivery = KitchenDelivery.objects.get(order=order)
        kitchen_sale_send(delivery_id=delivery.pk)
        return KitchenDelivery.objects.get(pk=delivery.pk)

    def kitchen(self, order: Order, status: str) -> None:
        """What Rista's progress callback does (kds_bridge.callbacks calls the same service)."""
        order_kitchen_transition(order_id=order.pk, to_status=status,
                                 allowed_from=(KitchenStatus.SENT, KitchenStatus.ACCEPTED), actor="rista")

    def paid_minutes_ago(self, order: Order, minutes: float) -> None:
        then = timezone.now() - timedelta(minutes=minutes)
        Order.objects.filter(pk=order.pk).update(confirmed_at=then)
        KitchenDelivery.objects.filter(order=order).update(created_at=then, next_attempt_at=then)

    def complete_refunds(self, order: Order) -> None:
        for refund in Refund.objects.filter(payment__order=order):
            if refund.status == "CREATED":
                refund_submit(refund_id=refund.pk)
            ref = refund.merchant_refund_id
            assert wait_for(lambda ref=ref: any(r["ref"] == ref and r["state"] != "PENDING"
                                                for r in self.phonepe.refunds), timeout=10)
            refund_check(refund_id=refund.pk)

    # -- whole orders --------------------------------------------------------------------------------

    def waiting(self) -> Order:
        order = self.place()
        self.initiate(order)
        return Order.objects.get(pk=order.pk)

    def paid(self, body: dict | None = None) -> Order:
        order = self.place(body)
        self.pay(self.initiate(order))
        return Order.objects.get(pk=order.pk)

    def in_kitchen(self) -> Order:
        order = self.paid()
        self.deliver(order)
        return Order.objects.get(pk=order.pk)

    def ready(self) -> Order:
        order = self.in_kitchen()
        self.kitchen(order, KitchenStatus.READY)
        return Order.objects.get(pk=order.pk)

    def stuck(self) -> Order:
        """Paid two minutes ago; the kitchen does not have it yet."""
        order = self.paid()
        self.paid_minutes_ago(order, 2)
        return Order.objects.get(pk=order.pk)

    def rejected(self) -> Order:
        order = self.paid()
        fault(self.rista, mode="error", status=422, count=1, routes=["sale_post"])
        self.deliver(order)
        return Order.objects.get(pk=order.pk)

    def failed_payment(self) -> Order:
        order = self.place()
        payment = self.initiate(order)
        self.phonepe.fail(payment.merchant_reference)
        payment_check(payment_id=payment.pk)
        return Order.objects.get(pk=order.pk)

    def mismatch(self) -> Order:
        order = self.place()
        self.pay(self.initiate(order), amount_paise=10000)
        return Order.objects.get(pk=order.pk)

    def refunded(self, reason: str = "customer changed their mind") -> Order:
        order = self.in_kitchen()
        payment = Payment.objects.get(order=order, confirmed_order=True)
        refund_create(payment_id=payment.pk, reason=reason, requested_by="staff:asha")
        self.complete_refunds(order)
        return Order.objects.get(pk=order.pk)

    def late_refunded(self) -> Order:
        """Paid after the order expired: refunded automatically (PAYMENT_LATE_SUCCESS_POLICY=refund)."""
        order = self.place()
        payment = self.initiate(order)
        with transaction.atomic():
            order_transition(order_id=order.pk, to_status=OrderStatus.EXPIRED, expected=(OrderStatus.PENDING,),
                             actor="system", reason="payment window closed", status_reason="payment window closed")
        self.pay(payment, late=True)
        self.complete_refunds(order)
        return Order.objects.get(pk=order.pk)
