from django.apps import AppConfig


class KioskScreenConfig(AppConfig):
    name = "kiosk_screen"
    verbose_name = "Kiosk screen"
