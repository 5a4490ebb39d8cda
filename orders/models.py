"""Orders: a permanent record of what was sold, at what price, and what happened next.

Lines snapshot names, SKUs, prices, options and taxes, and totals are stored,
never recomputed from today's catalog. Invariants live in the database as named
constraints, so no code path can write an impossible order.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from kiosk_project.core.models import money
from kiosk_project.core.transitions import table_of


class OrderStatus(models.TextChoices):
    PENDING = "PENDING", "Pending payment"
    CONFIRMED = "CONFIRMED", "Confirmed (paid)"
    EXPIRED = "EXPIRED", "Expired unpaid"
    CANCELLED = "CANCELLED", "Cancelled"
    REFUNDED = "REFUNDED", "Refunded"


# Every allowed change of Order.status; orders.services.order_transition refuses the rest loudly.
# (A failed payment does not fail its order: the customer may pay again, so there is no FAILED.)
ORDER_STATUS_TRANSITIONS = table_of({
    OrderStatus.PENDING: (OrderStatus.CONFIRMED, OrderStatus.EXPIRED,
                          OrderStatus.CANCELLED),  # the kiosk's cancel (issue 11)
    # A payment that arrives after expiry, with PAYMENT_LATE_SUCCESS_POLICY=confirm, re-opens the order.
    OrderStatus.EXPIRED: (OrderStatus.PENDING,),
    OrderStatus.CONFIRMED: (OrderStatus.REFUNDED,),
    OrderStatus.CANCELLED: (),
    OrderStatus.REFUNDED: (),
})


class KitchenStatus(models.TextChoices):
    NOT_SENT = "NOT_SENT", "Not sent"
    SENT = "SENT", "Sent to kitchen"
    ACCEPTED = "ACCEPTED", "Accepted"
    READY = "READY", "Ready"
    COMPLETED = "COMPLETED", "Completed"
    REJECTED = "REJECTED", "Rejected"


# Every allowed change of Order.kitchen_status (orders.services.order_kitchen_transition). It moves
# forward only (Rista's callbacks may skip steps), with one exception: a manager's resend reopens a
# REJECTED order (NOT_SENT), so the kitchen gets it after all.
_KITCHEN_ORDER = (KitchenStatus.NOT_SENT, KitchenStatus.SENT, KitchenStatus.ACCEPTED, KitchenStatus.READY,
                  KitchenStatus.COMPLETED)
KITCHEN_STATUS_TRANSITIONS = table_of({
    **{status: (*_KITCHEN_ORDER[position + 1:], KitchenStatus.REJECTED)
       for position, status in enumerate(_KITCHEN_ORDER[:-1])},
    KitchenStatus.COMPLETED: (),
    KitchenStatus.REJECTED: (KitchenStatus.NOT_SENT,),
})


class OrderMode(models.TextChoices):
    TAKEAWAY = "takeaway", "Takeaway"
    DINE_IN = "dine_in", "Dine in"


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order_number = models.CharField(max_length=16, help_text="Short token for the screen and receipt, e.g. K042.")
    business_day = models.DateField()
    branch_code = models.CharField(max_length=64)
    channel = models.CharField(max_length=128)
    order_mode = models.CharField(max_length=16, choices=OrderMode.choices)
    charge_mode = models.CharField(max_length=16, help_text="Rista charge mode: Pickup, Delivery or Others.")
    device = models.ForeignKey("core.KioskDevice", on_delete=models.PROTECT, related_name="orders",
                               null=True, blank=True)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    kitchen_status = models.CharField(max_length=16, choices=KitchenStatus.choices, default=KitchenStatus.NOT_SENT)
    status_reason = models.CharField(max_length=255, blank=True, default="")

    currency = models.CharField(max_length=3, default="INR")
    subtotal = money()
    discount_total = money(default=Decimal("0"))
    items_net_total = money()
    charge_total = money(default=Decimal("0"))
    tax_total = money()
    round_off = money(default=Decimal("0"))
    total_amount_exclude_tax = money()
    total_amount_include_tax = money(help_text="What the customer pays.")
    pricing = models.JSONField(encoder=DjangoJSONEncoder, default=dict,
                               help_text="Snapshot of taxes, charges and discounts as quoted.")
    catalog_etag = models.CharField(max_length=80, blank=True, default="")

    # NULL (not "") when absent, so the unique (device, key) constraint ignores orders without a key.
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    request_hash = models.CharField(max_length=64, blank=True, default="")

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Set with CONFIRMED: the UPI reference (UTR) or our merchant reference of the payment that confirmed it,
    # which the kitchen sale and the bill carry (a column, so the kitchen need not read payments' rows).
    payment_reference = models.CharField(max_length=64, blank=True, default="")

    # The GST tax invoice, given when the order is paid (orders.invoices): consecutive per branch and year.
    invoice_number = models.CharField(max_length=16, blank=True, default="",
                                      help_text="e.g. BLR1/2526/42; empty until the order is paid.")
    invoice_serial = models.PositiveIntegerField(null=True, blank=True)
    invoice_financial_year = models.CharField(max_length=7, blank=True, default="", help_text="e.g. 2025-26")
    invoiced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("print_order", "Can print and reprint KOTs and bills"),
            ("view_reports", "Can see sales reports and export them"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(subtotal__gte=0), name="order_subtotal_non_negative"),
            models.CheckConstraint(condition=Q(tax_total__gte=0), name="order_tax_non_negative"),
            models.CheckConstraint(condition=Q(discount_total__gte=0), name="order_discount_non_negative"),
            models.CheckConstraint(condition=Q(total_amount_exclude_tax__gte=0), name="order_excl_non_negative"),
            models.CheckConstraint(condition=Q(total_amount_include_tax__gte=0), name="order_incl_non_negative"),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
            models.CheckConstraint(condition=Q(kitchen_status__in=KitchenStatus.values),
                                   name="order_kitchen_status_valid"),
            models.CheckConstraint(condition=~Q(status=OrderStatus.CONFIRMED) | Q(confirmed_at__isnull=False),
                                   name="order_confirmed_has_confirmed_at"),
            models.UniqueConstraint(fields=["branch_code", "business_day", "order_number"],
                                    name="order_number_unique_per_branch_day"),
            models.UniqueConstraint(fields=["device", "idempotency_key"], condition=Q(idempotency_key__isnull=False),
                                    name="order_idempotency_key_unique_per_device"),
            models.UniqueConstraint(fields=["branch_code", "invoice_financial_year", "invoice_serial"],
                                    condition=Q(invoice_serial__isnull=False), name="order_invoice_serial_unique"),
            models.CheckConstraint(condition=Q(invoice_serial__isnull=True) | ~Q(invoice_number=""),
                                   name="order_invoice_serial_has_number"),
        ]
        indexes = [
            models.Index(fields=["device", "-created_at"], name="order_device_recent"),
            models.Index(fields=["expires_at"], condition=Q(status="PENDING"), name="order_pending_expiry"),
            models.Index(fields=["order_number", "business_day"], name="order_number_lookup"),
            models.Index(fields=["business_day", "branch_code"], name="order_business_day"),
        ]

    def __str__(self) -> str:
        return f"{self.order_number} ({self.business_day}, {self.status})"



class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    sku = models.CharField(max_length=64)
    rista_item_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    category_id = models.CharField(max_length=64, blank=True, default="")
    quantity = models.PositiveIntegerField()
    unit_price = money()
    options = models.JSONField(encoder=DjangoJSONEncoder, default=list)
    note = models.CharField(max_length=250, blank=True, default="")
    item_amount = money()
    option_amount = money()
    gross_amount = money()
    discount_amount = money()
    # The split by level, so the kitchen sale can put item discounts on items and order ones on the sale.
    item_discount_amount = money(default=Decimal("0"))
    order_discount_amount = money(default=Decimal("0"))
    net_amount = money()
    tax_amount = money()
    total_amount = money()
    taxes = models.JSONField(encoder=DjangoJSONEncoder, default=list)
    price_includes_tax = models.BooleanField(default=False)
    measuring_unit = models.CharField(max_length=16, blank=True, default="")
    item_nature = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_line_price_non_negative"),
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="order_line_total_non_negative"),
            models.UniqueConstraint(fields=["order", "position"], name="order_line_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class EventKind(models.TextChoices):
    STATUS = "status", "Order status"
    KITCHEN = "kitchen", "Kitchen status"
    PAYMENT = "payment", "Payment"
    ACTION = "action", "Manager action"
    PRINT = "print", "KOT or bill printed"
    NOTE = "note", "Note"


class OrderEvent(models.Model):
    """Append-only history: every status change, kitchen update and manager action."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16, blank=True, default="")
    actor = models.CharField(max_length=128, help_text="kiosk:<name>, system, phonepe, rista, staff:<user>")
    reason = models.CharField(max_length=255, blank=True, default="")
    data = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="order_event_kind_valid")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.from_status}->{self.to_status} by {self.actor}"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if self.pk is not None:
            raise ValueError("Order events are append-only")
        super().save(*args, **kwargs)


class OrderNumberCounter(models.Model):
    """The last order number handed out per branch and business day (see orders.numbers)."""

    branch_code = models.CharField(max_length=64)
    business_day = models.DateField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["branch_code", "business_day"],
                                               name="order_counter_unique_per_branch_day")]

    def __str__(self) -> str:
        return f"{self.branch_code} {self.business_day}: {self.last_value}"


class InvoiceCounter(models.Model):
    """The last tax invoice serial handed out per branch and financial year (see orders.invoices)."""

    branch_code = models.CharField(max_length=64)
    financial_year = models.CharField(max_length=7)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["branch_code", "financial_year"],
                                               name="invoice_counter_unique_per_branch_year")]

    def __str__(self) -> str:
        return f"{self.branch_code} {self.financial_year}: {self.last_value}"
