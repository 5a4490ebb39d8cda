"""Outbound notifications: v1 S2S callbacks and v2 webhooks, with test behaviours.

Messages are built from ledger snapshots and sent with no lock held. Every send
(or deliberate non-send) leaves a record on its payment/refund, which the
control API and the report expose with the HTTP status the merchant answered.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sandbox.httpkit import later, post_json
from sandbox.phonepe import shapes
from sandbox.phonepe.auth import webhook_authorization, x_verify
from sandbox.phonepe.config import SandboxConfig
from sandbox.phonepe.state import COMPLETED, FAILED, Ledger, Payment, Refund

log = logging.getLogger("sandbox.phonepe")


@dataclass(frozen=True)
class Message:
    url: str
    body: dict[str, Any]
    label: str  # v2 event name, or v1 response code
    state: str
    amount: int
    signature: str = "valid"  # valid | bad
    headers: dict[str, str] = field(default_factory=dict)


def encode_v1_response(body: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode("ascii")


class Notifier:
    def __init__(self, config: SandboxConfig, ledger: Ledger) -> None:
        self.config = config
        self.ledger = ledger
        self._ids = itertools.count(1)
        # One worker keeps background deliveries in order (accepted before completed).
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="phonepe-callback")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- building ---------------------------------------------------------------------------------

    def _v2_message(self, payload: dict[str, Any], event: str, kind: str, bad: bool) -> Message | None:
        if not self.config.webhook_url:
            return None
        password = self.config.webhook_password + ("-wrong" if bad else "")
        return Message(
            url=self.config.webhook_url,
            body={"event": event, "type": kind, "payload": payload},
            label=event,
            state=payload["state"],
            amount=payload["amount"],
            signature="bad" if bad else "valid",
            headers={"Authorization": webhook_authorization(self.config.webhook_username, password)},
        )

    def _v1_message(
        self, url: str | None, body: dict[str, Any], salt_index: int | None, bad: bool
    ) -> Message | None:
        if not url:
            return None
        index = salt_index if salt_index in self.config.salt_keys else next(iter(self.config.salt_keys))
        salt = "not-the-salt-key" if bad else self.config.salt_keys[index]
        response = encode_v1_response(body)
        return Message(
            url=url,
            body={"response": response},
            label=body["code"],
            state=body["data"]["state"],
            amount=body["data"]["amount"],
            signature="bad" if bad else "valid",
            headers={"X-VERIFY": x_verify(response, salt, index)},
        )

    def order_message(
        self, p: Payment, *, amount: int | None = None, state: str | None = None, bad: bool = False
    ) -> Message | None:
        if p.api == "v1":
            return self._v1_message(p.callback_url, shapes.v1_status(p, amount, state), p.salt_index, bad)
        event, kind = shapes.v2_order_event(p, state or p.state)
        payload = shapes.v2_order_status(p, amount, state)
        if self.config.callback_ids == "orderId":  # identified by PhonePe's orderId alone
            del payload["merchantOrderId"]
        return self._v2_message(payload, event, kind, bad)

    def refund_message(self, r: Refund) -> Message | None:
        if r.api == "v1":
            return self._v1_message(r.callback_url, shapes.v1_refund_status(r), r.salt_index, False)
        event, kind = shapes.v2_refund_event(r.state)
        # PhonePe's accepted webhook reports the refund as CONFIRMED while the status API says PENDING.
        payload = shapes.v2_refund_status(r, "CONFIRMED" if r.state not in (COMPLETED, FAILED) else None)
        return self._v2_message(payload, event, kind, False)

    # -- delivering -------------------------------------------------------------------------------

    def payment_terminal(self, p: Payment, *, sync: bool) -> list[dict[str, Any]]:
        """Deliver the terminal callback of `p` the way its callback plan says."""
        genuine = self.order_message(p)
        plan = p.callback
        if genuine is None:
            return [self._record("payment", p.ref, None, plan.behaviour, "skipped", "no callback URL")]
        self.ledger.remember_message("payment", p.ref, genuine)
        behaviour = plan.behaviour
        if behaviour == "drop":
            return [self._record("payment", p.ref, genuine, behaviour, "dropped")]
        messages = [genuine]
        if behaviour == "twice":
            messages = [genuine, genuine]
        elif behaviour == "stale_failed_after" and p.state == COMPLETED:
            messages = [genuine, self.order_message(p, state=FAILED)]
        elif behaviour == "bad_signature":
            messages = [self.order_message(p, bad=True)]
        elif behaviour == "wrong_amount":
            messages = [self.order_message(p, amount=plan.amount or p.reported_amount + 100)]
        delay = plan.delay if behaviour == "delay" else 0.0
        return self._dispatch("payment", p.ref, [m for m in messages if m], behaviour, delay, sync)

    def refund_update(self, r: Refund, *, sync: bool) -> list[dict[str, Any]]:
        message = self.refund_message(r)
        if message is None:
            return [self._record("refund", r.ref, None, "normal", "skipped", "no callback URL")]
        self.ledger.remember_message("refund", r.ref, message)
        return self._dispatch("refund", r.ref, [message], "normal", 0.0, sync)

    def resend(self, kind: str, ref: str) -> list[dict[str, Any]] | None:
        message = self.ledger.last_message(kind, ref)
        if message is None:
            return None
        return self._dispatch(kind, ref, [message], "resend", 0.0, sync=True)

    def _dispatch(
        self, kind: str, ref: str, messages: list[Message], behaviour: str, delay: float, sync: bool
    ) -> list[dict[str, Any]]:
        records = [self._record(kind, ref, m, behaviour, "scheduled") for m in messages]
        pairs = list(zip(messages, records, strict=True))
        generation = self.ledger.generation

        def send_all() -> None:
            for message, record in pairs:
                if self.ledger.generation != generation:  # the sandbox was reset while this waited
                    log.debug("callback %s dropped: the sandbox was reset", record["ref"])
                    return
                self._send(message, record)

        if delay > 0:
            later(delay, lambda: self._submit(send_all))
            return records
        future = self._submit(send_all)
        if sync and future is not None:
            # Through the same single worker as background sends, so the merchant sees events in
            # order (refund accepted before refund completed) even when a control action is quick.
            future.result()
        return records

    def _submit(self, fn: Callable[[], None]) -> Future[None] | None:
        try:
            return self._pool.submit(fn)
        except RuntimeError:  # the sandbox stopped; late deliveries are simply lost
            log.debug("callback dropped: sandbox stopped")
            return None

    def _send(self, message: Message, record: dict[str, Any]) -> None:
        status = post_json(message.url, message.body, message.headers, timeout=self.config.callback_timeout)
        delivery = "sent" if status is not None else "unreachable"
        self.ledger.update_callback_record(record, delivery=delivery, status=status, sent_at=time.time())
        log.info("callback %s %s -> %s: %s", record["ref"], message.label, message.url, status)

    def _record(
        self, kind: str, ref: str, message: Message | None, behaviour: str, delivery: str, note: str = ""
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": next(self._ids),
            "kind": kind,
            "ref": ref,
            "behaviour": behaviour,
            "delivery": delivery,
            "event": message.label if message else None,
            "url": message.url if message else None,
            "state": message.state if message else None,
            "amount": message.amount if message else None,
            "signature": message.signature if message else None,
            "status": None,
            "created_at": time.time(),
            "sent_at": None,
        }
        if note:
            record["note"] = note
        return self.ledger.add_callback_record(kind, ref, record)
