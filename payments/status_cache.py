"""The status document of every live order, kept in Redis so a poll is answered before Django.

Each waiting kiosk polls its order's status every 3 s; through Django a poll
costs about six times a bare WSGI answer (issue 14). payments/status_fastpath.py
answers from the copy kept here; this module keeps the copy right.

Written on every change, never trusted blindly:
* Whatever changes a row the document is made of (the order's, or one of its
  payment attempts') reports it: the transition functions and the few bulk
  UPDATEs through core.row_changes, model saves through post_save. Inside the
  transaction the copy is dropped at once (a poll then goes to Django, which
  reads the database) and the order is marked busy: until the transaction's
  rebuild (or BUSY_SECONDS) no poll fills the copy, because what it reads is
  about to change. After commit the copy is rebuilt from the committed rows.
  A change made in autocommit drops the copy before rebuilding it. So a rebuild
  that fails or never runs leaves no copy, never an old one.
* Writers race (two commits, a Django poll filling a gap). Each writer takes a
  ticket (INCR on the order's generation counter) *before* it reads the rows,
  and stores only if no one took a later ticket meanwhile (one Lua script).
  Whoever took the last ticket read after every commit that came before it, so
  the copy left standing is never older than the rows.
* The copy lives STATUS_CACHE_TTL seconds after its last write: the bound on
  staleness should a process die between its commit and its rebuild.
* Redis trouble never fails a write or a poll: the copy is skipped (and
  counted), and the poll goes to Django.

The clock: `payment.can_retry` turns false when the order's `expires_at`
passes. The copy holds the document as it reads before that moment and as it
reads after, and the fast path picks by the clock, as the view would.

With the in-process cache (`make run` without REDIS_URL) nothing is kept and every
poll is Django's; with STATUS_FAST_PATH off copies are still kept right (other
processes may serve them) but not served. Copies carry FORMAT in their key: bump
it when the document changes, so a new release never serves an old one's bytes.
"""

from __future__ import annotations

import logging
import pickle
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from rest_framework.renderers import JSONRenderer

from kiosk_project.core import metrics
from kiosk_project.core.row_changes import subscribe
from orders.models import Order
from orders.selectors import OrderNotFound
from payments.models import Payment
from payments.status_document import StatusRow, document_of, status_etag, status_row

log = logging.getLogger(__name__)

# Bump when the document or CachedStatus changes: a new release then never reads an old release's copies.
FORMAT = 1
# While a transaction that changes an order is open, polls that reach Django do not fill its copy (they would
# read the rows as they were before it); this bounds that state should the transaction's rebuild never run.
BUSY_SECONDS = 30

# KEYS: the generation counter, the copy, the changes channel, the busy counter. ARGV: the writer's ticket, the
# copy, its lifetime, the order's id (told to every process holding a copy in memory: payments/status_local.py),
# and the mode: "fill" (a poll; refused while a changing transaction is open) or "rebuild" (after a commit; it
# counts its transaction out, and stores only when no other is still open).
_STORE_IF_LATEST = """
if ARGV[5] == 'rebuild' then
  local open = redis.call('DECR', KEYS[4])
  if open <= 0 then
    redis.call('DEL', KEYS[4])
  else
    return 0
  end
elseif tonumber(redis.call('GET', KEYS[4]) or '0') > 0 then
  return 0
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
  redis.call('PUBLISH', KEYS[3], ARGV[4])
  return 1
end
return 0
"""
FILL, REBUILD = "fill", "rebuild"


@dataclass(frozen=True)
class CachedStatus:
    """One order's status document as the fast path serves it."""

    device_id: int | None
    switch_at: float | None  # the order's expires_at while it is payable: the second version applies from then
    etag: str
    body: bytes
    later_etag: str
    later_body: bytes
    stored_at: float  # time.time() when built: no process trusts a copy longer than Redis keeps it

    def version(self, now: float) -> tuple[str, bytes]:
        if self.switch_at is not None and now >= self.switch_at:
            return self.later_etag, self.later_body
        return self.etag, self.body


def keeping() -> bool:
    """Copies are kept (and changes announced) whenever the cache is Redis, whatever STATUS_FAST_PATH says, so
    a process that does not serve from them still keeps every other process's copies right."""
    return settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


def enabled() -> bool:
    """Polls are answered from the copies."""
    return bool(settings.STATUS_FAST_PATH) and keeping()


def _client() -> Any:
    return cache.client.get_client(write=True)  # type: ignore[attr-defined]  # django-redis's redis-py client


def doc_key(order_id: Any) -> str:
    return cache.make_key(f"status:doc:{FORMAT}:{order_id}")


def _gen_key(order_id: Any) -> str:
    return cache.make_key(f"status:gen:{order_id}")


def _busy_key(order_id: Any) -> str:
    return cache.make_key(f"status:busy:{order_id}")


def changes_channel() -> str:
    """The channel on which every drop and rebuild of a copy names its order."""
    return cache.make_key("status:changed")


def read(order_id: str) -> CachedStatus | None:
    """The copy of one order's status document (None: no copy; raises on Redis trouble)."""
    return _loaded(_client().get(doc_key(order_id)))


def read_with(key: str, order_id: str) -> tuple[bytes | None, CachedStatus | None]:
    """Another key's raw value and the order's copy, in one round trip (raises on Redis trouble)."""
    other, raw = _client().mget([key, doc_key(order_id)])
    return other, _loaded(raw)


def _loaded(raw: bytes | None) -> CachedStatus | None:
    return None if raw is None else pickle.loads(raw)  # noqa: S301  (our own bytes, in our own Redis)


def render(row: StatusRow) -> CachedStatus:
    """The status document of `row`, byte for byte as the view renders it, before and after the order expires."""
    before = document_of(row, now=row.expires_at - timedelta(microseconds=1))
    after = document_of(row, now=row.expires_at)
    renderer = JSONRenderer()
    body = renderer.render(before)
    later = body if after == before else renderer.render(after)
    return CachedStatus(device_id=row.device_id, switch_at=row.expires_at.timestamp() if later != body else None,
                        etag=status_etag(before), body=body, later_etag=status_etag(after), later_body=later,
                        stored_at=time.time())


def ticket(order_id: Any) -> int | None:
    """Take a writer's ticket (before reading the rows); None when Redis cannot be reached."""
    key = _gen_key(order_id)
    try:
        pipe = _client().pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 2 * settings.STATUS_CACHE_TTL)
        return int(pipe.execute()[0])
    except Exception:
        metrics.incr("status_cache.redis_failed")
        log.warning("status cache unreachable", extra={"order_id": str(order_id)})
        return None


def store(row: StatusRow, held: int | None, mode: str = FILL) -> bool:
    """Keep `row`'s document unless a later ticket than `held` was taken (its writer will store a newer one)
    or, for a fill, while a transaction that changes the order is open (see _STORE_IF_LATEST)."""
    if held is None:
        return False
    copy = pickle.dumps(render(row), protocol=pickle.HIGHEST_PROTOCOL)
    try:
        client = _client()
        stored = client.eval(_STORE_IF_LATEST, 4, _gen_key(row.order_id), doc_key(row.order_id), changes_channel(),
                             _busy_key(row.order_id), str(held), copy, settings.STATUS_CACHE_TTL, str(row.order_id),
                             mode)
    except Exception:
        metrics.incr("status_cache.redis_failed")
        log.warning("status cache write failed", extra={"order_id": str(row.order_id)})
        return False
    return bool(stored)


def present(order_id: Any) -> bool:
    try:
        return bool(_client().exists(doc_key(order_id)))
    except Exception:
        return True  # Redis trouble: nothing to fill


def refresh(order_id: Any, mode: str = FILL) -> None:
    """Rebuild one order's copy from its committed rows (never raises).

    REBUILD: after the commit of a transaction that dropped the copy (order_changed). FILL: a change made in
    autocommit, already committed: the old copy is dropped first, so a rebuild that fails leaves no copy, never
    an old one.
    """
    if mode == FILL:
        _drop(order_id, busy=False)
    held = ticket(order_id)
    if held is None:
        return
    try:
        row = status_row(order_id=order_id)
    except OrderNotFound:
        return
    except Exception:  # the commit is done; a poll will read the database instead
        log.warning("status cache rebuild failed", extra={"order_id": str(order_id)}, exc_info=True)
        return
    store(row, held, mode)


def _drop(order_id: Any, *, busy: bool) -> None:
    """Make the copy unservable now, and every earlier ticket stale; `busy`: inside the writer's transaction,
    which also keeps polls from filling the copy until its rebuild (or BUSY_SECONDS)."""
    key, gen = doc_key(order_id), _gen_key(order_id)
    try:
        pipe = _client().pipeline(transaction=False)
        if busy:
            pipe.incr(_busy_key(order_id))
            pipe.expire(_busy_key(order_id), BUSY_SECONDS)
        pipe.incr(gen)
        pipe.expire(gen, 2 * settings.STATUS_CACHE_TTL)
        pipe.delete(key)
        pipe.publish(changes_channel(), str(order_id))
        pipe.execute()
    except Exception:
        metrics.incr("status_cache.redis_failed")
        log.warning("status cache unreachable", extra={"order_id": str(order_id)})


class CopyRebuild:
    """The on-commit rebuild of one order's copy; the attribute finds it among the pending callbacks."""

    def __init__(self, order_id: Any) -> None:
        self.status_order_id = str(order_id)

    def __call__(self) -> None:
        refresh(self.status_order_id, REBUILD)


def order_changed(order_id: Any) -> None:
    """The order's status document may have changed in the current transaction: drop it now, rebuild on commit."""
    if not keeping():
        return
    if not connection.in_atomic_block:  # autocommit: the change is already committed
        refresh(order_id, FILL)
        return
    wanted = str(order_id)
    # Once per order per transaction (a paid order changes its rows four or five times in one).
    if any(getattr(entry[1], "status_order_id", None) == wanted for entry in connection.run_on_commit):
        return
    _drop(order_id, busy=True)
    transaction.on_commit(CopyRebuild(order_id))


def _order_row_changed(pk: Any, instance: models.Model | None) -> None:
    order_changed(pk)


def _payment_row_changed(pk: Any, instance: models.Model | None) -> None:
    order_id = getattr(instance, "order_id", None)
    if order_id is None:
        order_id = Payment.objects.filter(pk=pk).values_list("order_id", flat=True).first()
    if order_id is not None:
        order_changed(order_id)


subscribe(Order, _order_row_changed)
subscribe(Payment, _payment_row_changed)


# The columns the document is made of; a save of other columns only (a reconciler's check count) changes nothing.
_ORDER_FIELDS = frozenset({"status", "kitchen_status", "updated_at", "expires_at", "order_number", "device"})
_PAYMENT_FIELDS = frozenset({"status", "merchant_reference", "error_code", "expires_at", "confirmed_order", "order"})


def _touches(update_fields: Any, fields: frozenset[str]) -> bool:
    return update_fields is None or not fields.isdisjoint(update_fields)


@receiver(post_save, sender=Order, dispatch_uid="status-document-order-saved")
def _order_saved(sender: type[Order], instance: Order, created: bool, update_fields: Any = None,
                 **kwargs: Any) -> None:
    # A new order has no copy; its first poll makes one.
    if not created and _touches(update_fields, _ORDER_FIELDS):
        order_changed(instance.pk)


@receiver(post_save, sender=Payment, dispatch_uid="status-document-payment-saved")
def _payment_saved(sender: type[Payment], instance: Payment, created: bool, update_fields: Any = None,
                   **kwargs: Any) -> None:
    if created or _touches(update_fields, _PAYMENT_FIELDS):  # a new attempt becomes the order's current one
        order_changed(instance.order_id)
