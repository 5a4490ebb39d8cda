"""Background menu refresh: refresh-ahead from the hit path, and the periodic sweep."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from catalog.services import catalog_refresh, catalog_refresh_many

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
    return catalog_refresh_many(branch=settings.KIOSK_BRANCH_CODE, channels=list(settings.KIOSK_CHANNELS))


@shared_task(ignore_result=True, soft_time_limit=30, time_limit=45)
def catalog_webhook_refresh_task(branch: str, channel: str) -> None:
    # A failed fetch keeps the old copy; the beat sweep (CATALOG_REFRESH_AFTER) refreshes it later, so no retry.
    from catalog.webhook_refresh import catalog_webhook_refresh_run

    catalog_webhook_refresh_run(branch=branch, channel=channel)
