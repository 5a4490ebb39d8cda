"""When to ask PhonePe about a pending payment: its documented reconciliation schedule, as pure functions.

PhonePe (check-status-api-1, "Reconciliation [MANDATORY]"): first check 20-25 s
after the transaction starts, then every 3 s for 30 s, every 6 s for 60 s, every
10 s for 60 s, every 30 s for 60 s, then every minute until the timeout. With the
defaults the checks fall at (seconds after initiation):

    25, 28 ... 55 (x10), 61 ... 115 (x10), 125 ... 175 (x6), 205, 235, 295, 355, ...

and a last check at the horizon: the QR's expiry plus PAYMENT_RECONCILE_GRACE_SECONDS.
After that PhonePe has either told us the outcome or never will.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.utils import timezone

from payments.models import Payment


@functools.lru_cache(maxsize=64)
def _offsets(first: int, steps: tuple[tuple[int, int], ...], tail: int, horizon: float) -> tuple[float, ...]:
    offsets: list[float] = [float(first)]
    t = float(first)
    for every, span in steps:
        for _ in range(int(span // every)):
            t += every
            offsets.append(t)
    while t + tail < horizon:
        t += tail
        offsets.append(t)
    kept = [o for o in offsets if o < horizon]
    return (*kept, float(horizon))


def default_horizon() -> float:
    return float(settings.PAYMENT_QR_EXPIRY_SECONDS + settings.PAYMENT_RECONCILE_GRACE_SECONDS)


def check_offsets(horizon_seconds: float | None = None) -> tuple[float, ...]:
    """Every scheduled check, in seconds after initiation, ending with one at the horizon."""
    horizon = default_horizon() if horizon_seconds is None else float(horizon_seconds)
    steps = tuple((int(every), int(span)) for every, span in settings.PAYMENT_RECONCILE_STEPS)
    return _offsets(int(settings.PAYMENT_RECONCILE_FIRST_CHECK), steps, int(settings.PAYMENT_RECONCILE_TAIL_EVERY),
                    horizon)


def next_check_delay(age_seconds: float, horizon_seconds: float | None = None) -> float | None:
    """Seconds from now (a payment `age_seconds` old) to its next check; None once past the horizon.

    Measured from the real age, not from the previous slot, so a reconciler that
    fell behind resumes the schedule instead of firing a burst of catch-up checks.
    """
    for offset in check_offsets(horizon_seconds):
        if offset > age_seconds:
            return offset - age_seconds
    return None


def refund_next_check_delay(check_count: int) -> float:
    """Refunds resolve in minutes (PhonePe: ~90 s), and hours for some banks: back off, with a cap."""
    first = float(settings.PAYMENT_REFUND_FIRST_CHECK)
    return min(first * (2 ** min(check_count, 16)), float(settings.PAYMENT_REFUND_MAX_CHECK_EVERY))


def horizon_of(payment: Payment) -> float:
    """Seconds after the attempt started when we stop asking: QR expiry + grace."""
    if payment.expires_at is None:
        return default_horizon()
    started = payment.initiated_at or payment.created_at
    return max((payment.expires_at - started).total_seconds(), 0.0) + settings.PAYMENT_RECONCILE_GRACE_SECONDS


def age_of(payment: Payment, now: Any = None) -> float:
    started = payment.initiated_at or payment.created_at
    return ((now or timezone.now()) - started).total_seconds()
