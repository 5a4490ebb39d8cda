from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest

from kiosk_project.core.branch_access import BranchScopedAdmin, branch_codes_visible_to
from kiosk_project.core.branches import branch_config
from kiosk_project.core.models import Branch, KioskDevice


@admin.register(KioskDevice)
class KioskDeviceAdmin(BranchScopedAdmin, admin.ModelAdmin):
    list_display = ("name", "branch_code", "channel", "allowed_order_modes", "is_active", "last_seen_at")
    list_filter = ("is_active", "branch_code", "channel")
    search_fields = ("name",)
    readonly_fields = ("key_prefix", "created_at", "last_seen_at")
    actions = ["rotate_key"]

    def formfield_for_dbfield(self, db_field, request: HttpRequest, **kwargs):  # type: ignore[no-untyped-def]
        if db_field.name == "branch_code":
            # Only the branches this user sees: a manager cannot put a kiosk (and its orders) in another's.
            codes = branch_codes_visible_to(request.user)
            rows = Branch.objects.order_by("code")
            rows = rows if codes is None else rows.filter(code__in=codes)
            choices = [(b.code, f"{b.code} ({b.display_name})") for b in rows]
            return forms.ChoiceField(choices=choices, label="Branch", initial=settings.KIOSK_BRANCH_CODE)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

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


@admin.register(Branch)
class BranchAdmin(BranchScopedAdmin, admin.ModelAdmin):
    """Editable by users with core.change_branch; blank fields follow the deployment's settings."""

    branch_field = "code"
    filter_horizontal = ("staff",)

    list_display = ("code", "display_name", "is_open", "store_now", "time_zone_shown", "channels_shown")
    list_filter = ("is_open",)
    search_fields = ("code", "display_name")
    readonly_fields = ("store_now", "effective", "created_at", "updated_at")
    actions = ["close_now", "open_now"]
    fieldsets = (
        (None, {"fields": ("code", "display_name", "is_open", "store_now", "staff")}),
        ("Hours", {"fields": ("time_zone", "opening_hours", "business_day_start_hour", "order_expiry_seconds")}),
        ("Menu and order modes", {"fields": ("channels", "default_channel", "enabled_order_modes",
                                             "order_mode_channels", "order_mode_charge_modes")}),
        ("Seller on GST invoices", {"fields": ("legal_name", "trade_name", "address", "gstin", "fssai", "phone",
                                               "invoice_prefix")}),
        ("In effect (blank fields take the deployment's settings)", {"fields": ("effective", "created_at",
                                                                                 "updated_at")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Branch | None = None) -> tuple[str, ...]:
        # The code is Rista's branchCode and keys orders, counters and menus: fixed once created.
        return (*self.readonly_fields, "code") if obj is not None else self.readonly_fields

    @admin.display(description="store now")
    def store_now(self, obj: Branch) -> str:
        if obj.pk is None:
            return "-"
        status = branch_config(obj.code).store_status()
        if status.open:
            return f"open until {status.closes_at:%a %H:%M}" if status.closes_at else "open"
        return f"closed, opens {status.next_open_at:%a %H:%M}" if status.next_open_at else "closed"

    @admin.display(description="time zone")
    def time_zone_shown(self, obj: Branch) -> str:
        return branch_config(obj.code).time_zone

    @admin.display(description="channels")
    def channels_shown(self, obj: Branch) -> str:
        return ", ".join(branch_config(obj.code).channels)

    @admin.display(description="effective configuration")
    def effective(self, obj: Branch) -> str:
        if obj.pk is None:
            return "-"
        config = branch_config(obj.code)
        return (f"channels {', '.join(config.channels)} (default {config.default_channel}); order modes "
                f"{', '.join(config.order_modes)}; time zone {config.time_zone}; "
                f"day starts {config.business_day_start_hour}:00; "
                f"unpaid orders expire after {config.order_expiry_seconds} s; invoices {config.invoice_prefix}/...; "
                f"seller {config.legal_name or '(none)'}, GSTIN {config.gstin or '(none)'}")

    @admin.action(description="Close now (kiosks refuse new orders; paid orders carry on)",
                  permissions=["change"])
    def close_now(self, request: HttpRequest, queryset) -> None:  # type: ignore[no-untyped-def]
        for branch in queryset:
            branch.is_open = False
            branch.save(update_fields=["is_open", "updated_at"])
        messages.success(request, f"Closed: {', '.join(b.code for b in queryset)}")

    @admin.action(description="Open (by its hours)", permissions=["change"])
    def open_now(self, request: HttpRequest, queryset) -> None:  # type: ignore[no-untyped-def]
        for branch in queryset:
            branch.is_open = True
            branch.save(update_fields=["is_open", "updated_at"])
        messages.success(request, f"Opened: {', '.join(b.code for b in queryset)}")
