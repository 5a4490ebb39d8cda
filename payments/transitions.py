"""The one way a payment's or a refund's status changes: through its transition table (payments.models).

Both run with the row locked and loaded by the caller (payments.locks: order, then payment, then
refund), so the state they move from is the true one; a move the table does not allow raises
TransitionRefused after an error log and a metric (core.transitions).
"""

from __future__ import annotations

from collections.abc import Iterable

from kiosk_project.core.transitions import instance_transition
from payments.models import PAYMENT_STATUS_TRANSITIONS, REFUND_STATUS_TRANSITIONS, Payment, Refund


def payment_transition(payment: Payment, *, to: str, fields: Iterable[str] = ()) -> str:
    """Move a locked payment to `to`, saving `fields` from the instance with it; returns the previous status."""
    return instance_transition(payment, table=PAYMENT_STATUS_TRANSITIONS, to=to, entity="payment", fields=fields)


def refund_transition(refund: Refund, *, to: str, fields: Iterable[str] = ()) -> str:
    """Move a locked refund to `to`, saving `fields` from the instance with it; returns the previous status."""
    return instance_transition(refund, table=REFUND_STATUS_TRANSITIONS, to=to, entity="refund", fields=fields)
