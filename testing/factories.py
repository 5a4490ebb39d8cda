"""factory_boy factories: the rows a unit test starts from (kiosks, orders with lines, payments, refunds,
kitchen deliveries), so payment and kitchen tests need no checkout over HTTP. Journeys stay end-to-end.

Amounts follow the brief's worked example (2 x sku 1 at Rs 110 + 1 x sku 9 at Rs 70, CGST+SGST 2.5%,
packaging Rs 20): an order's stored totals agree with its lines, as checkout would have written them.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from kds_bridge.models import DeliveryStatus, KitchenDelivery
from kds_bridge.payload import source_invoice_number
from kiosk_project.core.models import KioskDevice
from kiosk_project.core.money import to_paise
from orders.models import Order, OrderEvent, OrderLine, OrderStatus
from payments.models import Payment, PaymentStatus, Provider, Refund, RefundStatus


class KioskDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KioskDevice

    name = factory.Sequence(lambda n: f"kiosk-{n}")
    branch_code = factory.LazyFunction(lambda: _settings().KIOSK_BRANCH_CODE)
    channel = "Takeaway"
    key_prefix = factory.LazyFunction(lambda: uuid.uuid4().hex[:8])
    key_hash = factory.LazyFunction(lambda: uuid.uuid4().hex * 2)


def _settings() -> Any:
    from django.conf import settings

    return settings


_LINES = (  # sku, name, quantity, unit price: the brief's worked example
    ("1", "Davanagere Benne Sada Dose", 2, Decimal("110.00")),
    ("9", "Idli Chutney", 1, Decimal("70.00")),
)


class OrderFactory(factory.django.DjangoModelFactory):
    """A PENDING takeaway order of Rs 324.50 with its two lines and its 'order placed' event."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    order_number = factory.Sequence(lambda n: f"K{n + 1:03d}")
    business_day = factory.LazyFunction(lambda: timezone.localdate())
    branch_code = factory.LazyFunction(lambda: _settings().KIOSK_BRANCH_CODE)
    channel = "Takeaway"
    order_mode = "takeaway"
    charge_mode = "Pickup"
    device = factory.SubFactory(KioskDeviceFactory)
    status = OrderStatus.PENDING
    subtotal = Decimal("290.00")
    items_net_total = Decimal("290.00")
    charge_total = Decimal("20.00")
    tax_total = Decimal("14.50")
    total_amount_exclude_tax = Decimal("310.00")
    total_amount_include_tax = Decimal("324.50")
    pricing = factory.LazyFunction(lambda: {
        "taxes": [{"name": "CGST", "percentage": "2.5", "amount": "7.25"},
                  {"name": "SGST", "percentage": "2.5", "amount": "7.25"}],
        "charges": [{"name": "PC", "amount": "20.00", "tax_amount": "0.00"}], "discounts": []})
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(seconds=_settings().ORDER_EXPIRY_SECONDS))

    class Params:
        confirmed = factory.Trait(status=OrderStatus.CONFIRMED, confirmed_at=factory.LazyFunction(timezone.now),
                                  payment_reference="T2501061230001")

    @factory.post_generation
    def lines(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not create or extracted is False:
            return
        for position, (sku, name, quantity, price) in enumerate(_LINES):
            amount = price * quantity
            tax = (amount * Decimal("0.05")).quantize(Decimal("0.01"))
            OrderLine.objects.create(
                order=self, position=position, sku=sku, rista_item_id=f"item-{sku}", name=name, quantity=quantity,
                unit_price=price, item_amount=amount, option_amount=Decimal("0"), gross_amount=amount,
                discount_amount=Decimal("0"), net_amount=amount, tax_amount=tax, total_amount=amount + tax,
                taxes=[{"name": "CGST", "percentage": "2.5", "amount": str(tax / 2)},
                       {"name": "SGST", "percentage": "2.5", "amount": str(tax / 2)}])
        OrderEvent.objects.create(order=self, kind="status", to_status=OrderStatus.PENDING, actor="test",
                                  reason="order placed")


class PaymentFactory(factory.django.DjangoModelFactory):
    """A PENDING attempt with a live QR for its order's total (`succeeded=True`: paid and confirming)."""

    class Meta:
        model = Payment

    order = factory.SubFactory(OrderFactory)
    merchant_reference = factory.Sequence(lambda n: f"K{n:03d}-TEST-{uuid.uuid4().hex[:8].upper()}")
    provider = Provider.PHONEPE_V2
    amount = factory.LazyAttribute(lambda p: p.order.total_amount_include_tax)
    amount_paise = factory.LazyAttribute(lambda p: to_paise(p.amount))
    status = PaymentStatus.PENDING
    qr_string = "upi://pay?pa=test@ybl"
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=5))
    initiated_at = factory.LazyFunction(timezone.now)
    next_check_at = factory.LazyFunction(lambda: timezone.now() + timedelta(seconds=3))

    class Params:
        succeeded = factory.Trait(
            status=PaymentStatus.SUCCEEDED, paid_amount=factory.SelfAttribute("amount"), utr="T2501061230001",
            provider_txn_id="TXN-TEST", confirmed_order=True, next_check_at=None,
            completed_at=factory.LazyFunction(timezone.now))


class RefundFactory(factory.django.DjangoModelFactory):
    """A CREATED full refund of a paid payment."""

    class Meta:
        model = Refund

    payment = factory.SubFactory(PaymentFactory, succeeded=True, status=PaymentStatus.REFUND_PENDING)
    merchant_refund_id = factory.Sequence(lambda n: f"RK{n:03d}-{uuid.uuid4().hex[:8].upper()}")
    amount = factory.LazyAttribute(lambda r: r.payment.amount)
    amount_paise = factory.LazyAttribute(lambda r: to_paise(r.amount))
    status = RefundStatus.CREATED
    reason = "test refund"
    requested_by = "system"


class KitchenDeliveryFactory(factory.django.DjangoModelFactory):
    """The outbox row of a confirmed order, PENDING and due (no task is enqueued: call the sender)."""

    class Meta:
        model = KitchenDelivery

    order = factory.SubFactory(OrderFactory, confirmed=True)
    status = DeliveryStatus.PENDING
    source_invoice_number = factory.LazyAttribute(lambda d: source_invoice_number(
        branch_code=d.order.branch_code, business_day=d.order.business_day, order_number=d.order.order_number))
