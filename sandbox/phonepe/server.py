"""PhonePeSandbox: a standalone HTTP server speaking PhonePe PG v1 (X-VERIFY) and
v2 (OAuth, Custom/Standard Checkout), plus /_control endpoints for tests and demos.

    sandbox = PhonePeSandbox(port=0, webhook_url="http://127.0.0.1:8000/api/v1/payment/webhook").start()
    ... point the client at sandbox.url ...
    sandbox.pay("ORDER-1")        # the customer scans and pays
    sandbox.stop()

API routes answer both at the root and under /apis/pg-sandbox (PhonePe's UAT
layout), so a client only swaps base URLs between sandbox and production.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sandbox.httpkit import Handler, HttpError, Request, Response, SandboxServer
from sandbox.phonepe import control, page, v1, v2
from sandbox.phonepe.auth import TokenStore
from sandbox.phonepe.config import DEFAULT_SALT_KEY, SandboxConfig, check_forms
from sandbox.phonepe.gateway import Gateway
from sandbox.phonepe.observe import Fault, FaultPlan, Stats
from sandbox.phonepe.state import CallbackPlan, LedgerError

log = logging.getLogger("sandbox.phonepe")

API_PREFIXES = ("", "/apis/pg-sandbox")
SWEEP_INTERVAL = 0.25  # seconds between expiry/refund sweeps, so timeouts call back unprompted

INTERNAL_ERROR = {
    "success": False,
    "code": "INTERNAL_SERVER_ERROR",
    "message": "There is an error trying to process your transaction at the moment. "
    "Please try again in a while.",
    "data": {},
}
RATE_LIMITED = {"success": False, "code": "API_RATE_LIMIT_REACHED", "message": "Too many requests",
                "data": {}}
_DEFAULTS = SandboxConfig()


class PhonePeSandbox(SandboxServer):
    name = "phonepe-sandbox"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        client_id: str = _DEFAULTS.client_id,
        client_secret: str = _DEFAULTS.client_secret,
        client_version: str = _DEFAULTS.client_version,
        merchant_id: str = _DEFAULTS.merchant_id,
        salt_keys: dict[int, str] | None = None,
        webhook_url: str | None = None,
        webhook_username: str = _DEFAULTS.webhook_username,
        webhook_password: str = _DEFAULTS.webhook_password,
        token_ttl: int = 3600,
        refund_delay: float | None = 2.0,
        default_expire_after: int = 480,
        min_expire_after: int = 300,
        callback_timeout: float = 5.0,
        qr_data_form: str = _DEFAULTS.qr_data_form,
        intent_url_form: str = _DEFAULTS.intent_url_form,
        callback_ids: str = _DEFAULTS.callback_ids,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(host, port)
        self.config = SandboxConfig(
            client_id=client_id,
            client_secret=client_secret,
            client_version=str(client_version),
            merchant_id=merchant_id,
            salt_keys=dict(salt_keys or {1: DEFAULT_SALT_KEY}),
            webhook_url=webhook_url,
            webhook_username=webhook_username,
            webhook_password=webhook_password,
            token_ttl=token_ttl,
            refund_delay=refund_delay,
            default_expire_after=default_expire_after,
            min_expire_after=min_expire_after,
            callback_timeout=callback_timeout,
            qr_data_form=qr_data_form,
            intent_url_form=intent_url_form,
            callback_ids=callback_ids,
        )
        check_forms(self.config)
        self._initial_config = copy.deepcopy(self.config)
        self.clock = clock
        self.tokens = TokenStore(
            client_id=client_id, client_secret=client_secret, client_version=str(client_version),
            ttl=token_ttl, clock=clock,
        )
        self.gateway = Gateway(self.config, clock)
        self.faults = FaultPlan()
        self.stats = Stats()
        self._stopping = threading.Event()
        # Each reset() starts a new epoch. A request remembers the epoch it arrived in and is
        # neither counted nor answered into a later one, and a request sleeping in a fault is
        # woken (and dropped) by the reset, so one test's in-flight request never leaks into
        # the next test's counters or ledger.
        self._epoch = 0
        self._epoch_ended = threading.Event()
        self._sweeper: threading.Thread | None = None
        v2.register(self)
        v1.register(self)
        control.register(self)
        page.register(self)

    @classmethod
    def from_config(cls, config: SandboxConfig, host: str = "127.0.0.1", port: int = 0) -> PhonePeSandbox:
        return cls(
            host, port, client_id=config.client_id, client_secret=config.client_secret,
            client_version=config.client_version, merchant_id=config.merchant_id, salt_keys=config.salt_keys,
            webhook_url=config.webhook_url, webhook_username=config.webhook_username,
            webhook_password=config.webhook_password, token_ttl=config.token_ttl,
            refund_delay=config.refund_delay, qr_data_form=config.qr_data_form,
            intent_url_form=config.intent_url_form, callback_ids=config.callback_ids,
        )

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> PhonePeSandbox:
        super().start()
        self._sweeper = threading.Thread(target=self._sweep, name="phonepe-sweeper", daemon=True)
        self._sweeper.start()
        return self

    def _sweep(self) -> None:
        while not self._stopping.wait(SWEEP_INTERVAL):
            try:
                self.gateway.tick()
            except Exception:  # the sweeper must outlive any bug in one tick
                log.exception("sweep failed")

    def stop(self) -> None:
        self._stopping.set()
        self._epoch_ended.set()  # wakes requests sleeping in a timeout/slow fault
        self.gateway.close()
        super().stop()

    def reset(self) -> None:
        """Forget payments, refunds, tokens, faults, stats, callback defaults and runtime config
        changes (/_control/config); back to how the sandbox was constructed.

        Requests still in flight from before the reset are dropped, not counted."""
        with self.lock:
            self._epoch += 1
            ended, self._epoch_ended = self._epoch_ended, threading.Event()
            self.stats.reset()
        ended.set()
        for f in dataclasses.fields(self._initial_config):
            setattr(self.config, f.name, copy.copy(getattr(self._initial_config, f.name)))
        self.gateway.ledger.reset()
        self.tokens.reset()
        self.faults.reset()

    # -- routing --------------------------------------------------------------------------------------

    def api_route(self, method: str, pattern: str, route: str, group: str | None, handler: Handler) -> None:
        """Register a PhonePe API route under every prefix, with faults and accounting."""
        wrapped = self._instrument(route, group, handler)
        for prefix in API_PREFIXES:
            self.router.add(method, prefix + pattern, wrapped)

    def _instrument(self, route: str, group: str | None, handler: Handler) -> Handler:
        def run(req: Request) -> Response:
            with self.lock:
                epoch, epoch_ended = self._epoch, self._epoch_ended
            fault = self.faults.take(group)
            try:
                resp = self._faulty(fault, req, handler, epoch_ended) if fault else handler(req)
            except HttpError as exc:
                self._record(epoch, route, req, exc.status, exc.body)
                raise
            if epoch_ended.is_set():  # reset (or stopped) while we worked: not this test's request
                return None  # type: ignore[return-value]  # httpkit closes the connection unanswered
            self._record(epoch, route, req, resp.status if resp else None, resp.body if resp else None)
            return resp

        return run

    def _record(self, epoch: int, route: str, req: Request, status: int | None, body: Any) -> None:
        with self.lock:
            if epoch == self._epoch:
                self.stats.record(route, req.method, req.path, status, body)

    def _faulty(self, fault: Fault, req: Request, handler: Handler, epoch_ended: threading.Event) -> Response:
        if fault.mode == "error":
            return Response(500, INTERNAL_ERROR)
        if fault.mode == "rate_limit":
            return Response(429, RATE_LIMITED)
        if fault.mode in ("timeout", "slow") and epoch_ended.wait(fault.delay):
            return None  # type: ignore[return-value]  # reset or stopped while sleeping: drop it
        if fault.mode == "slow":
            return handler(req)
        return None  # type: ignore[return-value]  # httpkit closes the connection unanswered

    def base_url(self, req: Request) -> str:
        """Absolute URL as the caller reached us (works behind 0.0.0.0 and docker port maps)."""
        host = req.headers.get("host")
        return f"http://{host}" if host else self.url

    # -- in-process helpers (mirror /_control) -------------------------------------------------------

    def pay(self, ref: str, amount: int | None = None, late: bool = False) -> dict[str, Any]:
        return control.payment_view(self.gateway.settle(ref, "pay", amount=amount, late=late), self.clock())

    def fail(self, ref: str, **codes: str) -> dict[str, Any]:
        return control.payment_view(self.gateway.settle(ref, "fail", codes=codes), self.clock())

    def decline(self, ref: str) -> dict[str, Any]:
        return control.payment_view(self.gateway.settle(ref, "decline"), self.clock())

    def expire(self, ref: str) -> dict[str, Any]:
        return control.payment_view(self.gateway.settle(ref, "expire"), self.clock())

    def set_callback(self, ref: str | None, behaviour: str = "normal", delay: float = 0.0,
                     amount: int | None = None) -> None:
        """Set how `ref`'s terminal callback is delivered; ref=None sets the default for new payments."""
        self.gateway.ledger.set_callback_plan(ref, control.callback_plan(
            {"behaviour": behaviour, "delay": delay, "amount": amount}))

    def resend(self, ref: str) -> list[dict[str, Any]]:
        records = self.gateway.notifier.resend("payment", ref)
        if records is None:
            raise LedgerError("conflict", f"{ref} has no callback to resend yet")
        return records

    def set_fault(self, mode: str, count: int | None = 1, delay: float | None = None,
                  routes: list[str] | None = None) -> None:
        self.faults.set(mode, count, delay, routes)

    def clear_faults(self) -> None:
        self.faults.clear()

    def expire_tokens(self) -> int:
        return self.tokens.expire_all()

    def complete_refund(self, ref: str) -> dict[str, Any]:
        return control.refund_view(self.gateway.resolve_refund(ref, "complete"))

    def fail_refund(self, ref: str) -> dict[str, Any]:
        return control.refund_view(self.gateway.resolve_refund(ref, "fail"))

    def payment(self, ref: str) -> dict[str, Any]:
        return control.payment_view(self.gateway.payment(ref), self.clock())

    @property
    def payments(self) -> list[dict[str, Any]]:
        self.gateway.tick()
        now = self.clock()
        return [control.payment_view(p, now) for p in self.gateway.ledger.all_payments()]

    @property
    def refunds(self) -> list[dict[str, Any]]:
        self.gateway.tick()
        return [control.refund_view(r) for r in self.gateway.ledger.all_refunds()]

    def report(self) -> dict[str, Any]:
        return control.build_report(self)

    def callbacks(self) -> list[dict[str, Any]]:
        """Every callback record (sent, scheduled, dropped, skipped), oldest first."""
        return control.all_callbacks(self)

    def default_callback(self) -> CallbackPlan:
        return self.gateway.ledger.default_callback
