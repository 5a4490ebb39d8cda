"""Reads for the kiosk API and the back office."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from kiosk_project.core.errors import NotFound
from payments.models import Payment, PaymentEvent


class PaymentNotFound(NotFound):
    code = "PAYMENT_NOT_FOUND"
    message = "No such payment."


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


def payment_ledger(*, payment_id: Any) -> QuerySet[PaymentEvent]:
    return PaymentEvent.objects.filter(payment_id=payment_id).order_by("received_at", "id")


def payments_flagged() -> QuerySet[Payment]:
    """What a manager should look at: amount mismatches, late or duplicate payments, failed refunds."""
    return Payment.objects.filter(flagged_at__isnull=False).select_related("order").order_by("-flagged_at")
