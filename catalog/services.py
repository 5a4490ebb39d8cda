"""The menu: served from cache, filled once however many ask, kept through outages.

Reading (`catalog_get`):
1. cache hit -> the cached bytes (and a refresh-ahead when they are getting old);
2. miss -> single flight: one request takes a short lock and fetches from Rista,
   the others poll the cache for at most CATALOG_FILL_WAIT seconds;
3. Rista failing or Redis down -> the PostgreSQL snapshot, marked stale;
4. nothing anywhere -> CatalogUnavailable (503). Every wait is bounded.

Refreshing (`catalog_refresh`, from the Rista webhook, the command and beat)
fetches, validates and then overwrites the cached copy in one SET, so no
customer ever meets an empty cache because of a refresh, and a failed refresh
leaves the previous copy in place.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from catalog import store
from catalog.pricing import CatalogIndex, validate_catalog_document
from catalog.store import CachedCatalog, CacheDown
from kiosk_project.core import metrics
from kiosk_project.core.branches import branch_config, branch_configs
from kiosk_project.core.errors import ServiceUnavailable, UpstreamError
from kiosk_project.core.kiosk_auth import BoundedLRU
from kiosk_project.integrations.rista import RistaRejected, RistaUnavailable, get_client

log = logging.getLogger(__name__)

_POLL_INTERVAL = 0.02
_FAILURE_BACKOFF = 5  # seconds during which misses skip Rista after a failed fill


class CatalogUnavailable(ServiceUnavailable):
    code = "CATALOG_UNAVAILABLE"


class InvalidCatalog(UpstreamError):
    code = "RISTA_INVALID_CATALOG"


# --- reading ---------------------------------------------------------------------------------------
def catalog_get(*, branch: str, channel: str) -> CachedCatalog:
    try:
        entry = store.cache_read(branch, channel)
    except CacheDown:
        metrics.incr("catalog.cache_down")
        return _fallback(branch, channel, reason="cache down", fetch_if_empty=True)
    if entry is not None:
        if entry.age > settings.CATALOG_REFRESH_AFTER:
            _refresh_ahead(branch, channel)
        return entry
    metrics.incr("catalog.cache_miss")
    return _fill(branch, channel)


def _fill(branch: str, channel: str) -> CachedCatalog:
    """Single flight: exactly one fetch per key at a time; everyone else waits for its result."""
    if _recently_failed(branch, channel):
        return _fallback(branch, channel, reason="rista failing")
    token = uuid.uuid4().hex
    try:
        leader = cache.add(store.lock_key(branch, channel), token, timeout=settings.CATALOG_FILL_LOCK_TTL)
    except Exception:
        return _fallback(branch, channel, reason="cache down", fetch_if_empty=True)
    if leader:
        try:
            return catalog_refresh(branch=branch, channel=channel).as_source("origin")
        except (UpstreamError, InvalidCatalog):
            _mark_failed(branch, channel)
            return _fallback(branch, channel, reason="rista failing")
        finally:
            _release(store.lock_key(branch, channel), token)
    deadline = time.monotonic() + settings.CATALOG_FILL_WAIT
    while time.monotonic() < deadline:
        time.sleep(_POLL_INTERVAL)
        try:
            entry = store.cache_read(branch, channel)
            if entry is not None:
                return entry
            if _recently_failed(branch, channel):
                break
        except CacheDown:
            break
    metrics.incr("catalog.fill_wait_timeout")
    return _fallback(branch, channel, reason="fill wait timed out")


def _fallback(branch: str, channel: str, *, reason: str, fetch_if_empty: bool = False) -> CachedCatalog:
    snapshot = store.snapshot_read(branch, channel)
    if snapshot is not None:
        metrics.incr("catalog.served_snapshot")
        log.warning("serving catalog snapshot", extra={"branch": branch, "channel": channel, "reason": reason,
                                                       "snapshot_age_s": int(snapshot.age)})
        return snapshot.as_source("snapshot", stale=True)
    if fetch_if_empty:
        # Redis is down and there is no snapshot yet: a direct fetch (one per process
        # at a time) is the only way to show a menu at all.
        with _direct_fetch_lock:
            try:
                return catalog_refresh(branch=branch, channel=channel).as_source("origin")
            except (UpstreamError, InvalidCatalog):
                pass
    metrics.incr("catalog.unavailable")
    log.error("no catalog to serve", extra={"branch": branch, "channel": channel, "reason": reason})
    raise CatalogUnavailable(details={"branch": branch, "channel": channel})


_direct_fetch_lock = threading.Lock()


def _recently_failed(branch: str, channel: str) -> bool:
    try:
        return bool(cache.get(store.failure_key(branch, channel)))
    except Exception:
        return False


def _mark_failed(branch: str, channel: str) -> None:
    with contextlib.suppress(Exception):  # best effort: without it, misses just retry Rista sooner
        cache.set(store.failure_key(branch, channel), 1, timeout=_FAILURE_BACKOFF)


def _release(key: str, token: str) -> None:
    # Only the holder deletes the lock (it may have expired and been taken by another).
    with contextlib.suppress(Exception):  # an unreleased lock expires by itself
        if cache.get(key) == token:
            cache.delete(key)


def _refresh_ahead(branch: str, channel: str) -> None:
    """Refresh an ageing copy in the background, at most once per lock period."""
    try:
        if not cache.add(store.refresh_flag_key(branch, channel), 1, timeout=settings.CATALOG_FILL_LOCK_TTL):
            return
    except Exception:
        return
    if settings.CELERY_TASK_ALWAYS_EAGER:  # no worker: don't make this customer wait for Rista
        threading.Thread(target=_refresh_quietly, args=(branch, channel), daemon=True).start()
        return
    # The task module imports this one (a Celery task calls its service), so the service reaches its
    # task lazily: HackSoft's task/service pair, the one deferred import allowed here.
    from catalog.tasks import catalog_refresh_task

    try:
        catalog_refresh_task.delay(branch, channel)
    except Exception:
        log.warning("could not enqueue catalog refresh-ahead", exc_info=True)


def _refresh_quietly(branch: str, channel: str) -> None:
    try:
        catalog_refresh(branch=branch, channel=channel)
    except Exception:
        log.warning("background catalog refresh failed", extra={"branch": branch, "channel": channel})
    finally:
        connection.close()  # this thread's own connection


# --- refreshing ------------------------------------------------------------------------------------
def catalog_refresh(*, branch: str, channel: str) -> CachedCatalog:
    """Fetch from Rista, validate, then swap the cached copy and the snapshot.

    Raises RistaUnavailable/RistaRejected/InvalidCatalog and leaves the old copy
    untouched when anything is wrong.
    """
    client = get_client()
    started = time.perf_counter()
    raw = client.fetch_catalog(branch=branch, channel=channel)
    try:
        document = json.loads(raw)
        validate_catalog_document(document)
    except ValueError as exc:
        metrics.incr("catalog.invalid_upstream")
        log.error("Rista returned an invalid catalog; keeping the previous copy",
                  extra={"branch": branch, "channel": channel, "problem": str(exc)[:200],
                         "body_start": raw[:120].decode("utf-8", "replace")})
        raise InvalidCatalog(details={"problem": str(exc)[:200]}) from exc
    document["soldOutSkuCodes"] = _sold_out(client, branch, channel)
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    entry = CachedCatalog(body=body, etag=store.make_etag(body), fetched_at=time.time(), source="origin")
    store.cache_write(branch, channel, entry)
    store.snapshot_write(branch, channel, entry, item_count=len(document["items"]))
    metrics.incr("catalog.refreshed")
    # The WSGI fast path needs the branch in Redis as well as the menu (kiosk_project.core.branches):
    # every refresh re-reads it, so a refreshed menu is servable without a query.
    branch_config(branch)
    log.info("catalog refreshed", extra={"branch": branch, "channel": channel, "etag": entry.etag,
                                          "items": len(document["items"]), "bytes": len(body),
                                          "ms": round((time.perf_counter() - started) * 1000, 1)})
    return entry


def _sold_out(client: Any, branch: str, channel: str) -> list[str]:
    try:
        return client.fetch_sold_out(branch=branch)
    except (RistaUnavailable, RistaRejected):
        # Keep the last known sold-out list rather than silently re-opening items.
        previous = store.snapshot_read(branch, channel)
        if previous is not None:
            return list(json.loads(previous.body).get("soldOutSkuCodes", []))
        log.error("sold-out list unavailable; serving the catalog without it",
                  extra={"branch": branch, "channel": channel})
        return []


def catalog_refresh_many(*, branch: str, channels: list[str]) -> dict[str, str]:
    """Refresh several channels; returns channel -> "ok" or the error code."""
    results: dict[str, str] = {}
    for channel in channels:
        try:
            entry = catalog_refresh(branch=branch, channel=channel)
            results[channel] = "ok " + entry.etag
        except (UpstreamError, InvalidCatalog) as exc:
            results[channel] = exc.code
    return results


def catalog_refresh_schedule(*, every: float) -> list[tuple[float, str, str]]:
    """(delay, branch, channel) for every channel of every branch, spread evenly over `every` seconds.

    The beat job runs every CATALOG_REFRESH_AFTER; spreading its refreshes over the interval keeps
    Rista's load flat: 2 calls (catalog, sold-out list) per channel, so 100 branches x 2 channels
    every 300 s is 400 calls, about 80 a minute, never a burst of 400 (docs/chain.md).
    """
    pairs = [(branch.code, channel) for branch in branch_configs() for channel in branch.channels]
    step = every / len(pairs) if pairs else 0.0
    return [(round(i * step, 3), code, channel) for i, (code, channel) in enumerate(pairs)]


# --- pricing ---------------------------------------------------------------------------------------
# Parsed price lists by catalog ETag, least recently used dropped: sized for a chain (every branch's
# every channel), not one branch's two, or every checkout of a 100-branch chain would re-parse its menu.
_index_cache: BoundedLRU[Any] = BoundedLRU(settings.CATALOG_INDEX_CACHE_SIZE)


def catalog_for_pricing(*, branch: str, channel: str) -> tuple[Any, str]:
    """The parsed price list for checkout, and the ETag it came from.

    Checkout prices from the cached copy, or the PostgreSQL snapshot when the
    cache is empty or down. Only when neither has a menu (a Redis that lost its
    data before any snapshot was taken) does it fetch one from Rista, through the
    menu's own single flight (`catalog_get`: one fetch however many checkouts
    ask, the rest wait for it), rather than refuse every order until someone
    opens the menu; if Rista cannot answer either, 503 CATALOG_UNAVAILABLE.

    Parsed indexes are kept per process by ETag, and the cache is first asked
    for the ETag alone: when this process has already parsed that version, a
    quote costs one small GET whatever the menu's size, instead of a GET and an
    unpickle of the whole menu (10 ms at 3,000 items, docs/performance.md).
    """
    with contextlib.suppress(CacheDown):
        etag = store.cache_read_etag(branch, channel)
        held = _index_cache.get(etag) if etag else None
        if etag and held is not None:
            return held, etag
    try:
        entry = store.cache_read(branch, channel)
    except CacheDown:
        entry = None
    if entry is None:
        entry = store.snapshot_read(branch, channel)
    if entry is None:
        metrics.incr("catalog.fetched_for_checkout")
        log.warning("no menu in the cache or the snapshot: fetching it for checkout",
                    extra={"branch": branch, "channel": channel})
        entry = catalog_get(branch=branch, channel=channel)
    index = _index_cache.get(entry.etag)
    if index is None:
        index = CatalogIndex.from_document(json.loads(entry.body))
        _index_cache.put(entry.etag, index)
    return index, entry.etag
