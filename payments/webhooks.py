"""PhonePe callbacks, both API families: verify, record, dedupe, verify again with PhonePe, apply.

* Which family: v1 S2S callbacks carry `X-VERIFY` and `{"response": <base64>}`;
  v2 webhooks carry `Authorization: sha256(user:pass)` and `{"event", "payload"}`.
* A bad signature is answered 401 and writes nothing but a line on the
  `payments.security` logger (with the caller's address) and a counter.
* A verified callback is appended to the ledger (PaymentEvent). Its unique key
  (source, kind, reference, state) turns a replay into "duplicate": answered
  200 at once, with no effect.
* Only the configured family (PHONEPE_API) is accepted: a v1-shaped callback
  to a v2 deployment is refused (401) before anything is written or asked.
* The callback is a trigger, not the truth: the outcome comes from PhonePe's
  status API and goes through `payment_apply_status`, like the reconciler's.
  At most one status check per payment is in flight, and callbacks for a payment
  within PAYMENT_CALLBACK_COALESCE_SECONDS of its last check are coalesced into
  it (`payments.status_checks`): answered 200 "coalesced", with the reconciler
  making sure of one more look once the window has passed.
* If the status API is down, the event stays recorded, the payment is made due
  for the reconciler now, and PhonePe still gets 200 ("deferred"): PhonePe does
  not document retries, so a 5xx would buy nothing, and the reconciler's
  schedule already guarantees the check. The same net covers a crash between
  recording the event and applying it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from kiosk_project.core import metrics
from kiosk_project.core.errors import ApplicationError
from kiosk_project.core.logging import log_context
from payments.gateway import (
    GatewayError,
    WebhookEvent,
    WebhookMalformed,
    WebhookUnauthorized,
    family_of,
    get_gateway,
)
from payments.gateway.base import COMPLETED, header
from payments.ledger import ledger_record
from payments.models import OPEN_STATUSES, Payment, PaymentStatus, Refund, RefundStatus
from payments.refunds import refund_check
from payments.status_checks import coalesce_seconds, lease_seconds, payment_check, payment_check_soon

log = logging.getLogger(__name__)
security_log = logging.getLogger("payments.security")

# A COMPLETED callback for a payment in one of these states may still change something.
_COMPLETABLE = (*OPEN_STATUSES, PaymentStatus.FAILED, PaymentStatus.EXPIRED)


class WebhookRejected(ApplicationError):
    code = "WEBHOOK_UNAUTHORIZED"
    message = "The callback's signature did not verify."


class WebhookInvalid(ApplicationError):
    code = "WEBHOOK_INVALID"


@dataclass(frozen=True)
class WebhookResult:
    status: str  # processed | duplicate | coalesced | deferred | ignored
    reference: str = ""


def webhook_family(headers: Mapping[str, str]) -> str | None:
    if header(headers, "X-VERIFY"):
        return "v1"
    if header(headers, "Authorization"):
        return "v2"
    return None


def webhook_receive(*, headers: Mapping[str, str], body: bytes, remote_addr: str | None) -> WebhookResult:
    family = family_of(None)  # the configured family; the other one's secrets are not even set in production
    shape = webhook_family(headers)
    if shape != family:
        _reject(remote_addr, shape or "none",
                f"a {shape} callback, but PHONEPE_API={family}" if shape else "no X-VERIFY or Authorization header")
    gateway = get_gateway(family)
    try:
        event = gateway.parse_webhook(headers, body)
    except WebhookUnauthorized as exc:
        _reject(remote_addr, family, str(exc))
    except WebhookMalformed as exc:
        log.warning("verified callback could not be read", extra={"family": family, "error": str(exc)})
        raise WebhookInvalid(details={"reason": str(exc)}) from exc
    if event.kind == "payment" and not event.reference:
        event = _by_provider_order_id(event)
    elif event.kind == "refund" or Refund.objects.filter(merchant_refund_id=event.reference).exists():
        return _refund_event(event, gateway.source, remote_addr)
    return _payment_event(event, gateway.source, remote_addr)


def _by_provider_order_id(event: WebhookEvent) -> WebhookEvent:
    """A payment callback naming only PhonePe's orderId (an older documented shape): our reference from the
    orderId the pay answer gave us. Unknown ids keep the orderId as the reference, so the ledger still records
    (and dedupes) them and the receiver ignores them like any unknown reference."""
    reference = (Payment.objects.filter(provider_order_id=event.provider_order_id)
                 .values_list("merchant_reference", flat=True).first())
    return dataclasses.replace(event, reference=reference or event.provider_order_id)


def _reject(remote_addr: str | None, family: str, reason: str) -> None:
    metrics.incr("payments.webhook_unauthorized")
    security_log.warning("payment callback rejected: bad signature",
                         extra={"remote_addr": remote_addr, "family": family, "reason": reason})
    raise WebhookRejected()


def _payment_event(event: WebhookEvent, source: str, remote_addr: str | None) -> WebhookResult:
    received_at = timezone.now()
    payment = (Payment.objects.filter(merchant_reference=event.reference)
               .only("id", "order_id", "status", "merchant_reference").first())
    with transaction.atomic():
        inserted = ledger_record(source=source, reference=event.reference, state=event.state, payload=event.raw,
                                 payment_id=payment.id if payment else None, remote_addr=remote_addr)
        if inserted and payment is not None:
            payment_check_soon(payment_id=payment.id)  # crash net: the reconciler checks it if we die now
    if payment is None:
        metrics.incr("payments.webhook_unknown")
        log.warning("callback for an unknown merchant reference recorded and ignored",
                    extra={"reference": event.reference, "state": event.state, "remote_addr": remote_addr})
        return WebhookResult("ignored" if inserted else "duplicate", event.reference)
    with log_context(order_id=str(payment.order_id)):
        if not inserted:
            metrics.incr("payments.webhook_duplicate")
            log.info("duplicate callback", extra={"reference": event.reference, "state": event.state})
            if not (event.state == COMPLETED and payment.status in _COMPLETABLE):
                return WebhookResult("duplicate", event.reference)
            # A replay of a success we have not applied yet (the first copy was deferred, or its
            # process died): worth one more look at the truth, unless a callback's check just had it
            # (a flood of copies costs one status call); still reported as a duplicate.
            _check(payment, source, news=False)
            return WebhookResult("duplicate", event.reference)
        log.info("callback received", extra={"reference": event.reference, "state": event.state,
                                             "event": event.event})
        if payment.status not in _COMPLETABLE:
            return WebhookResult("processed", event.reference)  # decided already: a stale FAILED changes nothing
        # The first COMPLETED is news and always gets its own check; anything else may be coalesced.
        news = event.state == COMPLETED
        return WebhookResult(_check(payment, source, news=news, received_at=received_at if news else None),
                             event.reference)


def _check(payment: Payment, source: str, *, news: bool, received_at: datetime | None = None) -> str:
    try:
        # News waits for a check in flight (it may have started before PhonePe saw the payment).
        # Read under the claim: a copy of this callback may have had its own check decide the payment
        # while we waited (copies race to the claim), and then there is nothing left to ask PhonePe;
        # nor is there when a copy's check started after this callback arrived: it saw what we would.
        applied = payment_check(payment_id=payment.id, source=source, callback=True, coalesce=not news,
                                wait=lease_seconds() / 3 if news else 0.0, while_status_in=_COMPLETABLE,
                                unless_checked_since=received_at)
    except GatewayError as exc:
        metrics.incr("payments.gateway_unavailable")
        payment_check_soon(payment_id=payment.id)
        log.warning("status check after callback failed; the reconciler will retry",
                    extra={"reference": payment.merchant_reference, "error": str(exc)[:300]})
        return "deferred"
    if applied is None:
        if not Payment.objects.filter(pk=payment.pk, status__in=_COMPLETABLE).exists():
            return "processed"  # decided by the check this copy raced with
        metrics.incr("payments.webhook_coalesced")
        # The check this was coalesced into may have been too early: one more look after the window.
        payment_check_soon(payment_id=payment.id, within=coalesce_seconds())
        log.info("callback coalesced into a status check in flight or just made",
                 extra={"reference": payment.merchant_reference, "news": news})
        return "deferred" if news else "coalesced"
    return "processed"


def _refund_event(event: WebhookEvent, source: str, remote_addr: str | None) -> WebhookResult:
    refund = (Refund.objects.filter(merchant_refund_id=event.reference).select_related("payment")
              .only("id", "status", "payment__order_id").first())
    inserted = ledger_record(source=source, kind="refund", reference=event.reference, state=event.state,
                             payload=event.raw, payment_id=refund.payment_id if refund else None,
                             refund_id=refund.id if refund else None, remote_addr=remote_addr)
    if refund is None:
        metrics.incr("payments.webhook_unknown")
        log.warning("refund callback for an unknown refund recorded and ignored",
                    extra={"reference": event.reference, "state": event.state})
        return WebhookResult("ignored" if inserted else "duplicate", event.reference)
    with log_context(order_id=str(refund.payment.order_id)):
        if not inserted:
            metrics.incr("payments.webhook_duplicate")
            return WebhookResult("duplicate", event.reference)
        if refund.status not in (RefundStatus.CREATED, RefundStatus.PENDING):
            return WebhookResult("processed", event.reference)
        try:
            refund_check(refund_id=refund.id, source=source)
        except GatewayError as exc:
            Refund.objects.filter(pk=refund.id, status=RefundStatus.PENDING).update(next_check_at=timezone.now())
            log.warning("refund status check after callback failed; the reconciler will retry",
                        extra={"refund_reference": event.reference, "error": str(exc)[:300]})
            return WebhookResult("deferred", event.reference)
        return WebhookResult("processed", event.reference)
