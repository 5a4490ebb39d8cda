"""factory_boy factories: the rows a unit test starts from (kiosks, orders with lines, payments, refunds,
kitchen deliveries), so payment and kitchen tests need no checkout over HTTP. Journeys stay end-to-end.

Orders are priced by the real pricing engine from the real Rista sample and written by checkout's own row
writer, so their snapshots are exactly what the kitchen's sale builder and the bill expect.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import factory
from django.utils import timezone

from catalog.pricing import CartLine, CatalogIndex, quote_cart
from kds_bridge.models import DeliveryStatus, KitchenDelivery
from kds_bridge.payload import source_invoice_number
from kiosk_project.core.kiosk_auth import Kiosk
from kiosk_project.core.models import KioskDevice
from kiosk_project.core.money import to_paise
from kiosk_project.core.order_modes import order_mode_pricing
from orders.models import Order, OrderStatus
from orders.numbers import business_day
from orders.quotes import PricedCart
from orders.services import order_record
from payments.models import Payment, PaymentStatus, Provider, Refund, RefundStatus


class KioskDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KioskDevice

    name = factory.Sequence(lambda n: f"factory-kiosk-{n}")
    branch_code = factory.LazyFunction(lambda: _settings().KIOSK_BRANCH_CODE)
    channel = "Takeaway"
    key_prefix = factory.LazyFunction(lambda: uuid.uuid4().hex[:8])
    key_hash = factory.LazyFunction(lambda: uuid.uuid4().hex * 2)


def _settings() -> Any:
    from django.conf import settings

    return settings


_SAMPLE = Path(__file__).resolve().parents[1] / "sandbox" / "rista" / "data" / "catalog.json"
# The brief's worked example: 2 x "Davanagere Benne Sada Dose" (sku 1) + 1 x "Idli Chutney" (sku 9).
WORKED_EXAMPLE = (("1", 2), ("9", 1))


@functools.lru_cache(maxsize=1)
def _sample_index() -> CatalogIndex:
    return CatalogIndex.from_document(json.loads(_SAMPLE.read_text()))


def priced_cart(cart: Iterable[tuple[str, int]] = WORKED_EXAMPLE, order_mode: str = "takeaway") -> PricedCart:
    """A cart priced by the real engine from the real sample catalog, with no cache, snapshot or Rista."""
    rista = order_mode_pricing(order_mode)
    quote = quote_cart(index=_sample_index(), lines=[CartLine(sku=sku, quantity=qty) for sku, qty in cart],
                       charge_mode=rista.charge_mode, now=timezone.localtime(), round_off=_settings().ORDER_ROUND_OFF)
    return PricedCart(quote=quote, catalog_etag='"sample"', order_mode=order_mode, channel=rista.channel,
                      charge_mode=rista.charge_mode)


class OrderFactory(factory.django.DjangoModelFactory):
    """An order written as checkout writes it (orders.services.order_record: lines, snapshots, first event),
    priced by the engine from the sample catalog; PENDING unless told otherwise.

    `cart` ((sku, quantity), ...) and `order_mode` choose what is priced; any other field given (status,
    kitchen_status, confirmed_at, ...) is set on the row afterwards. `confirmed=True`: paid and CONFIRMED.
    """

    class Meta:
        model = Order

    device = factory.SubFactory(KioskDeviceFactory)
    order_number = factory.Sequence(lambda n: f"F{n + 1:03d}")

    class Params:
        confirmed = factory.Trait(status=OrderStatus.CONFIRMED, confirmed_at=factory.LazyFunction(timezone.now),
                                  payment_reference="T2501061230001")

    @classmethod
    def _create(cls, model_class: type[Order], *args: Any, device: KioskDevice, order_number: str,
                cart: Iterable[tuple[str, int]] = WORKED_EXAMPLE, order_mode: str = "takeaway",
                **fields: Any) -> Order:
        kiosk = Kiosk(id=device.pk, name=device.name, branch_code=device.branch_code, channel=device.channel,
                      allowed_order_modes=tuple(device.allowed_order_modes or ()), order_prefix=device.order_prefix)
        now = timezone.now()
        order, _ = order_record(kiosk=kiosk, priced=priced_cart(cart, order_mode), number=order_number,
                                day=business_day(now), now=now, idempotency_key=None, fingerprint="")
        if fields:
            Order.objects.filter(pk=order.pk).update(**fields)
            order.refresh_from_db()
        return order


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
