"""Django's PostgreSQL backend, made to fail fast and honestly when the server goes away.

Django and psycopg bound a *new* connection (`connect_timeout`) and the server
bounds a query (`statement_timeout`), but nothing bounds a query on an existing
connection whose server stopped answering: a frozen or overloaded server, a
host that vanished without a reset, a black-holed network. A request then waits
for as long as TCP does (minutes), holding a worker thread, and every other
request queues behind it, the cached menu too. Three changes:

* every wait on the server has a client-side deadline, DB_QUERY_TIMEOUT
  (statement_timeout plus a margin, so a query the server would still answer is
  never abandoned); past it the connection is closed and the query fails with
  OperationalError, which the exception handler answers 503 SERVICE_UNAVAILABLE;
* pooled connections (DB_POOL) use the same connection class;
* a connection that has failed is closed, not probed with `SELECT 1` as Django
  does at the start and end of every request (the probe is exactly the query that
  hangs, and it ran even on requests that never touch the database, like the menu);
  the health probes that do run (a persistent connection's first use in a request,
  a pooled one when lent) have a shorter deadline, DB_PROBE_TIMEOUT: an idle server
  answers an empty query in milliseconds;
* a breaker: once connecting failed or a wait ran out, the process does not try
  again for DB_OUTAGE_BACKOFF seconds: requests meanwhile fail at once (503) instead
  of each paying the connect timeout, and health probes of pooled or persistent
  connections are skipped. The first request after the back-off tries for real.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base

_WAIT_TIMEOUT: type[Exception] = getattr(psycopg.errors, "_WaitTimeout", psycopg.OperationalError)


class _Breaker:
    def __init__(self) -> None:
        self.until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.until

    def trip(self) -> None:
        self.until = time.monotonic() + float(settings.DB_OUTAGE_BACKOFF)

    def reset(self) -> None:
        self.until = 0.0


breaker = _Breaker()


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose every wait on the server ends by DB_QUERY_TIMEOUT (DB_PROBE_TIMEOUT in a probe)."""

    deadline: float | None = None  # set for the duration of a probe

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        limit = timeout if timeout is not None else (self.deadline or float(settings.DB_QUERY_TIMEOUT))
        try:
            return super().wait(gen, interval=interval, timeout=limit)
        except _WAIT_TIMEOUT:
            # Mid-protocol and unanswered: the connection's state is unknown, so nobody may reuse it.
            self.pgconn.finish()
            breaker.trip()
            raise psycopg.OperationalError(f"PostgreSQL did not answer within {limit} s; connection closed") from None

    @contextlib.contextmanager
    def probing(self) -> Iterator[None]:
        self.deadline = float(settings.DB_PROBE_TIMEOUT)
        try:
            yield
        finally:
            self.deadline = None

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        # Django queries through cursors; an empty query on the connection itself is psycopg_pool's check of a
        # connection it lends (ConnectionPool.check_connection): a probe, with the probe's deadline.
        if query == "":
            with self.probing():
                return super().execute(query, params, **kwargs)
        return super().execute(query, params, **kwargs)


class _Psycopg:
    """psycopg as Django's backend sees it (`DatabaseWrapper.Database`), connecting with DeadlineConnection."""

    def __getattr__(self, name: str) -> Any:
        return getattr(psycopg, name)

    @staticmethod
    def connect(*args: Any, **kwargs: Any) -> DeadlineConnection:
        return DeadlineConnection.connect(*args, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    Database = _Psycopg()  # type: ignore[assignment]  # psycopg itself, but connecting with deadlines

    def __init__(self, settings_dict: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        pool = settings_dict.get("OPTIONS", {}).get("pool")
        if isinstance(pool, dict):
            pool.setdefault("connection_class", DeadlineConnection)
        super().__init__(settings_dict, *args, **kwargs)

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        if breaker.is_open():
            raise psycopg.OperationalError("PostgreSQL was unreachable moments ago; not trying again yet")
        try:
            connection = super().get_new_connection(conn_params)
        except psycopg.OperationalError:
            breaker.trip()
            raise
        breaker.reset()
        return connection

    def is_usable(self) -> bool:
        if breaker.is_open():
            return False
        connection = self.connection
        if isinstance(connection, DeadlineConnection):
            with connection.probing():
                return bool(super().is_usable())
        return bool(super().is_usable())

    def close_if_unusable_or_obsolete(self) -> None:
        if self.connection is not None and self.errors_occurred:
            self.close()  # reconnecting costs milliseconds; probing a dead server costs the deadline
            return
        super().close_if_unusable_or_obsolete()
