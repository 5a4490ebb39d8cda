"""Back office: find any order in seconds and read its whole story on one screen."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path

from orders.models import Order, OrderEvent, OrderLine
from orders.printing import DOCUMENTS, order_print


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

    def get_urls(self) -> list[URLPattern]:
        custom = [path("<uuid:order_id>/print/<str:document>/", self.admin_site.admin_view(self.print_view),
                       name="orders_order_print")]
        return custom + super().get_urls()

    def print_view(self, request: HttpRequest, order_id: str, document: str) -> HttpResponse:
        """A printable KOT or bill; each print is recorded, reprints are marked DUPLICATE."""
        if document not in DOCUMENTS:
            raise Http404("Unknown document")
        order = get_object_or_404(Order, pk=order_id)
        if not self.has_view_permission(request, order):
            raise PermissionDenied
        context = order_print(order=order, document=document, actor=f"staff:{request.user.get_username()}")
        return render(request, f"orders/print/{document}.html", context)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
