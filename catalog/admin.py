from django.contrib import admin

from catalog.models import CatalogSnapshot
from kiosk_project.core.branch_access import BranchScopedAdmin


@admin.register(CatalogSnapshot)
class CatalogSnapshotAdmin(BranchScopedAdmin, admin.ModelAdmin):
    list_display = ("branch_code", "channel", "item_count", "etag", "fetched_at", "changed_at")
    readonly_fields = ("branch_code", "channel", "item_count", "etag", "fetched_at", "changed_at")
    exclude = ("body",)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
