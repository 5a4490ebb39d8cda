"""Rista's menu webhook, answered at once: the refresh runs as a Celery task, one at a time per channel.

A manager's edit in Rista can fire a burst of webhooks (one per item changed,
and Rista retries slow answers). Each channel has one *queued* marker in Redis:
the first webhook sets it and enqueues the task (`cache.add`, so exactly one of
any number of concurrent webhooks does); the rest find it set and add nothing.
The task clears the marker before it fetches, so a webhook that arrives while
the fetch runs (it may describe a change the fetch already missed) queues one
more refresh, never more than one. A *running* lock keeps two workers from
fetching one channel at once; the loser re-queues itself for a moment later.

The task is enqueued with a short countdown (CATALOG_WEBHOOK_COALESCE_SECONDS)
so a burst spread over a second still costs one fetch per channel.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache

from catalog.services import catalog_refresh_many
from catalog.tasks import catalog_webhook_refresh_task
from kiosk_project.core import metrics
from kiosk_project.core.errors import ServiceUnavailable

log = logging.getLogger(__name__)

QUEUED_TTL = 120  # seconds: a queued marker whose task was lost stops blocking refreshes after this
RUNNING_TTL = 60  # longer than a refresh can take (Rista's timeouts, both calls)


def _key(kind: str, branch: str, channel: str) -> str:
    return f"catalog:webhook:{kind}:{quote(branch, safe='')}:{quote(channel, safe='')}"


@dataclass(frozen=True)
class RefreshRequest:
    queued: list[str]  # channels this webhook queued a refresh for
    already_queued: list[str]  # channels with a refresh already waiting to start


def catalog_refresh_request(*, branch: str, channels: list[str]) -> RefreshRequest:
    """Queue one refresh per channel unless one is already waiting; 503 if neither Redis nor the broker
    can take it (Rista retries a failed webhook)."""
    queued, waiting = [], []
    for channel in channels:
        try:
            first = cache.add(_key("queued", branch, channel), "1", timeout=QUEUED_TTL)
        except Exception as exc:  # Redis down: no single flight, but still refresh
            log.warning("menu webhook: cache unavailable, queueing without single flight",
                        extra={"channel": channel, "error": str(exc)[:200]})
            first = True
        if not first:
            waiting.append(channel)
            metrics.incr("catalog.webhook_coalesced")
            continue
        try:
            catalog_webhook_refresh_task.apply_async((branch, channel),
                                                     countdown=settings.CATALOG_WEBHOOK_COALESCE_SECONDS)
        except Exception as exc:
            _forget(branch, channel)
            log.error("menu webhook: refresh not queued", extra={"channel": channel, "error": str(exc)[:200]})
            raise ServiceUnavailable("The menu refresh could not be queued; try again.") from exc
        queued.append(channel)
        metrics.incr("catalog.webhook_queued")
    return RefreshRequest(queued=queued, already_queued=waiting)


def _forget(branch: str, channel: str) -> None:
    with contextlib.suppress(Exception):  # Redis down: the marker expires by itself
        cache.delete(_key("queued", branch, channel))


def catalog_webhook_refresh_run(*, branch: str, channel: str) -> str:
    """The task's body: refresh one channel, unless another worker is refreshing it right now."""
    running = _key("running", branch, channel)
    if not cache.add(running, "1", timeout=RUNNING_TTL):
        # Another worker is fetching; ours must still run after it (a newer change may have come in).
        if cache.add(_key("queued", branch, channel), "1", timeout=QUEUED_TTL):
            catalog_webhook_refresh_task.apply_async((branch, channel), countdown=1)
        return "deferred"
    try:
        _forget(branch, channel)  # from here on, a webhook queues the next refresh
        result = catalog_refresh_many(branch=branch, channels=[channel])[channel]
    finally:
        cache.delete(running)
    (log.info if result.startswith("ok") else log.warning)(
        "menu refreshed for a webhook", extra={"branch": branch, "channel": channel, "result": result})
    return result
