"""Who wants to know when a row changed without a model save: transitions and the few bulk UPDATEs.

`transition_update` (core.transitions) changes statuses with a conditional UPDATE, which sends no
`post_save`; a handful of other writes do the same for speed. Each calls `row_changed(Model, pk)`
inside its transaction, and every listener subscribed to that model is called there and then (it
decides for itself what to do now and what on commit). Listeners are registered by the apps that
keep something derived from the rows (payments' status-document cache: payments/status_cache.py),
so core depends on nobody.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models

Listener = Callable[[Any, models.Model | None], None]

_listeners: dict[type[models.Model], list[Listener]] = {}


def subscribe(model: type[models.Model], listener: Listener) -> None:
    """Call `listener(pk, instance_or_None)` whenever `row_changed(model, ...)` is reported (idempotent)."""
    listeners = _listeners.setdefault(model, [])
    if listener not in listeners:
        listeners.append(listener)


def row_changed(model: type[models.Model], pk: Any, instance: models.Model | None = None) -> None:
    """Report that the row `pk` of `model` changed in the current transaction (or just now, in autocommit)."""
    for listener in _listeners.get(model, ()):
        listener(pk, instance)
