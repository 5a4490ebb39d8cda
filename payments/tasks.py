"""Celery tasks: thin wrappers that call one service each.

Failure policy: none of these retries itself. The reconciler and the expiry job
run again on the next beat tick (3 s / 30 s) and pick up whatever the previous
run could not finish; a refund submission that fails is retried by the
reconciler on the refund's own schedule. `expires` drops beat messages that sat
unconsumed (no worker) instead of running a backlog of identical passes later.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from payments.expiry import orders_expire
from payments.reconciliation import payments_reconcile
from payments.refunds import refund_submit_pending

log = logging.getLogger(__name__)


@shared_task(ignore_result=True, expires=10, soft_time_limit=45, time_limit=60)
def payments_reconcile_task() -> dict[str, Any]:
    report = payments_reconcile()
    if report.changes or report.errors:
        log.info("reconcile pass", extra=report.as_dict())
    return report.as_dict()


@shared_task(ignore_result=True, expires=60, soft_time_limit=45, time_limit=60)
def orders_expire_task() -> dict[str, Any]:
    report = orders_expire()
    if report.changes or report.errors:
        log.info("expiry pass", extra=report.as_dict())
    return report.as_dict()


@shared_task(ignore_result=True, soft_time_limit=30, time_limit=45)
def payments_refund_submit_task(refund_id: str) -> None:
    refund_submit_pending(refund_id=refund_id)
