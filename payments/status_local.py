"""This process's own copies of status documents, trusted only while it hears every change.

A poll answered from Redis still costs a network round trip, about half of the
fast path's CPU (docs/performance.md). So each process keeps the copies it
served, and Redis tells every process when one changes: the writer that drops
or rebuilds an order's copy (payments/status_cache.py) publishes the order's id
on one channel, in the same round trip as the write.

A copy in memory is served only while this process is provably listening:
* A thread per process subscribes to the channel and PINGs on it every
  LISTEN_PING seconds; the process trusts its copies only while the last answer
  is younger than LISTEN_STALE seconds. A lost connection, a silent network or a
  Redis restart therefore stops the trust within that bound, and every copy
  held is forgotten (messages may have been missed); trust resumes with an empty
  memory once subscribed again.
* A copy read from Redis is kept only if no message arrived while it was being
  read (a message about it may have raced the read).
* Which kiosk keys are valid changes too (kiosk_project.core.kiosk_auth's
  shared generation): the same thread re-reads the generation with each PING,
  so a revoked key stops being answered from memory within LISTEN_PING seconds.

Messages arrive within a millisecond or so of the write, so a process may answer
a poll with the previous document for that long after another process's commit:
a kiosk polls every 3 s.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.core.cache import cache

from kiosk_project.core import metrics
from kiosk_project.core.kiosk_auth import generation_cache_key, generation_decode
from payments.status_cache import CachedStatus, changes_channel

log = logging.getLogger(__name__)

SYNC = "sync:"  # a marker message (LocalCopies.sync), never an order id
LISTEN_PING = 0.5
LISTEN_STALE = 2.0
_UNSET = object()


class LocalCopies:
    """Status copies in this process's memory, and the listener that keeps them honest."""

    def __init__(self, size: int | None = None) -> None:
        self.size = settings.STATUS_LOCAL_COPIES if size is None else size
        self._lock = threading.Lock()
        # order id -> (kept at, copy); a copy is never trusted longer than Redis keeps it (STATUS_CACHE_TTL
        # from when it was built, CachedStatus.stored_at).
        self._copies: OrderedDict[str, tuple[float, CachedStatus]] = OrderedDict()
        self._heard = 0  # messages handled: a read that saw this change while it ran is not kept
        self._alive_until = 0.0  # monotonic: trust ends here unless the listener hears Redis again
        self._generation: Any = _UNSET
        self._pid = 0
        self._stop = threading.Event()
        self._synced = ""

    # -- the poll's side -------------------------------------------------------------------------------------
    def listening(self) -> bool:
        if self._pid != os.getpid():  # first use, or a forked child (gunicorn workers): listen from here
            self._start()
        return time.monotonic() < self._alive_until

    def generation(self) -> Any:
        """The kiosk keys' shared generation as last read (only meaningful while listening)."""
        return self._generation

    def get(self, order_id: str) -> CachedStatus | None:
        if not self.listening():
            return None
        with self._lock:
            held = self._copies.get(order_id)
            if held is None:
                return None
            if time.time() - held[1].stored_at > settings.STATUS_CACHE_TTL:  # no longer than Redis keeps it
                del self._copies[order_id]
                return None
            self._copies.move_to_end(order_id)
            return held[1]

    def token(self) -> int:
        """Taken before a Redis read whose result `keep` may store."""
        return self._heard

    def keep(self, order_id: str, copy: CachedStatus, token: int) -> None:
        with self._lock:
            if token != self._heard or not time.monotonic() < self._alive_until:
                return  # something changed while we read: this copy may already be old
            self._copies[order_id] = (time.monotonic(), copy)
            self._copies.move_to_end(order_id)
            while len(self._copies) > self.size:
                self._copies.popitem(last=False)

    def sync(self, timeout: float = 5.0) -> bool:
        """Wait until this process has heard every change published before the call, and listens (tests)."""
        marker = f"{SYNC}{uuid.uuid4().hex}"
        deadline = time.monotonic() + timeout
        while not self.listening():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        cache.client.get_client(write=True).publish(changes_channel(), marker)  # type: ignore[attr-defined]
        while self._synced != marker:  # one channel, one publisher connection: messages arrive in order
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True

    # -- the listener ----------------------------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._copies.clear()
            self._alive_until = 0.0
            self._stop = threading.Event()
        threading.Thread(target=self._listen, args=(self._stop,), name="status-copies-listener",
                         daemon=True).start()

    def stop(self) -> None:
        """Stop listening (tests); the next use starts again."""
        self._stop.set()
        with self._lock:
            self._pid = 0
            self._alive_until = 0.0
            self._copies.clear()

    def _forget_all(self) -> None:
        with self._lock:
            self._alive_until = 0.0
            self._heard += 1
            self._copies.clear()

    def _listen(self, stop: threading.Event) -> None:
        channel = changes_channel()
        while not stop.is_set():
            pubsub = None
            try:
                client = cache.client.get_client(write=True)  # type: ignore[attr-defined]
                pubsub = client.pubsub()
                pubsub.subscribe(channel)
                self._serve(pubsub, client, stop)
            except Exception:
                metrics.incr("status_cache.listener_lost")
                log.warning("status copies: not listening to changes; polls read Redis until it answers")
            finally:
                self._forget_all()
                if pubsub is not None:
                    with contextlib.suppress(Exception):  # already broken
                        pubsub.close()
            stop.wait(1.0)

    def _serve(self, pubsub: Any, client: Any, stop: threading.Event) -> None:
        subscribed = False
        last_ping = 0.0
        last_heard = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if now - last_heard > LISTEN_STALE:
                raise ConnectionError("no answer from Redis on the changes channel")
            if subscribed and now - last_ping >= LISTEN_PING:
                # Read before the PING: its PONG, once heard, vouches for this value too.
                self._generation = generation_decode(client.get(generation_cache_key()))
                pubsub.ping()
                last_ping = now
            message = pubsub.get_message(timeout=LISTEN_PING / 2)
            if message is None:
                continue
            kind = message["type"]
            if kind == "subscribe":
                subscribed, last_heard, last_ping = True, time.monotonic(), 0.0  # read and ping at once
            elif kind == "pong":
                last_heard = time.monotonic()
                with self._lock:
                    self._alive_until = last_heard + LISTEN_STALE
            elif kind == "message":
                order_id = message["data"].decode()
                with self._lock:
                    self._heard += 1
                    self._copies.pop(order_id, None)
                    if order_id.startswith(SYNC):
                        self._synced = order_id


local_copies = LocalCopies()
