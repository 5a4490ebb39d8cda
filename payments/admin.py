"""Back office: every payment attempt with its PhonePe ledger, read-only.

Refunds are made from the order's screen (one order at a time, with the amount
shown, a reason required and the refund permission checked), never as a bulk
action on this list.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from kiosk_project.core.branch_access import BranchScopedAdmin
from kiosk_project.core.money_format import rupees
from payments.models import Payment, PaymentEvent, Refund


def order_link(order: Any) -> str:
    url = reverse("admin:orders_order_change", args=[order.pk])
    return format_html('<a href="{}"><b>{}</b></a>', url, order.order_number)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    fk_name = "payment"
    extra = 0
    can_delete = False
    fields = ("received_at", "source", "kind", "provider_reference", "state", "remote_addr", "payload")
    readonly_fields = fields
    ordering = ("received_at", "id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ("merchant_refund_id", "amount", "status", "reason", "requested_by", "utr", "created_at",
              "completed_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FlaggedFilter(admin.SimpleListFilter):
    title = "needs a manager"
    parameter_name = "flagged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Flagged"), ("no", "Not flagged")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Payment]) -> QuerySet[Payment]:
        if self.value() == "yes":
            return queryset.filter(flagged_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(flagged_at__isnull=True)
        return queryset


@admin.register(Payment)
class PaymentAdmin(BranchScopedAdmin, ReadOnlyAdmin):
    branch_field = "order__branch_code"
    list_display = ("merchant_reference", "order_number", "amount_rupees", "paid_rupees", "status", "flag_reason",
                    "utr", "created_at")
    list_filter = ("status", FlaggedFilter, "provider", "created_at")
    search_fields = ("merchant_reference", "provider_order_id", "utr", "order__order_number", "=order__id")
    list_select_related = ("order",)
    readonly_fields = ["order_number", *[f.name for f in Payment._meta.fields]]
    inlines = [RefundInline, PaymentEventInline]

    @admin.display(description="order", ordering="order__order_number")
    def order_number(self, obj: Payment) -> str:
        return order_link(obj.order)

    @admin.display(description="amount", ordering="amount")
    def amount_rupees(self, obj: Payment) -> str:
        return rupees(obj.amount)

    @admin.display(description="paid", ordering="paid_amount")
    def paid_rupees(self, obj: Payment) -> str:
        return rupees(obj.paid_amount) or "-"


@admin.register(Refund)
class RefundAdmin(BranchScopedAdmin, ReadOnlyAdmin):
    branch_field = "payment__order__branch_code"
    list_display = ("merchant_refund_id", "order_number", "payment", "amount_rupees", "status", "reason",
                    "requested_by", "created_at", "completed_at")
    list_filter = ("status", "created_at")
    search_fields = ("merchant_refund_id", "utr", "payment__merchant_reference", "payment__order__order_number")
    list_select_related = ("payment", "payment__order")
    readonly_fields = ["order_number", *[f.name for f in Refund._meta.fields]]

    @admin.display(description="order", ordering="payment__order__order_number")
    def order_number(self, obj: Refund) -> str:
        return order_link(obj.payment.order)

    @admin.display(description="amount", ordering="amount")
    def amount_rupees(self, obj: Refund) -> str:
        return rupees(obj.amount)
