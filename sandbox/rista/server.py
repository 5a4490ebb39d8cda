"""RistaSandbox: a stand-in for api.ristaapps.com speaking Rista's wire protocol.

Our real Rista client (catalog fetch, sale posting) talks HTTP to this server
in tests and demo runs; only the base URL and credentials differ from
production. The /v1 routes behave like Rista (protocols.md PART 2); the
/_control routes are the sandbox's own remote control (see control.py and
docs/sandbox-rista.md).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sandbox.httpkit import HttpError, Request, Response, SandboxServer
from sandbox.rista import sales as sale_rules
from sandbox.rista.auth import AuthError, TokenVerifier
from sandbox.rista.control import register_control_routes
from sandbox.rista.faults import FaultQueue, FaultRule
from sandbox.rista.page import register_page
from sandbox.rista.state import RistaState, branch_configs

log = logging.getLogger("sandbox.rista")

DEFAULT_API_KEY = "sandbox-api-key"
DEFAULT_SECRET_KEY = "sandbox-rista-secret-key-not-for-production"
DEFAULT_BRANCH = "BLR01"
DEFAULT_WEBHOOK_SECRET = "sandbox-webhook-secret"
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/api/v1/catalog/refresh"

# A /v1 handler may return None: httpkit then drops the connection unanswered.
V1Handler = Callable[[Request], "Response | None"]


class RistaSandbox(SandboxServer):
    """One Rista account with one or more branches, each with its own catalog, channels,
    sold-out marks, sales and invoice numbering; plus fault injection and callbacks.

    `branch` is one code (`"BLR01"`), several (`["BLR01", "MYS01"]` or `"BLR01,MYS01"`);
    the first is the default of every /_control route. Each branch serves `catalog_path`
    (default: the bundled sample) unless `branch_catalogs` names another file for it, on
    `branch_channels[code]` (default: Takeaway and Dine In).

    `start()` serves on a background thread (tests use port=0 and read `.url`);
    `reset()` returns to the pristine catalogs with no sales, faults or
    counts, so a module-scoped server can be shared by many tests.
    """

    name = "rista"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        secret_key: str = DEFAULT_SECRET_KEY,
        branch: str | Sequence[str] = DEFAULT_BRANCH,
        catalog_path: str | Path | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        jwt_leeway: float = 300,
        invoice_start: int = 1,
        branch_catalogs: Mapping[str, str | Path] | None = None,
        branch_channels: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        configs = branch_configs(branch, catalog_path, branch_catalogs, branch_channels)
        super().__init__(host, port)
        self.state = RistaState(configs, invoice_start)
        self.lock = self.state.lock  # one lock guards all shared state
        self.verifier = TokenVerifier(api_key, secret_key, jwt_leeway)
        self.faults = FaultQueue()
        # Set by reset() and stop(): wakes requests sleeping in a slow/timeout fault, which then
        # drop their answer instead of acting on (or being counted in) the next test's state.
        self._wake = threading.Event()
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret or DEFAULT_WEBHOOK_SECRET
        self._quiet_client_disconnects()
        self._add_v1_routes()
        register_control_routes(self)
        register_page(self)

    # -- public API for tests and the CLI -------------------------------------

    @property
    def branch(self) -> str:
        """The first (default) branch."""
        return self.state.default_branch

    @property
    def branches(self) -> list[str]:
        return self.state.branch_codes

    @property
    def api_key(self) -> str:
        return self.verifier.api_key

    @property
    def secret_key(self) -> str:
        return self.verifier.secret_key

    def start(self) -> RistaSandbox:
        super().start()
        return self

    def reset(self) -> None:
        """Pristine catalog, no sales, no faults, zero counters, no used jtis."""
        self.faults.clear()
        self.verifier.reset()
        self.state.reset()
        woken, self._wake = self._wake, threading.Event()
        woken.set()

    def stop(self) -> None:
        self._wake.set()
        super().stop()

    def stats(self) -> dict[str, Any]:
        """Same document as GET /_control/stats."""
        return self.state.stats()

    @property
    def sales(self) -> list[dict[str, Any]]:
        """Stored sales of every branch, oldest first, including sandbox keys such as `_receivedAt`."""
        return self.state.sales_list()

    def sales_of(self, branch: str) -> list[dict[str, Any]]:
        """Stored sales of one branch, oldest first."""
        return self.state.sales_list(branch=branch)

    # -- /v1: auth, counting and faults around every handler ------------------

    def _add_v1_routes(self) -> None:
        v1 = [
            ("GET", "/v1/catalog", "catalog", self._catalog),
            ("GET", "/v1/items/soldout", "soldout", self._soldout),
            ("GET", "/v1/branch/list", "branch_list", self._branch_list),
            ("POST", "/v1/sale", "sale_post", self._sale_post),
            ("GET", "/v1/sale", "sale_get", self._sale_get),
            ("POST", "/v1/sale/status", "sale_status", self._sale_status),
        ]
        for method, path, kind, handler in v1:
            self.router.add(method, path, self._guarded(kind, handler))  # type: ignore[arg-type]

    def _guarded(self, kind: str, handler: V1Handler) -> V1Handler:
        """Wrap a /v1 handler: authenticate, count, then maybe misbehave."""

        def run(req: Request) -> Response | None:
            try:
                self.verifier.verify(req.method, req.headers)
            except AuthError as exc:
                self.state.bump("auth_failed")
                return Response(401, {"message": exc.message})
            generation = self.state.bump("requests", kind)
            rule = self.faults.take(kind)
            if rule is None:
                return handler(req)
            self.state.bump("faults_served")
            log.info("rista: serving fault %s on %s", rule.mode, kind)
            return self._serve_fault(rule, req, handler, generation)

        return run

    def _serve_fault(
        self, rule: FaultRule, req: Request, handler: V1Handler, generation: int
    ) -> Response | None:
        if rule.mode == "error":
            body = rule.body if rule.body is not None else {"message": "injected failure"}
            return Response(rule.status, body)
        if rule.mode == "malformed":
            return self.faults.malformed_response(rule)
        if rule.mode == "drop":
            return None
        if rule.mode in ("timeout", "slow"):
            # The handler runs after the sleep, so a POST /sale whose client
            # gave up is still stored, late, exactly like a slow real server.
            wake = self._wake
            wake.wait(rule.delay)
            return handler(req) if self.state.generation == generation else None
        # store_then_error: the request takes effect, the client sees a failure.
        resp = handler(req)
        if rule.delay > 0:
            self._wake.wait(rule.delay)
            return resp if self.state.generation == generation else None
        return Response(rule.status, {"message": "injected failure after the request was processed"})

    # -- /v1 handlers -----------------------------------------------------------

    def _require_branch(self, req: Request) -> str:
        branch = req.query.get("branch")
        if not branch:
            raise HttpError(400, {"message": "query parameter 'branch' is required"})
        if not self.state.has_branch(branch):
            raise HttpError(404, {"message": f"unknown branch {branch!r}"})
        return branch

    def _catalog(self, req: Request) -> Response:
        if not req.query.get("branch") or not req.query.get("channel"):
            raise HttpError(400, {"message": "query parameters 'branch' and 'channel' are required"})
        branch = self._require_branch(req)
        channel = req.query["channel"]
        if channel not in self.state.channels(branch):
            raise HttpError(404, {"message": f"unknown channel {channel!r} for branch {branch}"})
        # Every channel of a branch shares the branch's catalog: enough for a sandbox.
        return Response(200, self.state.catalog_bytes(branch))

    def _soldout(self, req: Request) -> Response:
        return Response(200, {"data": self.state.sold_out_items(self._require_branch(req))})

    def _branch_list(self, req: Request) -> Response:
        return Response(200, self.state.branch_list())

    def _sale_post(self, req: Request) -> Response:
        body = req.json()
        sale_rules.validate_post_sale(body, {c: self.state.channels(c) for c in self.state.branch_codes})
        sale, created = self.state.sale_create(body)
        if created:
            log.info("rista: stored sale %s (%s)", sale["invoiceNumber"], sale_rules.transaction_id(body))
            return Response(201, sale)
        # Sandbox-only idempotency: a repeat of an orderTransactionId gets the
        # sale it already created, never a second kitchen ticket.
        log.info("rista: duplicate sale for %s -> %s", sale_rules.transaction_id(body), sale["invoiceNumber"])
        return Response(200, sale)

    def _sale_get(self, req: Request) -> Response:
        invoice = req.query.get("invoice")
        txn = req.query.get("orderTransactionId")  # sandbox extension
        if not invoice and not txn:
            raise HttpError(400, {"message": "query parameter 'invoice' is required"})
        # Rista's GET /sale takes the invoice alone; a `branch` given as well must be known
        # and must be the sale's.
        branch = self._require_branch(req) if "branch" in req.query else None
        sale = self.state.sale_public(invoice=invoice or None, txn=None if invoice else txn, branch=branch)
        if sale is None:
            wanted = f"invoice {invoice!r}" if invoice else f"orderTransactionId {txn!r}"
            where = f" in branch {branch}" if branch else ""
            raise HttpError(404, {"message": f"no sale with {wanted}{where}"})
        return Response(200, sale)

    def _sale_status(self, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("invoiceNumber"), str):
            raise HttpError(400, {"message": "'invoiceNumber' is required"})
        if body.get("status") not in sale_rules.API_STATUSES:
            raise HttpError(400, {"message": f"'status' must be one of {', '.join(sale_rules.API_STATUSES)}"})
        branch = body.get("branchCode")
        if branch is not None and not self.state.has_branch(branch):
            raise HttpError(400, {"message": f"unknown branch {branch!r}"})
        if branch is not None and self.state.sale_public(invoice=body["invoiceNumber"], branch=branch) is None:
            raise HttpError(404, {"message": f"no sale with invoiceNumber {body['invoiceNumber']!r} in {branch}"})
        # The source system changed the status itself, so no callback is sent back to it.
        self.state.sale_set_status(body["invoiceNumber"], body["status"])
        return Response(200, {})

    # -- plumbing ------------------------------------------------------------

    def _quiet_client_disconnects(self) -> None:
        """Log, don't print tracebacks, when a client hangs up on a slow answer.

        `timeout` faults exist to make clients give up; the late write then hits
        a closed socket, which is expected and not worth a stack trace.
        """
        default = self.httpd.handle_error

        def handle_error(request: Any, client_address: Any) -> None:
            if isinstance(sys.exc_info()[1], ConnectionError):
                log.debug("rista: client %s disconnected before the answer", client_address)
                return
            default(request, client_address)

        self.httpd.handle_error = handle_error  # type: ignore[method-assign]
