"""Reads for the kiosk API and the back office."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from kiosk_project.core.errors import NotFound
from payments.models import Payment


class PaymentNotFound(NotFound):
    code = "PAYMENT_NOT_FOUND"


def payment_get_for_kiosk(*, payment_id: Any, device_id: int) -> Payment:
    """A kiosk sees only payments of its own orders; anything else is simply not found."""
    try:
        pk = UUID(str(payment_id))
    except ValueError as exc:
        raise PaymentNotFound() from exc
    payment = Payment.objects.select_related("order").filter(pk=pk, order__device_id=device_id).first()
    if payment is None:
        raise PaymentNotFound()
    return payment

