"""`Authorization: Kiosk <key>`: who is this kiosk, and may it do this?

A kiosk key reaches only the kiosk API (orders, payments, its own data); it is
not a Django user and can reach nothing of the back office.

Kiosks poll order status every 3 s, so lookups are cached per process, in two
bounded LRUs: one for keys that matched a device, one for prefixes that did not
(so random keys cost a database query once, not every time, and cannot grow
memory without bound or evict the real kiosks). An entry is trusted for
KIOSK_KEY_CACHE_SECONDS and only while the *key generation* it was loaded under
is still current: any change to any kiosk device (rotation, deactivation,
deletion, a new device) bumps one generation value in the shared cache (Redis)
after commit, and every process compares it on every request (one cache GET),
so a rotated or deactivated key stops working at once everywhere, not when a
TTL runs out. If the shared cache cannot be read, the database decides.

Failed authentications are limited per client address (429 with Retry-After
past KIOSK_AUTH_FAILURES_PER_MINUTE). A blocked address is answered without a
database query, except for a key whose prefix this process knows as a real
kiosk's, so one broken kiosk behind a shared NAT does not lock out its
neighbours.
"""

from __future__ import annotations

import hmac
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.db import DatabaseError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from kiosk_project.core import metrics
from kiosk_project.core.client_address import client_address
from kiosk_project.core.errors import ApplicationError
from kiosk_project.core.models import KioskDevice, hash_key
from kiosk_project.core.ratelimit import RateLimited, check_rate, rate_exceeded

log = logging.getLogger(__name__)

GENERATION_KEY = "kiosk-keys:generation"
_LAST_SEEN_EVERY = 60.0
_KEY_RE = re.compile(r"^kk_(?P<prefix>[0-9a-f]{8,16})_(?P<secret>[A-Za-z0-9_-]{16,100})$")


class KioskUnauthorized(ApplicationError):
    code = "NOT_AUTHENTICATED"


@dataclass(frozen=True)
class Kiosk:
    """What a request knows about the kiosk that sent it."""

    id: int
    name: str
    branch_code: str
    channel: str
    allowed_order_modes: tuple[str, ...]
    order_prefix: str

    # DRF treats request.user as a user; these make a Kiosk behave as an authenticated principal.
    is_authenticated = True
    is_staff = False


V = TypeVar("V")


class BoundedLRU(Generic[V]):
    """A thread-safe dict that forgets its least recently used entries beyond `size`."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._data: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def pop(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class _Entry(NamedTuple):
    loaded_at: float  # time.monotonic()
    generation: str | None  # the key generation it was loaded under
    kiosk: Kiosk | None  # None: no active device has this prefix
    key_hash: str


class KeyCache:
    """One process's memory of key lookups (tests make several to play several processes)."""

    def __init__(self, *, size: int | None = None, miss_size: int | None = None, ttl: float | None = None) -> None:
        self.hits: BoundedLRU[_Entry] = BoundedLRU(size or settings.KIOSK_KEY_CACHE_SIZE)
        self.misses: BoundedLRU[_Entry] = BoundedLRU(miss_size or 4 * settings.KIOSK_KEY_CACHE_SIZE)
        self.ttl = settings.KIOSK_KEY_CACHE_SECONDS if ttl is None else ttl
        self.last_seen: BoundedLRU[float] = BoundedLRU(size or settings.KIOSK_KEY_CACHE_SIZE)

    def entry(self, prefix: str) -> _Entry | None:
        return self.hits.get(prefix) or self.misses.get(prefix)

    def knows_kiosk(self, prefix: str) -> bool:
        return self.hits.get(prefix) is not None

    def store(self, prefix: str, entry: _Entry) -> None:
        # A prefix lives in one of the two: a rotated or deactivated key moves from hits to misses.
        keep, drop = (self.hits, self.misses) if entry.kiosk is not None else (self.misses, self.hits)
        drop.pop(prefix)
        keep.put(prefix, entry)

    def clear(self) -> None:
        self.hits.clear()
        self.misses.clear()
        self.last_seen.clear()

    def __len__(self) -> int:
        return len(self.hits) + len(self.misses)


_process_cache = KeyCache()


class _Unknown:
    """The shared generation could not be read."""


_UNKNOWN = _Unknown()


def current_generation() -> str | _Unknown | None:
    try:
        return shared_cache.get(GENERATION_KEY)
    except Exception:
        metrics.incr("auth.kiosk_generation_unreadable")
        return _UNKNOWN


def kiosk_keys_changed() -> None:
    """Invalidate every process's cached keys: called after any kiosk device change commits."""
    try:
        shared_cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        # Processes keep trusting their copies for at most KIOSK_KEY_CACHE_SECONDS.
        log.error("kiosk key change not propagated: the shared cache is unavailable")
    _process_cache.clear()


@receiver(post_save, sender=KioskDevice, dispatch_uid="kiosk-keys-changed-on-save")
@receiver(post_delete, sender=KioskDevice, dispatch_uid="kiosk-keys-changed-on-delete")
def _device_changed(sender: Any, instance: KioskDevice, **kwargs: Any) -> None:
    # After commit: bumping earlier would let another process cache the old row under the new generation.
    # (last_seen_at is written with a queryset update, which sends no signal.)
    transaction.on_commit(kiosk_keys_changed)


def _load(prefix: str, generation: str | None) -> _Entry:
    device = (KioskDevice.objects.filter(key_prefix=prefix, is_active=True)
              .only("id", "name", "branch_code", "channel", "allowed_order_modes", "order_prefix", "key_hash")
              .first())
    if device is None:
        return _Entry(time.monotonic(), generation, None, "")
    kiosk = Kiosk(id=device.pk, name=device.name, branch_code=device.branch_code, channel=device.channel,
                  allowed_order_modes=tuple(device.allowed_order_modes or ()), order_prefix=device.order_prefix)
    return _Entry(time.monotonic(), generation, kiosk, device.key_hash)


def parse_key(raw: str) -> tuple[str, str] | None:
    match = _KEY_RE.match(raw) if len(raw) <= 200 else None
    return (match["prefix"], match["secret"]) if match else None


def kiosk_for_key(raw: str, *, key_cache: KeyCache | None = None) -> Kiosk | None:
    """The active kiosk this key belongs to, or None. Raises DatabaseError only when the database is
    needed and down (a fresh-but-expired entry still answers while the generation says nothing changed)."""
    parsed = parse_key(raw)
    if parsed is None:
        return None
    prefix, secret = parsed
    memory = _process_cache if key_cache is None else key_cache
    generation = current_generation()
    entry = memory.entry(prefix)
    current = entry is not None and not isinstance(generation, _Unknown) and entry.generation == generation
    if entry is None or not current or time.monotonic() - entry.loaded_at > memory.ttl:
        try:
            entry = _load(prefix, None if isinstance(generation, _Unknown) else generation)
        except DatabaseError:
            if not (entry is not None and current and entry.kiosk is not None):
                raise
            metrics.incr("auth.kiosk_served_from_memory")  # database down, nothing changed: keep the kiosk going
        else:
            memory.store(prefix, entry)
    if entry.kiosk is None or not hmac.compare_digest(hash_key(secret), entry.key_hash):
        return None
    _touch(memory, entry.kiosk.id)
    return entry.kiosk


def generation_cache_key() -> str:
    """The Redis key of the shared generation, for a fast path that reads it with its own data in one MGET."""
    return shared_cache.make_key(GENERATION_KEY)


def generation_decode(raw: bytes | None) -> str | None:
    """The shared generation from its raw Redis value (see generation_cache_key)."""
    return None if raw is None else shared_cache.client.decode(raw)  # type: ignore[attr-defined]


_READ = object()


def kiosk_for_key_cached(raw: str, generation: Any = _READ) -> Kiosk | None:
    """The kiosk this key belongs to from this process's memory only (the WSGI fast paths, which
    must not query); None when the answer needs the database or the key does not match.

    `generation`: the shared generation when the caller read it already (else it is read here)."""
    parsed = parse_key(raw)
    if parsed is None:
        return None
    prefix, secret = parsed
    entry = _process_cache.hits.get(prefix)
    if generation is _READ:
        generation = current_generation()
    if entry is None or entry.kiosk is None or isinstance(generation, _Unknown) or entry.generation != generation \
            or time.monotonic() - entry.loaded_at > _process_cache.ttl:
        return None
    return entry.kiosk if hmac.compare_digest(hash_key(secret), entry.key_hash) else None


def _touch(memory: KeyCache, device_id: int) -> None:
    now = time.monotonic()
    if now - (memory.last_seen.get(str(device_id)) or 0.0) < _LAST_SEEN_EVERY:
        return
    memory.last_seen.put(str(device_id), now)
    try:
        KioskDevice.objects.filter(pk=device_id).update(last_seen_at=timezone.now())
    except DatabaseError:  # bookkeeping: never fail a request for it
        log.warning("could not record a kiosk's last-seen time", extra={"device_id": device_id})


def forget_cached_keys() -> None:
    """Drop this process's key cache (tests)."""
    _process_cache.clear()


class KioskKeyAuthentication(BaseAuthentication):
    keyword = "Kiosk"
    scope = "kiosk_auth_failures"

    def authenticate(self, request: Request) -> tuple[Kiosk, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        address = client_address(request.META) or "unknown"
        limit = settings.KIOSK_AUTH_FAILURES_PER_MINUTE
        scheme, _, key = header.partition(" ")
        key = key.strip()
        parsed = parse_key(key) if scheme == self.keyword else None
        # A prefix this process knows as a real kiosk's is never blocked, so it skips the look at the counter
        # (the common case, every poll of every kiosk, costs no extra Redis round trip).
        if not (parsed and _process_cache.knows_kiosk(parsed[0])):
            blocked = rate_exceeded(scope=self.scope, ident=address, limit=limit)
            if blocked is not None:
                metrics.incr("auth.kiosk_rate_limited")
                raise _too_many(blocked)
        kiosk = kiosk_for_key(key) if parsed else None
        if kiosk is None:
            metrics.incr("auth.kiosk_rejected")
            try:
                check_rate(scope=self.scope, ident=address, limit=limit)
            except RateLimited as exc:
                log.warning("kiosk key failures from one address over the limit", extra={"remote_addr": address})
                raise _too_many(exc.retry_after) from None
            if scheme != self.keyword or not key:
                raise KioskUnauthorized()
            raise KioskUnauthorized("Unknown or inactive kiosk key.")
        return kiosk, key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def _too_many(retry_after: int) -> RateLimited:
    return RateLimited(retry_after, message="Too many failed kiosk authentications from this address; "
                                            "wait before trying again.")


class IsKiosk(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.user, Kiosk):
            return True
        raise KioskUnauthorized()
