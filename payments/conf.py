"""Payment settings that have safe defaults and are not part of the product's named interface.

The named ones (PHONEPE_*, PAYMENT_QR_EXPIRY_SECONDS, PAYMENT_RECONCILE_*,
PAYMENT_LATE_SUCCESS_POLICY) live in settings/base.py. These can be overridden
there too; docs/payments.md lists them all.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # A still-valid QR is handed out again only if it has at least this long to live.
    "PAYMENT_QR_REUSE_MARGIN_SECONDS": 10,
    # A CREATED attempt (PhonePe call in flight) older than this was abandoned by a crashed process.
    "PAYMENT_INITIATE_STALE_SECONDS": 60,
    "PAYMENT_INITIATE_RATE_LIMIT_PER_MINUTE": 30,
    # One reconciler pass: at most this many payments/refunds, and stop claiming after this many seconds.
    "PAYMENT_RECONCILE_BATCH": 50,
    "PAYMENT_RECONCILE_TIME_BUDGET": 20.0,
    # Refund status checks: first after this many seconds, then doubling up to the cap.
    "PAYMENT_REFUND_FIRST_CHECK": 10,
    "PAYMENT_REFUND_MAX_CHECK_EVERY": 600,
    # A refund row not yet accepted by PhonePe is (re)submitted by the reconciler after this long.
    "PAYMENT_REFUND_SUBMIT_AFTER": 10,
    # Orders the expiry job handles per run.
    "PAYMENT_EXPIRE_BATCH": 200,
    # After a callback's status check, further callbacks for that payment within this many seconds are
    # coalesced into it (no new PhonePe call); the reconciler looks again once the window has passed.
    "PAYMENT_CALLBACK_COALESCE_SECONDS": 5.0,
    # The ledger keeps payloads up to this size whole, larger ones as size + sha256 + head.
    "PAYMENT_LEDGER_MAX_PAYLOAD_BYTES": 16 * 1024,
}


def conf(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
