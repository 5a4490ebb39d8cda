"""What PhonePe does, independent of HTTP: open payments, settle them, refund them,
and notify the merchant. The API modules and the control API both call this."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.phonepe.callbacks import Notifier
from sandbox.phonepe.config import SandboxConfig
from sandbox.phonepe.qr import upi_intent_url
from sandbox.phonepe.state import PENDING, Ledger, Payment, Refund, new_id


class Gateway:
    def __init__(self, config: SandboxConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self.ledger = Ledger(clock)
        self.notifier = Notifier(config, self.ledger)

    def close(self) -> None:
        self.notifier.close()

    def tick(self) -> None:
        """Apply time: expire overdue payments, resolve due refunds, and notify in the background.

        Runs on every read and from the sweeper thread, so a timeout is observed
        lazily by a status read and still produces its callback when nobody reads.
        """
        for payment in self.ledger.expire_due():
            self.notifier.payment_terminal(payment, sync=False)
        for refund in self.ledger.resolve_due_refunds():
            self.notifier.refund_update(refund, sync=False)

    # -- payments ---------------------------------------------------------------------------------

    def open_payment(
        self,
        *,
        api: str,
        product: str,
        ref: str,
        amount: int,
        instrument: str,
        expire_after: int,
        callback_url: str | None = None,
        redirect_url: str | None = None,
        salt_index: int | None = None,
        merchant_user_id: str | None = None,
        meta_info: dict[str, object] | None = None,
    ) -> Payment:
        """Book a PENDING payment; raises LedgerError('duplicate') for a reused reference."""
        now = self.clock()
        provider_id = new_id("OMO" if api == "v2" else "T", now)
        payment = Payment(
            api=api,
            product=product,
            ref=ref,
            provider_id=provider_id,
            merchant_id=self.config.merchant_id,
            amount=amount,
            instrument=instrument,
            intent_url=upi_intent_url(
                vpa=self.config.payee_vpa,
                payee_name=self.config.payee_name,
                amount=amount,
                reference=provider_id,
                note=f"Payment for {ref}",
            ),
            created_at=now,
            expire_at=now + expire_after,
            callback_url=callback_url,
            redirect_url=redirect_url,
            salt_index=salt_index,
            merchant_user_id=merchant_user_id,
            meta_info=meta_info,
        )
        return self.ledger.add_payment(payment)

    def payment(self, ref: str) -> Payment:
        self.tick()
        return self.ledger.get_payment(ref)

    def settle(
        self,
        ref: str,
        action: str,
        *,
        amount: int | None = None,
        late: bool = False,
        codes: dict[str, str] | None = None,
        sync: bool = True,
    ) -> Payment:
        """Play the customer (pay | fail | decline | expire) and deliver the terminal callback.

        With sync=True the callback has been delivered (or scheduled, for the delay
        behaviour) when this returns, which keeps tests free of sleeps.
        """
        self.tick()
        snapshot = self.ledger.settle(ref, action, amount=amount, late=late, codes=codes)
        self.notifier.payment_terminal(snapshot, sync=sync)
        return self.ledger.get_payment(ref)

    # -- refunds ----------------------------------------------------------------------------------

    def open_refund(
        self,
        *,
        api: str,
        ref: str,
        original_ref: str,
        amount: int,
        callback_url: str | None = None,
        salt_index: int | None = None,
    ) -> Refund:
        now = self.clock()
        delay = self.config.refund_delay
        refund = Refund(
            api=api,
            ref=ref,
            provider_id=new_id("OMR" if api == "v2" else "TR", now),
            merchant_id=self.config.merchant_id,
            original_ref=original_ref,
            amount=amount,
            created_at=now,
            resolve_at=None if delay is None else now + delay,
            outcome=self.config.refund_outcome,
            callback_url=callback_url,
            salt_index=salt_index,
        )
        # v1 refuses a second refund while one is pending (EXCESS_REFUND_AMOUNT); v2 only checks amounts.
        snapshot = self.ledger.add_refund(refund, one_pending_only=api == "v1")
        if api == "v2":  # v1 calls back only on a terminal state; v2 announces pg.refund.accepted
            self.notifier.refund_update(snapshot, sync=False)
        return snapshot

    def refund(self, ref: str) -> Refund:
        self.tick()
        return self.ledger.get_refund(ref)

    def resolve_refund(self, ref: str, outcome: str, *, sync: bool = True) -> Refund:
        self.tick()
        snapshot = self.ledger.resolve_refund(ref, outcome)
        self.notifier.refund_update(snapshot, sync=sync)
        return snapshot

    def pending_payments(self) -> list[Payment]:
        self.tick()
        return [p for p in self.ledger.all_payments() if p.state == PENDING]
