from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kiosk_project.core"
    label = "core"
    verbose_name = "Kiosks"
