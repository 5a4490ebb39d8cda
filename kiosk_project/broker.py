"""Celery's Redis transport, with the bug that killed the worker on a Redis restart fixed where it starts.

The crash (celery 5.7.0, kombu 5.7.0, redis-py 8.1.0; docs/kitchen.md, "Broker restarts"):

1. Redis goes away while the worker holds unacknowledged messages (acks_late, prefetch).
2. The consumer's error handler calls kombu's ``Connection.collect()``. It tries to close the
   connection's channels, but the first close that touches Redis raises a connection error, which
   ``collect()`` swallows, leaving the default channel (the task consumer's, the one holding the
   unacked messages) open. It then detaches the transport anyway: ``transport.client = None``.
3. Celery 5.7 then also calls ``connection.close()`` "to release the old socket". That closes the
   still-open default channel, whose close restores the unacked messages, which needs a Redis
   connection pool, whose parameters kombu reads from ``transport.client.hostname``: ``None``.
   ``AttributeError`` is not a connection error, so nothing catches it and the worker exits with
   "Unrecoverable error: AttributeError('NoneType' object has no attribute 'hostname')".

The fix: a channel remembers its connection parameters from the moment it is created, so it never
needs the (possibly detached) transport to reach Redis again. A close after the detach then
restores the unacked messages if Redis is back, or fails with a *connection* error that kombu and
Celery handle (the consumer reconnects; the messages stay in Redis's unacked set, and our outbox
sweeper delivers the orders anyway). The same holds for a late ack of a message from the old
channel. Selected in settings (CELERY_BROKER_TRANSPORT) for redis:// broker URLs only.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._remembered_connparams: dict[bool, dict[str, Any]] = {}
        super().__init__(*args, **kwargs)  # pings Redis: the asynchronous parameters are remembered now
        self._connparams(asynchronous=False)  # and the synchronous ones (restore, ack, publish) too

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if asynchronous not in self._remembered_connparams:
            self._remembered_connparams[asynchronous] = super()._connparams(asynchronous=asynchronous)
        return dict(self._remembered_connparams[asynchronous])


class Transport(kombu_redis.Transport):
    Channel = Channel
