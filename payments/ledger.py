"""The payments ledger: an append-only record of everything PhonePe told us (callbacks, status checks,
initiation and refund answers). Its unique key is what makes a replayed callback a no-op.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction

from kiosk_project.core import metrics
from payments.models import PaymentEvent


def ledger_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """What the ledger keeps of a payload: all of it up to PAYMENT_LEDGER_MAX_PAYLOAD_BYTES, else its size,
    digest and first part. A genuine PhonePe answer or callback is 1-3 KB; the bound keeps a signed but
    bloated callback (or a misbehaving provider) from writing 100 KB rows."""
    text = json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()
    limit = int(settings.PAYMENT_LEDGER_MAX_PAYLOAD_BYTES)
    if len(text) <= limit:
        return payload
    metrics.incr("payments.ledger_payload_truncated")
    return {"truncated": True, "bytes": len(text), "sha256": hashlib.sha256(text).hexdigest(),
            "head": text[: limit // 2].decode("utf-8", "ignore")}


def ledger_record(*, source: str, reference: str, state: str, payload: dict[str, Any], kind: str = "payment",
                  payment_id: Any = None, refund_id: Any = None, remote_addr: str | None = None) -> bool:
    """Append one event; False when (source, kind, reference, state) was already recorded.

    The insert runs in a savepoint, so a duplicate inside a caller's transaction
    costs nothing but the row that was not written. The payload is bounded (ledger_payload).
    """
    try:
        with transaction.atomic():
            PaymentEvent.objects.create(source=source, kind=kind, provider_reference=reference[:64],
                                        state=state[:32], payload=ledger_payload(payload), payment_id=payment_id,
                                        refund_id=refund_id, remote_addr=remote_addr or None)
    except IntegrityError:
        return False
    return True
