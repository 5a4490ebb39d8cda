from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class BackOfficeConfig(AppConfig):
    default = True
    name = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        from django.core import checks

        from backoffice.checks import check_seller_settings

        checks.register(check_seller_settings)


class BackOfficeAdminConfig(admin_apps.AdminConfig):
    """The Django admin, with the back office's site (index with problems, search, board, reports)."""

    default = False
    default_site = "backoffice.site.BackOfficeSite"
