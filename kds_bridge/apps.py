from django.apps import AppConfig


class KdsBridgeConfig(AppConfig):
    name = "kds_bridge"
    verbose_name = "Kitchen"
