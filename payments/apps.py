from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        checks.register(check_payment_settings, checks.Tags.compatibility)
        from payments import status_cache  # noqa: F401  (subscribes the status document's copy to row changes)


def check_payment_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Refuse settings that would silently do the wrong thing with money."""
    from django.conf import settings

    errors: list[checks.CheckMessage] = []
    if settings.PHONEPE_API not in ("v1", "v2"):
        errors.append(checks.Error(f"PHONEPE_API must be v1 or v2, not {settings.PHONEPE_API!r}", id="payments.E001"))
    if settings.PAYMENT_LATE_SUCCESS_POLICY not in ("refund", "confirm"):
        errors.append(checks.Error("PAYMENT_LATE_SUCCESS_POLICY must be refund or confirm, not "
                                   f"{settings.PAYMENT_LATE_SUCCESS_POLICY!r}", id="payments.E002"))
    if settings.PAYMENT_QR_EXPIRY_SECONDS < 300:
        errors.append(checks.Warning("PAYMENT_QR_EXPIRY_SECONDS is below PhonePe's 300 s UPI_QR minimum; "
                                     "PhonePe will keep the QR alive longer than we expect", id="payments.W001"))
    return errors
