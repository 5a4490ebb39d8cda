"""Back office tasks: email new problems to managers (beat, every 30 s; no retry: the next pass is it)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from backoffice.alerts import describe, problems_notify

log = logging.getLogger(__name__)


@shared_task(ignore_result=True, expires=30, soft_time_limit=45, time_limit=60)
def problems_notify_task() -> dict[str, Any]:
    result = describe(problems_notify())
    if result["new"] or result["failed"]:
        log.info("problem alerts pass", extra=result)
    return result
