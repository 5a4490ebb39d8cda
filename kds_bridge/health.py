"""The kitchen's part of GET /health: has a paid order waited too long for the kitchen?

It runs in the web process on every /health call, so it still speaks when the Celery worker that
should deliver the order (and run the stuck-order alert) is dead. One indexed query.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from kds_bridge.selectors import oldest_open_delivery_created_at
from kiosk_project.core.health import Component

log = logging.getLogger(__name__)


def kitchen_backlog() -> Component:
    """`oldest_undelivered_s`: how long the oldest paid order not yet in Rista has waited (0 if none).

    State `late` (a failure) past KDS_HEALTH_MAX_UNDELIVERED_SECONDS, logged as an alert.
    """
    try:
        oldest = oldest_open_delivery_created_at()
    except DatabaseError:  # the database check reports that; the kitchen's state is merely unknown
        return Component(state="unknown")
    age = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0
    limit = settings.KDS_HEALTH_MAX_UNDELIVERED_SECONDS
    facts = {"oldest_undelivered_s": round(age), "limit_s": round(limit)}
    if age > limit:
        log.error("ALERT: a paid order has waited too long for the kitchen", extra={
            "oldest_undelivered_seconds": round(age), "limit": limit})
        return Component(ok=False, state="late", facts=facts)
    return Component(facts=facts)
