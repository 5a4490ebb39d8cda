"""Back office: find any order in seconds and read its whole story on one screen."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from orders.models import Order, OrderEvent, OrderLine


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("sku", "name", "quantity", "unit_price", "option_amount", "discount_amount", "tax_amount",
              "total_amount", "note")
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("created_at", "kind", "from_status", "to_status", "actor", "reason", "data")
    readonly_fields = fields
    ordering = ("created_at", "id")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("order_number", "business_day", "status", "kitchen_status", "total_amount_include_tax",
                    "order_mode", "device", "created_at")
    list_filter = ("status", "kitchen_status", "order_mode", "business_day", "branch_code")
    search_fields = ("=id", "order_number", "idempotency_key")
    date_hierarchy = "created_at"
    list_select_related = ("device",)
    inlines = [OrderLineInline, OrderEventInline]
    readonly_fields = [f.name for f in Order._meta.fields]
    fieldsets = (
        ("Order", {"fields": ("id", "order_number", "business_day", "branch_code", "channel", "order_mode",
                              "charge_mode", "device", "status", "kitchen_status", "status_reason")}),
        ("Totals", {"fields": ("subtotal", "discount_total", "items_net_total", "charge_total", "tax_total",
                               "round_off", "total_amount_exclude_tax", "total_amount_include_tax", "currency",
                               "pricing", "catalog_etag")}),
        ("Timeline", {"fields": ("created_at", "updated_at", "expires_at", "confirmed_at", "idempotency_key",
                                 "request_hash")}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from kiosks; history is never hand-written

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
