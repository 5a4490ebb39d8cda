"""Where served catalogs live: the cache (Redis) and the PostgreSQL snapshot.

The cache holds ready-to-send bytes with their ETag, so a hit costs one cache
GET and no JSON work. Cache errors are reported as CacheDown and never raised
further: the caller falls back to the snapshot.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache

from catalog.models import CatalogSnapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedCatalog:
    body: bytes
    etag: str
    fetched_at: float  # epoch seconds when Rista last confirmed it
    source: str = "cache"  # cache | origin | snapshot
    stale: bool = False

    @property
    def age(self) -> float:
        return max(0.0, time.time() - self.fetched_at)

    def as_source(self, source: str, *, stale: bool = False) -> CachedCatalog:
        return replace(self, source=source, stale=stale)


class CacheDown(Exception):
    """Redis did not answer; the snapshot takes over."""


def make_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _key(branch: str, channel: str) -> str:
    return f"catalog:v1:{quote(branch, safe='')}:{quote(channel, safe='')}"


def lock_key(branch: str, channel: str) -> str:
    return _key(branch, channel) + ":fill"


def failure_key(branch: str, channel: str) -> str:
    return _key(branch, channel) + ":failed"


def refresh_flag_key(branch: str, channel: str) -> str:
    return _key(branch, channel) + ":refreshing"


def etag_key(branch: str, channel: str) -> str:
    """The cached copy's ETag alone (~40 bytes), so checkout can tell whether its parsed copy is current."""
    return _key(branch, channel) + ":etag"


def cache_read(branch: str, channel: str) -> CachedCatalog | None:
    try:
        value = cache.get(_key(branch, channel))
    except Exception as exc:
        raise CacheDown(str(exc)) from exc
    if not value:
        return None
    etag, fetched_at, body = value
    return CachedCatalog(body=body, etag=etag, fetched_at=fetched_at)


def cache_read_etag(branch: str, channel: str) -> str | None:
    """The cached copy's ETag without its body (None: no copy, or one written before the tag had its key)."""
    try:
        return cache.get(etag_key(branch, channel))
    except Exception as exc:
        raise CacheDown(str(exc)) from exc


def cache_write(branch: str, channel: str, entry: CachedCatalog) -> bool:
    """One SET replaces the old copy atomically: readers see old or new, never nothing.

    The ETag's own key is written after the body, with the same lifetime: whoever reads
    the new tag finds the new body (catalog_for_pricing then parses it once).
    """
    try:
        cache.set(_key(branch, channel), (entry.etag, entry.fetched_at, entry.body),
                  timeout=settings.CATALOG_CACHE_TTL)
        cache.set(etag_key(branch, channel), entry.etag, timeout=settings.CATALOG_CACHE_TTL)
        return True
    except Exception:
        log.warning("catalog cache write failed", extra={"branch": branch, "channel": channel})
        return False


def snapshot_read(branch: str, channel: str) -> CachedCatalog | None:
    row = (CatalogSnapshot.objects.filter(branch_code=branch, channel=channel)
           .values_list("body", "etag", "fetched_at").first())
    if row is None:
        return None
    body, etag, fetched_at = row
    return CachedCatalog(body=bytes(body), etag=etag, fetched_at=fetched_at.timestamp(), source="snapshot")


def snapshot_write(branch: str, channel: str, entry: CachedCatalog, *, item_count: int) -> None:
    fetched = datetime.fromtimestamp(entry.fetched_at, tz=UTC)
    updated = CatalogSnapshot.objects.filter(branch_code=branch, channel=channel, etag=entry.etag).update(
        fetched_at=fetched)
    if updated:  # same content: only the confirmation time moves, no 25 KB rewrite
        return
    CatalogSnapshot.objects.update_or_create(
        branch_code=branch, channel=channel,
        defaults={"body": entry.body, "etag": entry.etag, "item_count": item_count, "fetched_at": fetched,
                  "changed_at": fetched},
    )
