"""Back office: every kitchen delivery, its attempts, and a resend button (read-only otherwise)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from kds_bridge.models import KitchenDelivery, KitchenDeliveryAttempt
from kds_bridge.recovery import kitchen_delivery_resend
from kiosk_project.core.branch_access import BranchScopedAdmin


def age(since: Any) -> str:
    if since is None:
        return "-"
    seconds = int((timezone.now() - since).total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class KitchenDeliveryAttemptInline(admin.TabularInline):
    model = KitchenDeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "finished_at", "outcome", "looked_up", "http_status", "error", "worker")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(KitchenDelivery)
class KitchenDeliveryAdmin(BranchScopedAdmin, admin.ModelAdmin):
    branch_field = "order__branch_code"
    list_display = ("order_number", "status", "kitchen_status", "attempts", "short_error", "rista_invoice_number",
                    "age")
    list_filter = ("status", "order__kitchen_status")
    search_fields = ("order__order_number", "source_invoice_number", "rista_invoice_number", "order__id")
    list_select_related = ("order",)
    readonly_fields = ("order_number", "order", "status", "attempts", "next_attempt_at", "claimed_until", "claimed_by",
                       "source_invoice_number", "rista_invoice_number", "last_error", "created_at", "updated_at",
                       "delivered_at", "alerted_at")
    inlines = [KitchenDeliveryAttemptInline]
    actions = ["resend_to_kitchen"]
    ordering = ("-created_at",)

    @admin.display(description="order", ordering="order__order_number")
    def order_number(self, obj: KitchenDelivery) -> str:
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}"><b>{}</b></a>', url, obj.order.order_number)

    @admin.display(description="kitchen", ordering="order__kitchen_status")
    def kitchen_status(self, obj: KitchenDelivery) -> str:
        return obj.order.get_kitchen_status_display()

    @admin.display(description="last error")
    def short_error(self, obj: KitchenDelivery) -> str:
        return obj.last_error[:80]

    @admin.display(description="age", ordering="created_at")
    def age(self, obj: KitchenDelivery) -> str:
        return age(obj.created_at)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        # The row itself stays read-only; resending has its own permission.
        return request.user.has_perm("kds_bridge.resend_kitchendelivery")

    @admin.action(description="Resend to kitchen (never a second ticket)", permissions=["resend"])
    def resend_to_kitchen(self, request: HttpRequest, queryset: QuerySet[KitchenDelivery]) -> None:
        for delivery in queryset.select_related("order"):
            result = kitchen_delivery_resend(order_id=delivery.order_id, actor=f"staff:{request.user}")
            level = messages.SUCCESS if result.queued else messages.WARNING
            self.message_user(request, f"{delivery.order.order_number}: {result.message}", level)
