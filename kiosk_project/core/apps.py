from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kiosk_project.core"
    label = "core"
    verbose_name = "Kiosks"

    def ready(self) -> None:
        # Registers the signal receivers that invalidate every process's kiosk key cache on a device change,
        # in every process (web, worker, management commands), not only those that serve kiosk requests.
        from kiosk_project.core import (
            kiosk_auth,  # noqa: F401
            openapi,  # noqa: F401 (registers the Kiosk security scheme)
        )
