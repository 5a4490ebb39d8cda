from django.contrib import admin, messages
from django.http import HttpRequest

from kiosk_project.core.models import KioskDevice


@admin.register(KioskDevice)
class KioskDeviceAdmin(admin.ModelAdmin):
    list_display = ("name", "branch_code", "channel", "allowed_order_modes", "is_active", "last_seen_at")
    list_filter = ("is_active", "branch_code", "channel")
    search_fields = ("name",)
    readonly_fields = ("key_prefix", "created_at", "last_seen_at")
    actions = ["rotate_key"]

    def save_model(self, request: HttpRequest, obj: KioskDevice, form, change: bool) -> None:  # type: ignore[no-untyped-def]
        if not change:
            key = obj.issue_key()
            messages.warning(request, f"Key for {obj.name} (shown once, copy it now): {key}")
        super().save_model(request, obj, form, change)

    @admin.action(description="Issue a new key (the old one stops working)")
    def rotate_key(self, request: HttpRequest, queryset) -> None:  # type: ignore[no-untyped-def]
        for device in queryset:
            key = device.issue_key()
            device.save(update_fields=["key_prefix", "key_hash"])
            messages.warning(request, f"New key for {device.name} (shown once): {key}")
