"""Asking PhonePe's status API about one payment: one question in flight at a time, floods coalesced.

Every caller (a callback, the reconciler, the expiry job, the management command)
goes through `payment_check`, which first claims the payment with one conditional
UPDATE and releases it afterwards:

    claim    WHERE status_check_until IS NULL OR status_check_until <= now
             SET   status_check_until = now + lease   (the longest one check can take)
    release  SET   status_check_until = NULL

A caller that loses the claim does not ask: at most one status call per payment is
in flight. Callbacks also stamp `callback_checked_at`, and a callback that carries
no new information (a repeat of one we recorded, or a state other than COMPLETED)
within PAYMENT_CALLBACK_COALESCE_SECONDS of that stamp is coalesced into that
check. So 100 copies of a callback cost one status call, not 100, and a flood of
them cannot push the merchant into PhonePe's rate limit. The first COMPLETED
callback of a payment is never coalesced (it may be the news of a payment a
moment-old check did not see yet): it waits for a check in flight to finish and
then asks, unless a check that started after that callback arrived has finished
meanwhile (a copy of the same callback won the race to the claim): that check saw
what ours would see.

The claim lives in PostgreSQL beside the row it protects: it holds across
processes and through a Redis outage, and it is a timestamp, not a lock, so
nothing is held over the network call and a process that dies mid-check frees
the payment when its lease runs out.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from kiosk_project.core.logging import log_context
from payments.gateway import GatewayNotFound, StatusResult, get_gateway
from payments.gateway.base import FAILED, PENDING
from payments.ledger import ledger_record
from payments.models import OPEN_STATUSES, EventSource, Payment, PaymentStatus
from payments.status_apply import Applied, payment_apply_status

log = logging.getLogger(__name__)

_WAIT_POLL = 0.05


def lease_seconds() -> float:
    # One check is up to three requests (a v2 token, the status call, its retry after a 401).
    return 3 * (float(settings.PHONEPE_CONNECT_TIMEOUT) + float(settings.PHONEPE_READ_TIMEOUT))


def coalesce_seconds() -> float:
    return float(settings.PAYMENT_CALLBACK_COALESCE_SECONDS)


def _not_in_flight(now: datetime) -> Q:
    return Q(status_check_until__isnull=True) | Q(status_check_until__lte=now)


def _claim(payment_id: Any, *, callback: bool, coalesce: bool, unchecked_since: datetime | None) -> bool:
    now = timezone.now()
    free = _not_in_flight(now)
    if unchecked_since is not None:
        free &= Q(callback_checked_at__isnull=True) | Q(callback_checked_at__lt=unchecked_since)
    if coalesce:
        window_start = now - timedelta(seconds=coalesce_seconds())
        free &= Q(callback_checked_at__isnull=True) | Q(callback_checked_at__lte=window_start)
    stamp: dict[str, Any] = {"status_check_until": now + timedelta(seconds=lease_seconds())}
    if callback:
        stamp["callback_checked_at"] = now
    return Payment.objects.filter(free, pk=payment_id).update(**stamp) == 1


def payment_check(*, payment_id: Any, source: str = EventSource.STATUS_CHECK, callback: bool = False,
                  coalesce: bool = False, wait: float = 0.0,
                  while_status_in: tuple[str, ...] | None = None,
                  unless_checked_since: datetime | None = None) -> Applied | None:
    """Ask PhonePe's status API about one payment (no transaction held) and apply the answer.

    Returns None, without asking, when another check of this payment is in flight
    (after waiting up to `wait` seconds for it to finish) or, with `coalesce`, when
    a callback's check ran within the coalescing window, or, with `while_status_in`, when the
    payment left those statuses while we waited (another check decided it: nothing left to
    ask), or, with `unless_checked_since`, when a callback's check that started at or after that
    moment has finished while we waited (it saw what we would see). `callback` stamps the
    check as a callback's. Raises GatewayUnavailable/GatewayRejected when PhonePe could not
    answer; the caller decides when to ask again.
    """
    deadline = time.monotonic() + wait
    while not _claim(payment_id, callback=callback, coalesce=coalesce, unchecked_since=unless_checked_since):
        if unless_checked_since is not None and _covered_since(payment_id, unless_checked_since):
            return None
        if time.monotonic() >= deadline:
            return None
        time.sleep(_WAIT_POLL)
    try:
        payment = Payment.objects.only("id", "order_id", "merchant_reference", "provider", "status", "created_at",
                                       "initiated_at").get(pk=payment_id)
        if while_status_in is not None and payment.status not in while_status_in:
            return None
        with log_context(order_id=str(payment.order_id)):
            gateway = get_gateway(payment.provider)
            try:
                result = gateway.status(payment.merchant_reference)
            except GatewayNotFound:
                result = _not_found_result(payment)
            ledger_record(source=EventSource.STATUS_CHECK, reference=payment.merchant_reference,
                          state=result.state, payload=result.raw, payment_id=payment.id)
            return payment_apply_status(payment_id=payment.id, status_result=result, source=source)
    finally:
        Payment.objects.filter(pk=payment_id).update(status_check_until=None)


def _covered_since(payment_id: Any, since: datetime) -> bool:
    """A callback's check that started at or after `since` has finished (its answer is applied)."""
    return Payment.objects.filter(_not_in_flight(timezone.now()), pk=payment_id,
                                  callback_checked_at__gte=since).exists()


def _not_found_result(payment: Payment) -> StatusResult:
    """PhonePe has no such order. For an attempt whose pay call never got through (CREATED and stale)
    that is a failure; otherwise treat it as not-yet-visible and keep to the schedule."""
    stale = payment.created_at < timezone.now() - timedelta(seconds=settings.PAYMENT_INITIATE_STALE_SECONDS)
    state = FAILED if payment.status == PaymentStatus.CREATED and stale else PENDING
    return StatusResult(state=state, amount_paise=None, provider_txn_id="", utr="",
                        raw={"note": "PhonePe: not found"}, error_code="NOT_FOUND_AT_PHONEPE")


def payment_check_soon(*, payment_id: Any, within: float = 0.0) -> None:
    """Make the reconciler look at an open payment within `within` seconds (a callback we could not
    verify yet, or one coalesced into a check that may have started before PhonePe saw the payment).
    Only ever brings the next check forward."""
    target = timezone.now() + timedelta(seconds=within)
    (Payment.objects.filter(pk=payment_id, status__in=OPEN_STATUSES)
     .filter(Q(next_check_at__isnull=True) | Q(next_check_at__gt=target)).update(next_check_at=target))
