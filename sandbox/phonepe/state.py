"""The sandbox's books: payments, refunds and their state machines.

Everything here is pure bookkeeping under one lock and never does network I/O;
callers take the snapshots these methods return and deliver callbacks after the
lock is released (a slow merchant webhook must not stall the whole sandbox).
"""

from __future__ import annotations

import copy
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PENDING, COMPLETED, FAILED = "PENDING", "COMPLETED", "FAILED"

BEHAVIOURS = ("normal", "drop", "delay", "twice", "stale_failed_after", "bad_signature", "wrong_amount")

# How each control action ends a payment, in both vocabularies:
# (state, v1 code, v1 responseCode, v2 errorCode, v2 detailedErrorCode).
# Failure codes are the examples PhonePe's docs and SDK tests use [?: no complete table exists].
OUTCOMES: dict[str, tuple[str, str, str, str | None, str | None]] = {
    "pay": (COMPLETED, "PAYMENT_SUCCESS", "SUCCESS", None, None),
    "fail": (FAILED, "PAYMENT_ERROR", "ZM", "PAYMENT_ERROR", "ZM"),
    "decline": (FAILED, "PAYMENT_DECLINED", "REQUEST_DECLINE_BY_REQUESTEE", "PAYMENT_ERROR",
                "REQUEST_DECLINE_BY_REQUESTEE"),
    "expire": (FAILED, "TIMED_OUT", "TXN_AUTO_FAILED", "TXN_NOT_COMPLETED", "TXN_AUTO_FAILED"),
}


class LedgerError(Exception):
    """A refused bookkeeping action; `kind` is not_found | duplicate | conflict | excess | invalid."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def new_id(prefix: str, now: float | None = None) -> str:
    """PhonePe-looking ids: prefix + epoch ms + random digits (e.g. OMO1709547969783123456)."""
    ms = int((now if now is not None else time.time()) * 1000)
    return f"{prefix}{ms}{random.randint(0, 999_999):06d}"


def new_utr() -> str:
    return f"{random.randint(0, 10**12 - 1):012d}"


@dataclass
class CallbackPlan:
    """How the terminal callback of one payment is delivered (see BEHAVIOURS)."""

    behaviour: str = "normal"
    delay: float = 0.0
    amount: int | None = None  # wrong_amount: the amount to claim; default paid + 100 paise

    def as_dict(self) -> dict[str, Any]:
        return {"behaviour": self.behaviour, "delay": self.delay, "amount": self.amount}


@dataclass
class Payment:
    api: str  # "v1" | "v2"
    product: str  # "custom" (/payments/v2), "standard" (/checkout/v2) or "pg" (v1)
    ref: str  # merchantOrderId (v2) / merchantTransactionId (v1)
    provider_id: str  # v2 orderId OMO..., v1 transactionId T...
    merchant_id: str
    amount: int  # requested, paise
    instrument: str  # UPI_QR | UPI_INTENT | PAY_PAGE | PG_CHECKOUT
    intent_url: str
    created_at: float
    expire_at: float
    callback_url: str | None = None  # v1 only; v2 webhooks go to the configured URL
    redirect_url: str | None = None
    salt_index: int | None = None  # v1: the index the merchant signed with; callbacks reuse it
    merchant_user_id: str | None = None
    meta_info: dict[str, Any] | None = None
    state: str = PENDING
    code: str = "PAYMENT_PENDING"
    response_code: str | None = None
    error_code: str | None = None
    detailed_error_code: str | None = None
    paid_amount: int | None = None
    attempt_id: str | None = None
    attempt_at: float | None = None
    utr: str | None = None
    payer_vpa: str | None = None
    expired: bool = False
    late: bool = False
    callback: CallbackPlan = field(default_factory=CallbackPlan)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    last_message: Any = None  # the genuine terminal callback, kept for /resend

    @property
    def reported_amount(self) -> int:
        """Once paid, PhonePe reports what was paid: a client validating amounts must see a mismatch."""
        return self.paid_amount if self.paid_amount is not None else self.amount


@dataclass
class Refund:
    api: str
    ref: str  # merchantRefundId (v2) / the refund's merchantTransactionId (v1)
    provider_id: str  # OMR... (v2) / TR... (v1)
    merchant_id: str
    original_ref: str
    amount: int
    created_at: float
    resolve_at: float | None  # None: held until a control action resolves it
    outcome: str = "complete"  # what automatic resolution does: complete | fail
    callback_url: str | None = None
    salt_index: int | None = None
    state: str = PENDING
    code: str = "PAYMENT_PENDING"
    response_code: str | None = None
    error_code: str | None = None
    resolved_at: float | None = None
    utr: str | None = None
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    last_message: Any = None


class Ledger:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.generation = 0
        self.lock = threading.RLock()
        self.payments: dict[str, Payment] = {}
        self.refunds: dict[str, Refund] = {}
        self.default_callback = CallbackPlan()

    def reset(self) -> None:
        with self.lock:
            self.generation += 1  # callbacks scheduled before the reset are not delivered after it
            self.payments.clear()
            self.refunds.clear()
            self.default_callback = CallbackPlan()

    # -- payments -------------------------------------------------------------------------------

    def add_payment(self, payment: Payment) -> Payment:
        with self.lock:
            taken = payment.ref in self.payments or (payment.api == "v1" and payment.ref in self.refunds)
            if taken:
                raise LedgerError("duplicate", f"{payment.ref} has already been used")
            payment.callback = copy.copy(self.default_callback)
            self.payments[payment.ref] = payment
            return copy.deepcopy(payment)

    def get_payment(self, ref: str) -> Payment:
        with self.lock:
            payment = self.payments.get(ref)
            if payment is None:
                raise LedgerError("not_found", f"no payment {ref}")
            return copy.deepcopy(payment)

    def settle(
        self,
        ref: str,
        action: str,
        *,
        amount: int | None = None,
        late: bool = False,
        codes: dict[str, str] | None = None,
    ) -> Payment:
        """Move a payment to the outcome of `action` (pay | fail | decline | expire)."""
        now = self.clock()
        with self.lock:
            payment = self.payments.get(ref)
            if payment is None:
                raise LedgerError("not_found", f"no payment {ref}")
            # A due-but-unswept expiry is left to expire_due(), whose caller sends its callback.
            self._check_settle_allowed(payment, action, late, now)
            state, code, response_code, error_code, detailed = OUTCOMES[action]
            codes = codes or {}
            payment.state, payment.code = state, code
            payment.response_code = codes.get("responseCode", response_code)
            payment.error_code = codes.get("errorCode", error_code)
            payment.detailed_error_code = codes.get("detailedErrorCode", detailed)
            if action == "expire":
                payment.expired = True
            else:  # pay/fail/decline are a customer's attempt, which v2 lists in paymentDetails
                payment.attempt_id = new_id("OM", now)
                payment.attempt_at = now
                payment.payer_vpa = "customer@ybl"
            if action == "pay":
                payment.paid_amount = payment.amount if amount is None else amount
                payment.utr = new_utr()
                payment.late = payment.expired or now >= payment.expire_at
            return copy.deepcopy(payment)

    @staticmethod
    def _check_settle_allowed(payment: Payment, action: str, late: bool, now: float) -> None:
        if payment.state == COMPLETED:
            raise LedgerError("conflict", f"{payment.ref} is already COMPLETED")
        if action == "pay" and late:
            return  # real UPI sometimes succeeds after the QR expired, or after a failed attempt
        past_due = payment.state == PENDING and now >= payment.expire_at and action != "expire"
        if payment.state == FAILED or past_due:
            why = "expired" if payment.expired or past_due else "FAILED"
            hint = "; pay with late=true to simulate a UPI success after expiry" if action == "pay" else ""
            raise LedgerError("conflict", f"{payment.ref} is already {why}{hint}")

    def _expire_if_due(self, payment: Payment, now: float) -> bool:
        if payment.state != PENDING or now < payment.expire_at:
            return False
        state, code, response_code, error_code, detailed = OUTCOMES["expire"]
        payment.state, payment.code, payment.response_code = state, code, response_code
        payment.error_code, payment.detailed_error_code = error_code, detailed
        payment.expired = True
        return True

    def expire_due(self) -> list[Payment]:
        """Lazily time out PENDING payments whose expireAt passed; returns the ones that just did."""
        now = self.clock()
        with self.lock:
            return [copy.deepcopy(p) for p in self.payments.values() if self._expire_if_due(p, now)]

    def set_callback_plan(self, ref: str | None, plan: CallbackPlan) -> None:
        with self.lock:
            if ref is None:
                self.default_callback = plan
                return
            if ref not in self.payments:
                raise LedgerError("not_found", f"no payment {ref}")
            self.payments[ref].callback = plan

    # -- refunds --------------------------------------------------------------------------------

    def add_refund(self, refund: Refund, *, one_pending_only: bool) -> Refund:
        """Book a refund against a COMPLETED payment.

        Pending and completed refunds both count against the paid amount. v1 also refuses
        any refund while another of the same payment is pending (PhonePe answers
        EXCESS_REFUND_AMOUNT then).
        """
        with self.lock:
            taken = refund.ref in self.refunds or (refund.api == "v1" and refund.ref in self.payments)
            if taken:
                raise LedgerError("duplicate", f"{refund.ref} has already been used")
            original = self.payments.get(refund.original_ref)
            if original is None or original.api != refund.api:
                raise LedgerError("not_found", f"no payment {refund.original_ref}")
            if original.state != COMPLETED or original.paid_amount is None:
                raise LedgerError("invalid", f"{refund.original_ref} is {original.state}, not COMPLETED")
            siblings = [r for r in self.refunds.values() if r.original_ref == refund.original_ref]
            if one_pending_only and any(r.state == PENDING for r in siblings):
                raise LedgerError("excess", "a refund of this payment is still pending")
            committed = sum(r.amount for r in siblings if r.state != FAILED)
            if refund.amount > original.paid_amount - committed:
                raise LedgerError(
                    "excess", f"refund {refund.amount} > refundable {original.paid_amount - committed}"
                )
            self.refunds[refund.ref] = refund
            return copy.deepcopy(refund)

    def get_refund(self, ref: str) -> Refund:
        with self.lock:
            refund = self.refunds.get(ref)
            if refund is None:
                raise LedgerError("not_found", f"no refund {ref}")
            return copy.deepcopy(refund)

    def resolve_refund(self, ref: str, outcome: str) -> Refund:
        with self.lock:
            refund = self.refunds.get(ref)
            if refund is None:
                raise LedgerError("not_found", f"no refund {ref}")
            if refund.state != PENDING:
                raise LedgerError("conflict", f"refund {ref} is already {refund.state}")
            self._resolve(refund, outcome)
            return copy.deepcopy(refund)

    def _resolve(self, refund: Refund, outcome: str) -> None:
        refund.resolved_at = self.clock()
        if outcome == "complete":
            refund.state, refund.code, refund.response_code = COMPLETED, "PAYMENT_SUCCESS", "SUCCESS"
            refund.utr = new_utr()
        else:
            refund.state, refund.code, refund.response_code = FAILED, "PAYMENT_ERROR", "REFUND_FAILED"
            refund.error_code = "REFUND_FAILED"

    def resolve_due_refunds(self) -> list[Refund]:
        now = self.clock()
        with self.lock:
            due = [
                r for r in self.refunds.values()
                if r.state == PENDING and r.resolve_at is not None and now >= r.resolve_at
            ]
            for refund in due:
                self._resolve(refund, refund.outcome)
            return [copy.deepcopy(r) for r in due]

    # -- callback records -----------------------------------------------------------------------

    def _owner(self, kind: str, ref: str) -> Payment | Refund | None:
        return (self.payments if kind == "payment" else self.refunds).get(ref)

    def remember_message(self, kind: str, ref: str, message: Any) -> None:
        with self.lock:
            owner = self._owner(kind, ref)
            if owner is not None:
                owner.last_message = message

    def add_callback_record(self, kind: str, ref: str, record: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            owner = self._owner(kind, ref)
            if owner is not None:
                owner.callbacks.append(record)
            return record

    def update_callback_record(self, record: dict[str, Any], **fields: Any) -> None:
        with self.lock:
            record.update(fields)

    def last_message(self, kind: str, ref: str) -> Any:
        with self.lock:
            owner = self._owner(kind, ref)
            if owner is None:
                raise LedgerError("not_found", f"no {kind} {ref}")
            return owner.last_message

    # -- read models ----------------------------------------------------------------------------

    def all_payments(self) -> list[Payment]:
        with self.lock:
            return [copy.deepcopy(p) for p in self.payments.values()]

    def all_refunds(self) -> list[Refund]:
        with self.lock:
            return [copy.deepcopy(r) for r in self.refunds.values()]
