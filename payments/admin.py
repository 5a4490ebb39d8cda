"""Back office: every payment attempt with its PhonePe ledger, read-only; refunds in full, audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from kiosk_project.core.errors import ApplicationError
from payments.gateway import GatewayError
from payments.models import Payment, PaymentEvent, Refund
from payments.refunds import refund_create


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
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("merchant_reference", "order_number", "amount", "paid_amount", "status", "flag_reason",
                    "provider", "created_at")
    list_filter = ("status", FlaggedFilter, "provider", "created_at")
    search_fields = ("merchant_reference", "provider_order_id", "utr", "order__order_number", "=order__id")
    list_select_related = ("order",)
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Payment._meta.fields]
    inlines = [RefundInline, PaymentEventInline]
    actions = ["refund_in_full"]

    @admin.display(description="order", ordering="order__order_number")
    def order_number(self, obj: Payment) -> str:
        return obj.order.order_number

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    @admin.action(description="Refund in full (PhonePe)", permissions=["refund"])
    def refund_in_full(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        actor = f"staff:{request.user.get_username()}"
        for payment in queryset:
            try:
                refund = refund_create(payment_id=payment.pk, reason=f"manager refund by {actor}", requested_by=actor)
            except (ApplicationError, GatewayError) as exc:
                self.message_user(request, f"{payment.merchant_reference}: {exc}", messages.ERROR)
                continue
            self.message_user(request, f"{payment.merchant_reference}: refund {refund.merchant_refund_id} "
                                       f"{refund.status}", messages.SUCCESS)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("merchant_refund_id", "payment", "amount", "status", "reason", "requested_by", "created_at",
                    "completed_at")
    list_filter = ("status", "created_at")
    search_fields = ("merchant_refund_id", "payment__merchant_reference", "payment__order__order_number")
    list_select_related = ("payment",)
    readonly_fields = [f.name for f in Refund._meta.fields]
