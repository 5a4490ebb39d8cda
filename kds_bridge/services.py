"""Getting every paid order to Rista exactly once, and the kitchen's progress back.

The hand-off and the send. Recovery and operator actions are in recovery.py,
Rista's callbacks in callbacks.py, reads in selectors.py. docs/kitchen.md has
the design: the outbox row written with the payment, the claim/lease protocol,
the failure policy and why the effect is exactly once.

Three phases per send, never network I/O inside a transaction:
1. claim (short transaction, `SELECT ... FOR UPDATE SKIP LOCKED`): PENDING and
   due, or SENDING with an expired lease -> SENDING with a fresh lease, one more
   attempt row;
2. talk to Rista (no transaction, no lock): look the sale up first if any earlier
   attempt may have reached Rista, else/then POST it, but never while an earlier
   POST that may have reached Rista could still be stored (`post_settles_at`);
3. record the outcome (new short transaction, re-reading the row under lock).
"""

from __future__ import annotations

import logging
import os
import random
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kds_bridge.models import AttemptOutcome, DeliveryStatus, KitchenDelivery, KitchenDeliveryAttempt
from kds_bridge.payload import SalePayloadError, sale_build, sale_to_wire, source_invoice_number
from kds_bridge.transitions import kitchen_delivery_transition
from kiosk_project.core import metrics
from kiosk_project.core.logging import log_context
from kiosk_project.core.tasks import enqueue_or_log
from kiosk_project.integrations.rista import RistaRejected, RistaUnavailable, get_client
from orders.models import KitchenStatus, Order, OrderStatus
from orders.services import order_kitchen_transition

log = logging.getLogger(__name__)

ACTOR = "kitchen"
DUE_SLACK = timedelta(seconds=1)


# --- timing --------------------------------------------------------------------------------------

def send_budget_seconds() -> float:
    """Longest a well-behaved send takes: a lookup and a POST, each at most connect + read timeout."""
    return 2 * (settings.RISTA_CONNECT_TIMEOUT + settings.RISTA_READ_TIMEOUT)


def send_time_limits() -> tuple[float, float]:
    """(soft, hard) Celery time limits of one send; the hard one also bounds a trickling server.

    The hard limit is the send budget plus KDS_SEND_TIME_LIMIT_MARGIN (default 10 s); the soft
    one fires halfway through that margin, so the task can still record its attempt.
    """
    budget, margin = send_budget_seconds(), settings.KDS_SEND_TIME_LIMIT_MARGIN
    return budget + margin / 2, budget + margin


def lease_seconds() -> float:
    """A claim outlives the send's hard time limit (by KDS_LEASE_MARGIN), so a live sender is
    never taken over: by then the hard limit has killed it."""
    return send_time_limits()[1] + settings.KDS_LEASE_MARGIN


def retry_delay(attempts: int) -> float:
    """Capped exponential backoff with equal jitter: half the step fixed, half random."""
    step = min(settings.KDS_RETRY_MAX_DELAY, settings.KDS_RETRY_BASE_DELAY * 2 ** max(attempts - 1, 0))
    return step / 2 + random.uniform(0, step / 2)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


# --- hand-off ------------------------------------------------------------------------------------

def kitchen_delivery_create(*, order_id: Any, order: Order | None = None) -> KitchenDelivery:
    """Write the outbox row for a just-confirmed order and send it after commit.

    Must run inside the transaction that confirms the order (payments.confirmation.
    order_confirm_paid is the one caller): the row commits with the payment or not at
    all. Idempotent: a second call returns the existing row. `order`: the caller's copy
    of the row, when it has one (only its branch, business day and number are read,
    which never change after checkout).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("kitchen_delivery_create must run inside the order-confirming transaction")
    if order is None:
        order = Order.objects.only("branch_code", "business_day", "order_number").get(pk=order_id)
    delivery, created = KitchenDelivery.objects.get_or_create(
        order_id=order_id,
        defaults={"source_invoice_number": source_invoice_number(
            branch_code=order.branch_code, business_day=order.business_day, order_number=order.order_number)},
    )
    if created:
        delivery_id = str(delivery.id)
        transaction.on_commit(lambda: kitchen_send_enqueue(delivery_id=delivery_id, order_id=str(order_id)))
    return delivery


def kitchen_send_enqueue(*, delivery_id: str, order_id: str | None = None) -> bool:
    """Publish a send task. A broker failure is logged, never raised: the sweeper will find the row."""
    # tasks.py imports this module (the task calls kitchen_sale_send), so the service reaches its task
    # lazily: HackSoft's task/service pair, the one deferred import allowed here.
    from kds_bridge.tasks import kitchen_send_task

    return enqueue_or_log(kitchen_send_task, delivery_id, metric="kitchen.enqueue_failed",
                          recovered_by="the kitchen sweeper", order_id=order_id)


# --- sending -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SendResult:
    """What one call of kitchen_sale_send did; `retry_at` tells the task when to try again."""

    outcome: str  # an AttemptOutcome value, or busy / not_due / closed / missing when nothing was sent
    retry_at: datetime | None = None


BUSY, NOT_DUE, CLOSED, MISSING = "busy", "not_due", "closed", "missing"


@dataclass(frozen=True)
class _Claim:
    delivery_id: Any
    order_id: Any
    attempt_id: int
    number: int
    created_at: datetime
    settles_at: datetime | None  # an earlier POST may still be stored by Rista until then


class _NotSettled(Exception):
    """The lookup missed the sale, but an earlier POST may still be stored: do not post again yet."""

    def __init__(self, settles_at: datetime) -> None:
        super().__init__(f"not in Rista yet; an earlier POST may still be stored until {settles_at.isoformat()}")
        self.settles_at = settles_at


def post_settle_delta() -> timedelta:
    return timedelta(seconds=settings.KDS_POST_SETTLE_SECONDS)


def kitchen_sale_send(*, delivery_id: Any) -> SendResult:
    """Send one delivery's sale to Rista, at most one sender at a time; safe to call any number of times."""
    claim = _claim(delivery_id)
    if isinstance(claim, SendResult):
        return claim
    with log_context(order_id=str(claim.order_id)):
        try:
            payload = _payload(claim.order_id)
        except _NotPayable as exc:
            return _record_final(claim, outcome=AttemptOutcome.REJECTED, error=str(exc), alert=False)
        except SalePayloadError as exc:
            log.exception("kitchen sale cannot be built")
            return _record_final(claim, outcome=AttemptOutcome.REJECTED, error=f"payload: {exc}", alert=True)
        try:
            sale, outcome, looked_up = _deliver(claim, payload)
        except RistaRejected as exc:
            return _record_final(claim, outcome=AttemptOutcome.REJECTED, error=exc.message,
                                 http_status=exc.http_status, alert=True)
        except _NotSettled as exc:
            return _record_retry(claim, error=str(exc), outcome=AttemptOutcome.NOT_YET_FOUND,
                                 not_after=exc.settles_at)
        except RistaUnavailable as exc:
            posted_at = getattr(exc, "posted_at", None)
            return _record_retry(claim, error=exc.message, http_status=_http_status(exc),
                                 settles_at=posted_at + post_settle_delta() if posted_at else None)
        except Exception as exc:  # a bug or a soft time limit: ambiguous, so look up before any resend
            log.exception("kitchen send crashed")
            # We may have posted at any moment up to now: Rista may store it until now + the settle time.
            return _record_retry(claim, error=f"{type(exc).__name__}: {exc}",
                                 settles_at=timezone.now() + post_settle_delta())
        return _record_delivered(claim, sale=sale, outcome=outcome, looked_up=looked_up)


class _NotPayable(Exception):
    pass


def _claim(delivery_id: Any) -> _Claim | SendResult:
    now = timezone.now()
    with transaction.atomic(durable=True):  # a phase of the send: Rista is never called inside it
        delivery = (KitchenDelivery.objects.select_for_update(skip_locked=True).filter(pk=delivery_id)
                    .only("id", "order_id", "status", "attempts", "next_attempt_at", "claimed_until", "created_at",
                          "post_settles_at")
                    .first())
        if delivery is None:
            # Locked by another short transaction (a claim, a record, the sweeper) which owns it; or gone.
            exists = KitchenDelivery.objects.filter(pk=delivery_id).exists()
            return SendResult(BUSY if exists else MISSING)
        if delivery.status == DeliveryStatus.SENDING and delivery.claimed_until and delivery.claimed_until > now:
            return SendResult(BUSY, retry_at=delivery.claimed_until)
        # A second of slack: a retry message may arrive a hair early (clocks, countdown rounding).
        if delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at > now + DUE_SLACK:
            return SendResult(NOT_DUE, retry_at=delivery.next_attempt_at)
        if delivery.status not in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
            return SendResult(CLOSED)
        # An attempt without an outcome belongs to a sender that died or lost its lease. It may have
        # posted at any moment until its hard time limit killed it, and Rista may store that post
        # for the settle time after it.
        settles_at = delivery.post_settles_at
        if delivery.attempts:  # the first claim has no earlier attempt to look for (each claim counts itself)
            interrupted = KitchenDeliveryAttempt.objects.filter(delivery_id=delivery.id,
                                                                outcome=AttemptOutcome.IN_PROGRESS)
            for started_at in interrupted.values_list("started_at", flat=True):
                dead_post = started_at + timedelta(seconds=send_time_limits()[1]) + post_settle_delta()
                settles_at = max(settles_at, dead_post) if settles_at else dead_post
            interrupted.update(outcome=AttemptOutcome.INTERRUPTED, finished_at=now,
                               error="no outcome recorded: the worker died or its lease expired")
        worker = _worker_name()
        delivery.attempts += 1
        kitchen_delivery_transition(
            delivery_id=delivery.id, to=DeliveryStatus.SENDING, held=delivery.status, attempts=delivery.attempts,
            claimed_until=now + timedelta(seconds=lease_seconds()), claimed_by=worker, post_settles_at=settles_at,
            updated_at=now)
        attempt = KitchenDeliveryAttempt.objects.create(delivery_id=delivery.id, number=delivery.attempts,
                                                        started_at=now, worker=worker)
    return _Claim(delivery_id=delivery.id, order_id=delivery.order_id, attempt_id=attempt.id,
                  number=delivery.attempts, created_at=delivery.created_at, settles_at=settles_at)


def _payload(order_id: Any) -> dict[str, Any]:
    order = Order.objects.get(pk=order_id)
    if order.status != OrderStatus.CONFIRMED:
        # Defence in depth: only a paid order reaches the kitchen (e.g. refunded before it could be sent).
        raise _NotPayable(f"order is {order.status}, not CONFIRMED: not sent to the kitchen")
    lines = list(order.lines.all())
    return sale_to_wire(sale_build(order=order, lines=lines, payment_reference=order.payment_reference or None))


def _deliver(claim: _Claim, payload: dict[str, Any]) -> tuple[dict[str, Any], str, bool]:
    """(sale, outcome, looked_up). Any earlier attempt may have reached Rista: look before posting again.

    A lookup that misses the sale only counts if it was made after the last POST that may have
    reached Rista could no longer be stored (`settles_at`); before that we wait (`_NotSettled`),
    never post. So every re-post follows a lookup made, at most a few ms earlier, after that moment.
    """
    client = get_client()
    txn = str(claim.order_id)
    looked_up = claim.number > 1
    if looked_up:
        looked_at = timezone.now()
        found = _lookup(client, txn)
        if found is not None:
            return found, AttemptOutcome.DUPLICATE_FOUND, True
        if claim.settles_at is not None and looked_at < claim.settles_at:
            raise _NotSettled(claim.settles_at)
    posted_at = timezone.now()
    try:
        try:
            sale = client.post_sale(payload)
        except RistaRejected as exc:
            if exc.http_status != 409:
                raise
            # Some Rista setups answer 409 to a repeated orderTransactionId: the sale exists; fetch it.
            found = _lookup(client, txn)
            if found is None:
                raise RistaUnavailable("Rista answered 409 but the sale cannot be found yet") from exc
            return found, AttemptOutcome.DUPLICATE_FOUND, True
        if not isinstance(sale, dict) or not sale.get("invoiceNumber"):
            # Rista may have stored it anyway: retry, and the next attempt looks it up first.
            raise RistaUnavailable("Rista's answer to POST /sale has no invoiceNumber")
    except RistaUnavailable as exc:
        exc.posted_at = posted_at  # type: ignore[attr-defined]  # the POST may have reached Rista
        raise
    return sale, AttemptOutcome.DELIVERED, looked_up


def _lookup(client: Any, order_transaction_id: str) -> dict[str, Any] | None:
    try:
        sale = client.get_sale(order_transaction_id=order_transaction_id)
    except RistaRejected as exc:
        # Rista's documented GET /sale takes only ?invoice=; a tenant without the orderTransactionId
        # lookup answers 4xx. Then Rista's own dedupe on orderTransactionId is what protects us.
        log.warning("sale lookup by orderTransactionId refused; posting anyway",
                    extra={"http_status": exc.http_status})
        metrics.incr("kitchen.lookup_unsupported")
        return None
    if isinstance(sale, dict) and sale.get("invoiceNumber"):
        return sale
    return None


def _http_status(exc: Exception) -> int | None:
    details = getattr(exc, "details", None)
    return details.get("http_status") if isinstance(details, dict) else None


def _finish_attempt(claim: _Claim, *, outcome: str, now: datetime, error: str = "", http_status: int | None = None,
                    looked_up: bool | None = None) -> None:
    fields: dict[str, Any] = {"outcome": outcome, "finished_at": now, "error": error[:2000],
                              "http_status": http_status}
    if looked_up is not None:
        fields["looked_up"] = looked_up
    KitchenDeliveryAttempt.objects.filter(pk=claim.attempt_id).update(**fields)


def _locked(claim: _Claim) -> tuple[KitchenDelivery, bool, str]:
    """The row under lock, whether our claim is still the current one (nobody took over), and the order's
    kitchen status as read under its lock.

    Locks the order first, then the delivery: the one lock order of the whole
    system (payment confirmation and operator resends lock in that order too).
    """
    kitchen_status = (Order.objects.select_for_update().filter(pk=claim.order_id)
                      .values_list("kitchen_status", flat=True).get())
    delivery = KitchenDelivery.objects.select_for_update().get(pk=claim.delivery_id)
    current = delivery.status == DeliveryStatus.SENDING and delivery.attempts == claim.number
    return delivery, current, kitchen_status


def _record_delivered(claim: _Claim, *, sale: dict[str, Any], outcome: str, looked_up: bool) -> SendResult:
    now = timezone.now()
    invoice = str(sale["invoiceNumber"])
    with transaction.atomic(durable=True):  # a phase of the send: Rista is never called inside it
        delivery, _, kitchen_status = _locked(claim)
        _finish_attempt(claim, outcome=outcome, now=now, looked_up=looked_up)
        if delivery.status != DeliveryStatus.DELIVERED:  # success stands even if our lease had lapsed
            kitchen_delivery_transition(delivery_id=delivery.pk, to=DeliveryStatus.DELIVERED, held=delivery.status,
                                        rista_invoice_number=invoice, delivered_at=now, claimed_until=None,
                                        last_error="")
            order_kitchen_transition(order_id=claim.order_id, to_status=KitchenStatus.SENT, held=kitchen_status,
                                     allowed_from=(KitchenStatus.NOT_SENT,), actor=ACTOR,
                                     reason="sale stored in Rista" if outcome == AttemptOutcome.DELIVERED
                                     else "sale found in Rista (sent by an earlier attempt)",
                                     data={"rista_invoice_number": invoice, "attempt": claim.number})
    metrics.incr("kitchen.delivered")
    if outcome == AttemptOutcome.DUPLICATE_FOUND:
        metrics.incr("kitchen.duplicate_found")
    log.info("kitchen sale delivered", extra={"rista_invoice_number": invoice, "attempt": claim.number,
                                              "outcome": outcome})
    return SendResult(outcome)


def _record_retry(claim: _Claim, *, error: str, http_status: int | None = None,
                  outcome: str = AttemptOutcome.RETRY, settles_at: datetime | None = None,
                  not_after: datetime | None = None) -> SendResult:
    """Back to PENDING for another try after the backoff (or at `not_after`, if sooner).

    `settles_at`: this attempt's POST may have reached Rista, which may store it until then; the
    later of it and any earlier such moment is kept on the row (`post_settles_at`).
    """
    now = timezone.now()
    give_up_at = claim.created_at + timedelta(seconds=settings.KDS_RETRY_FOR_SECONDS)
    if now >= give_up_at:
        return _record_final(claim, outcome=AttemptOutcome.FAILED, error=error, http_status=http_status,
                             alert=True)
    retry_at = min(now + timedelta(seconds=retry_delay(claim.number)), give_up_at)
    if not_after is not None:
        retry_at = max(min(retry_at, not_after), now)
    if claim.settles_at is not None:
        settles_at = max(settles_at, claim.settles_at) if settles_at else claim.settles_at
    with transaction.atomic(durable=True):  # a phase of the send: Rista is never called inside it
        delivery, ours, _ = _locked(claim)
        _finish_attempt(claim, outcome=outcome, now=now, error=error, http_status=http_status,
                        looked_up=claim.number > 1)
        if not ours:
            return SendResult(CLOSED)
        kitchen_delivery_transition(
            delivery_id=delivery.pk, to=DeliveryStatus.PENDING, next_attempt_at=retry_at, claimed_until=None,
            last_error=error[:2000], post_settles_at=settles_at, updated_at=now)
    metrics.incr("kitchen.retry" if outcome == AttemptOutcome.RETRY else "kitchen.not_yet_found")
    log.warning("kitchen send failed; will retry" if outcome == AttemptOutcome.RETRY
                else "sale not in Rista yet; an earlier post may still be stored: not re-posting",
                extra={"attempt": claim.number, "error": error[:300],
                       "retry_in": round((retry_at - now).total_seconds(), 1)})
    return SendResult(AttemptOutcome.RETRY, retry_at=retry_at)


def _record_final(claim: _Claim, *, outcome: str, error: str, alert: bool,
                  http_status: int | None = None) -> SendResult:
    """REJECTED (Rista said no, or not sendable) or FAILED (retry window over): no more retries."""
    now = timezone.now()
    status = DeliveryStatus.FAILED if outcome == AttemptOutcome.FAILED else DeliveryStatus.REJECTED
    with transaction.atomic(durable=True):  # a phase of the send: Rista is never called inside it
        delivery, ours, _ = _locked(claim)
        _finish_attempt(claim, outcome=outcome, now=now, error=error, http_status=http_status,
                        looked_up=claim.number > 1)
        if not ours:
            return SendResult(CLOSED)
        kitchen_delivery_transition(delivery_id=delivery.pk, to=status, claimed_until=None,
                                    last_error=error[:2000], updated_at=now, alerted_at=now if alert else None)
        if alert:
            order_kitchen_transition(order_id=claim.order_id, to_status=KitchenStatus.REJECTED,
                                     allowed_from=(KitchenStatus.NOT_SENT, KitchenStatus.SENT), actor=ACTOR,
                                     reason=f"not delivered to the kitchen: {error}",
                                     data={"delivery_status": status, "http_status": http_status,
                                           "attempts": claim.number})
    if alert:
        metrics.incr("kitchen.failed" if status == DeliveryStatus.FAILED else "kitchen.rejected")
        log.error("ALERT: paid order did not reach the kitchen", extra={
            "delivery_status": status, "attempts": claim.number, "http_status": http_status, "error": error[:300]})
    else:
        log.warning("kitchen delivery closed without sending", extra={"error": error[:300]})
    return SendResult(outcome)
