"""The one way a kitchen delivery's status changes: through DELIVERY_STATUS_TRANSITIONS (kds_bridge.models)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kds_bridge.models import DELIVERY_STATUS_TRANSITIONS, KitchenDelivery
from kiosk_project.core.transitions import transition_update


def kitchen_delivery_transition(*, delivery_id: Any, to: str, expected: Iterable[str] | None = None,
                                actor: str = "kitchen", held: str | None = None, **values: Any) -> str | None:
    """Move a delivery to `to` (a conditional UPDATE, core.transitions) with `values`; the previous status,
    or None when the row was not in `expected`. Staying in a state (a re-claimed lease, a row re-queued)
    only updates `values`. Callers lock the order first, then the delivery (the system's one lock order).
    `held`: the status the caller read with the delivery locked (it is then not read again).
    """
    return transition_update(model=KitchenDelivery, pk=delivery_id, field="status", table=DELIVERY_STATUS_TRANSITIONS,
                             to=to, entity="kitchen_delivery", expected=expected, actor=actor, values=values,
                             allow_same=True, held=held)
