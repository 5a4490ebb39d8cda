"""Kitchen tasks: send one delivery, sweep for lost ones, alert on stuck orders.

Failure policy of `kitchen_send_task` (the service decides, the task schedules):
* connection errors, timeouts, 5xx, 429: the service puts the row back to
  PENDING with a backoff time; the task re-schedules itself for that time
  (`self.retry(countdown=...)`), until KDS_RETRY_FOR_SECONDS after the order was
  confirmed, then FAILED + alert;
* 4xx: REJECTED + alert, no retry;
* another worker holds a live lease: re-check when the lease ends (this is what
  turns a redelivered message, after a worker died mid-send, into a recovery);
* the message itself is acknowledged late and re-queued if the worker process
  dies (CELERY_TASK_ACKS_LATE, CELERY_TASK_REJECT_ON_WORKER_LOST), and the
  sweeper re-enqueues anything whose message was lost anyway.
A countdown never exceeds KDS_RETRY_MAX_DELAY or half the broker's visibility
timeout, so Redis never redelivers a message that is merely waiting.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from kds_bridge.models import AttemptOutcome
from kds_bridge.recovery import kitchen_alert_check, kitchen_deliveries_sweep
from kds_bridge.services import BUSY, SendResult, kitchen_sale_send, send_time_limits

log = logging.getLogger(__name__)

_SOFT_LIMIT, _HARD_LIMIT = send_time_limits()


def _countdown(result: SendResult) -> float:
    assert result.retry_at is not None
    wait = (result.retry_at - timezone.now()).total_seconds() + 0.2
    cap = min(settings.KDS_RETRY_MAX_DELAY, settings.CELERY_BROKER_VISIBILITY_TIMEOUT / 2)
    return max(0.2, min(wait, cap))


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True, max_retries=None,
             soft_time_limit=_SOFT_LIMIT, time_limit=_HARD_LIMIT)
def kitchen_send_task(self, delivery_id: str) -> str:  # type: ignore[no-untyped-def]
    result = kitchen_sale_send(delivery_id=delivery_id)
    if result.outcome in (AttemptOutcome.RETRY, BUSY) and result.retry_at is not None:
        if self.request.is_eager:
            # Embedded mode (no broker): an eager retry would run at once, in a loop; the sweeper retries.
            return result.outcome
        raise self.retry(countdown=_countdown(result))
    return result.outcome


@shared_task(ignore_result=True, soft_time_limit=30, time_limit=45)
def kitchen_sweep_task() -> int:
    return len(kitchen_deliveries_sweep())


@shared_task(ignore_result=True, soft_time_limit=30, time_limit=45)
def kitchen_alert_check_task() -> int:
    return kitchen_alert_check()
