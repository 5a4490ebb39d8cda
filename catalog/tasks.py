"""Background menu refresh: refresh-ahead from the hit path, and the periodic sweep."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from catalog.services import catalog_refresh, catalog_refresh_many, catalog_refresh_schedule

log = logging.getLogger(__name__)


@shared_task(ignore_result=True, soft_time_limit=30, time_limit=45)
def catalog_refresh_task(branch: str, channel: str) -> None:
    # A failure keeps the old copy; the next beat run or hit tries again, so no retry here.
    try:
        catalog_refresh(branch=branch, channel=channel)
    except Exception as exc:
        log.warning("catalog refresh failed: %s", exc, extra={"branch": branch, "channel": channel})


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def catalog_refresh_all_task() -> dict[str, str]:
    """Every branch's every channel, staggered over the beat interval (catalog_refresh_schedule)."""
    schedule = catalog_refresh_schedule(every=float(settings.CATALOG_REFRESH_AFTER))
    if settings.CELERY_TASK_ALWAYS_EAGER:  # embedded mode: no worker to wait, one after the other
        results: dict[str, str] = {}
        for _delay, branch, channel in schedule:
            results.update({f"{branch}/{c}": r for c, r in catalog_refresh_many(branch=branch,
                                                                                 channels=[channel]).items()})
        return results
    for delay, branch, channel in schedule:
        catalog_refresh_task.apply_async((branch, channel), countdown=delay)
    return {f"{branch}/{channel}": f"in {delay:.0f} s" for delay, branch, channel in schedule}


@shared_task(ignore_result=True, soft_time_limit=30, time_limit=45)
def catalog_webhook_refresh_task(branch: str, channel: str) -> None:
    # A failed fetch keeps the old copy; the beat sweep (CATALOG_REFRESH_AFTER) refreshes it later, so no retry.
    from catalog.webhook_refresh import catalog_webhook_refresh_run

    catalog_webhook_refresh_run(branch=branch, channel=channel)
