"""One transition table per status field, and the one way a status changes (Oscar's pipeline + set_status).

Each app keeps its table next to its `TextChoices` (`{from: {to, ...}}`) and exposes one transition
function per entity, built on `transition_update`: a conditional UPDATE that succeeds only from a state
the table allows, returns the true previous state (read under the row's lock, so an event can record it),
and refuses anything else loudly (an error log and a `<entity>.transition_refused` metric, then
`TransitionRefused`). A caller's `expected` narrows the states it acts from: a row found in another state
is a lost race (None, quietly), not a refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from kiosk_project.core import metrics
from kiosk_project.core.row_changes import row_changed

log = logging.getLogger(__name__)

Table = Mapping[str, frozenset[str]]


def table_of(pairs: Mapping[str, Iterable[str]]) -> Table:
    """A transition table from `{from: (to, ...)}`, frozen so no caller can widen it at run time."""
    return {str(source): frozenset(str(target) for target in targets) for source, targets in pairs.items()}


def table_pairs(table: Table) -> set[tuple[str, str]]:
    return {(source, target) for source, targets in table.items() for target in targets}


def allowed_from(table: Table, to: str) -> tuple[str, ...]:
    """The states from which the table allows a move to `to`."""
    return tuple(sorted(source for source, targets in table.items() if to in targets))


class TransitionRefused(RuntimeError):
    """A status change the table does not allow: a bug (or a missing table entry), never a race."""

    def __init__(self, *, entity: str, pk: Any, previous: str, to: str) -> None:
        super().__init__(f"{entity} {pk}: {previous} -> {to} is not an allowed transition")
        self.entity, self.pk, self.previous, self.to = entity, pk, previous, to


def refuse(*, entity: str, pk: Any, previous: str, to: str, actor: str = "") -> TransitionRefused:
    """Log and count a refused transition; returns the exception for the caller to raise."""
    metrics.incr(f"{entity}.transition_refused")
    log.error("status transition refused", extra={"entity": entity, "id": str(pk), "from": previous, "to": to,
                                                  "actor": actor})
    return TransitionRefused(entity=entity, pk=pk, previous=previous, to=to)


def check(table: Table, *, entity: str, pk: Any, previous: str, to: str, actor: str = "") -> None:
    """Raise (loudly) unless the table allows previous -> to."""
    if to not in table.get(previous, frozenset()):
        raise refuse(entity=entity, pk=pk, previous=previous, to=to, actor=actor)


def transition_update(*, model: type[models.Model], pk: Any, field: str, table: Table, to: str, entity: str,
                      expected: Iterable[str] | None = None, actor: str = "",
                      values: Mapping[str, Any] | None = None, allow_same: bool = False,
                      instance: models.Model | None = None, held: str | None = None) -> str | None:
    """Move one row's `field` to `to`; the previous state, or None when the row is gone or not in `expected`.

    The row is locked (SELECT ... FOR UPDATE) for the read, so the previous state is the true one,
    and the UPDATE is conditional on it. Joins the caller's transaction (no savepoint); the lock is
    the row's own, which the UPDATE would take anyway, so no lock order changes. `allow_same`: a row
    already in `to` is updated (its other values) without a transition (a lease renewed, a row re-queued).
    Every successful update is reported to the model's listeners (core.row_changes), with `instance`
    when the caller holds the row. `held`: the state the caller read under its own lock of this row in
    this transaction; then the row is not read again (the UPDATE is still conditional on that state, and
    a row found otherwise is refused loudly: the caller's lock was not what it said).
    """
    with transaction.atomic(savepoint=False):
        previous: Any = held
        if held is None:
            previous = (model._default_manager.select_for_update().filter(pk=pk)
                        .values_list(field, flat=True).first())
        if previous is None or (expected is not None and previous not in tuple(expected)):
            return None
        if not (allow_same and previous == to):
            check(table, entity=entity, pk=pk, previous=previous, to=to, actor=actor)
        fields = {"updated_at": timezone.now(), **(values or {}), field: to}
        updated = model._default_manager.filter(pk=pk, **{field: previous}).update(**fields)
        if updated != 1:  # impossible under the lock; never report a change that did not happen
            raise refuse(entity=entity, pk=pk, previous=previous, to=to, actor=actor)
        row_changed(model, pk, instance)
    if previous != to:
        log.info("status changed", extra={"entity": entity, "id": str(pk), "from": previous, "to": to, "actor": actor})
    return str(previous)


def instance_transition(instance: models.Model, *, table: Table, to: str, entity: str, field: str = "status",
                        fields: Iterable[str] = (), actor: str = "") -> str:
    """`transition_update` for a row the caller has locked and loaded: writes `fields` from the instance too.

    Staying in the same state is no transition (only `fields` are saved). Returns the previous state.
    """
    previous = str(getattr(instance, field))
    names = [name for name in fields if name not in (field, "updated_at")]
    if previous == to:
        instance.save(update_fields=[*names, "updated_at"])
        return previous
    values = {name: getattr(instance, name) for name in names}
    done = transition_update(model=type(instance), pk=instance.pk, field=field, table=table, to=to, entity=entity,
                             expected=(previous,), actor=actor, values=values, instance=instance, held=previous)
    if done is None:  # the caller's lock should make this impossible
        raise refuse(entity=entity, pk=instance.pk, previous=previous, to=to, actor=actor)
    setattr(instance, field, to)
    return previous
