"""HTTP plumbing for `bench.payments_kitchen`: keep-alive clients, the kiosk's flow, both sandboxes.

Only 127.0.0.1 is ever contacted. Every call has a timeout; every loop here is
bounded by a count and a deadline.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from bench.common import say
from bench.orders import CARTS

# The same four carts as the checkout benchmark (SKUs of the sandbox's sample menu), cycled through.


class BenchError(RuntimeError):
    """Something in the flow answered what it never should; the message has the evidence."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float  # client-observed, request written -> body read

    def json(self) -> Any:
        return json.loads(self.body)

    def brief(self) -> str:
        return f"{self.status} {self.body[:300]!r}"


class Http:
    """One keep-alive connection per (thread, host:port); reconnects when idle or broken."""

    IDLE_REUSE = 1.5  # gunicorn closes idle keep-alive connections after --keep-alive (5 s here)

    def __init__(self, timeout: float = 20.0) -> None:
        self.timeout = timeout
        self._local = threading.local()
        self.get_retries = 0

    def _conns(self) -> dict[tuple[str, int], tuple[http.client.HTTPConnection, float]]:
        conns = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        return conns

    def close_thread(self) -> None:
        for conn, _ in self._conns().values():
            conn.close()
        self._conns().clear()

    def call(self, method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None,
             raw: bytes | None = None, timeout: float | None = None) -> Reply:
        """One request. A GET whose connection is refused or reset before any answer is retried (3 times):
        the sandboxes' ThreadingHTTPServer listens with a backlog of 5, so a burst of new connections
        can be reset. Anything else is the caller's to retry (a POST may have taken effect)."""
        for attempt in range(4):
            try:
                return self._call(method, url, body=body, headers=headers, raw=raw, timeout=timeout)
            except (ConnectionResetError, ConnectionRefusedError, http.client.RemoteDisconnected):
                if method != "GET" or attempt == 3:
                    raise
                self.get_retries += 1
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _call(self, method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None,
              raw: bytes | None = None, timeout: float | None = None) -> Reply:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1", "the benchmark only talks to 127.0.0.1"
        key = (parts.hostname, parts.port or 80)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            hdrs.setdefault("Content-Type", "application/json")
        for attempt in (1, 2):
            conns = self._conns()
            conn, last = conns.get(key, (None, 0.0))
            reused = conn is not None
            if conn is not None and time.monotonic() - last > self.IDLE_REUSE:
                conn.close()
                conn, reused = None, False
            if conn is None:
                conn = http.client.HTTPConnection(key[0], key[1], timeout=timeout or self.timeout)
            elif timeout is not None:
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=data, headers=hdrs)
                resp = conn.getresponse()
                payload = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                conns.pop(key, None)
                if reused and attempt == 1:  # a keep-alive connection the server had just closed
                    continue
                raise
            except Exception:
                conn.close()
                conns.pop(key, None)
                raise
            elapsed = time.perf_counter() - t0
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conns.pop(key, None)
            else:
                conns[key] = (conn, time.monotonic())
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload, elapsed)
        raise AssertionError("unreachable")


# --- the kiosk API ------------------------------------------------------------------------------------------
@dataclass
class Placed:
    """One order placed and its QR issued."""

    order_id: str
    payment_id: str
    ref: str  # PhonePe merchantOrderId (the sandbox keys payments by it)
    amount: float
    auth: str
    t_initiated: float  # epoch seconds, when the initiate answer arrived
    extra: dict[str, Any] = field(default_factory=dict)


def ref_from_qr(qr_string: str) -> str:
    """The sandbox writes `tn=Payment for <merchantOrderId>` into the UPI intent it returns."""
    note = parse_qs(urlsplit(qr_string).query).get("tn", [""])[0]
    if not note.startswith("Payment for "):
        raise BenchError(f"cannot find the merchant reference in the QR string {qr_string!r}")
    return note.removeprefix("Payment for ")


class KioskApi:
    def __init__(self, http: Http, base: str, kiosk_keys: list[str]) -> None:
        self.http = http
        self.base = base
        self.auths = [f"Kiosk {k}" for k in kiosk_keys]
        self._next = 0
        self._lock = threading.Lock()
        self.bodies: list[dict[str, Any]] = []
        self.rate_limited = 0

    def next_auth(self) -> str:
        """Round-robin over the kiosk pool (payment initiation is limited to 30/min per kiosk)."""
        with self._lock:
            self._next += 1
            return self.auths[self._next % len(self.auths)]

    def prepare_carts(self) -> None:
        """Each cart with its totals from a quote, as a kiosk sends it at checkout."""
        r = self.http.call("GET", f"{self.base}/api/v1/catalog")
        if r.status != 200:
            raise BenchError(f"menu warm-up failed: {r.brief()}")
        for cart in CARTS:
            q = self.http.call("POST", f"{self.base}/api/v1/orders/quote", body=cart,
                               headers={"Authorization": self.auths[0]})
            if q.status != 200:
                raise BenchError(f"quote failed: {q.brief()}")
            quote_ = q.json()
            self.bodies.append({**cart, "total_amount_include_tax": quote_["total_amount_include_tax"],
                                "total_amount_exclude_tax": quote_["total_amount_exclude_tax"]})

    def place_and_initiate(self, n: int, deadline: float) -> Placed:
        auth = self.next_auth()
        body = self.bodies[n % len(self.bodies)]
        r = self.http.call("POST", f"{self.base}/api/v1/orders", body=body,
                           headers={"Authorization": auth, "Idempotency-Key": f"pk-{uuid.uuid4().hex}"})
        if r.status != 201:
            raise BenchError(f"placing an order failed: {r.brief()}")
        order = r.json()
        t_place = r.seconds
        init_body = {"order_id": order["order_id"], "amount": order["total_amount_include_tax"]}
        while True:
            i = self.http.call("POST", f"{self.base}/api/v1/payment/initiate", body=init_body,
                               headers={"Authorization": auth})
            if i.status == 201:
                break
            if i.status == 429 and time.time() < deadline:  # never expected with the kiosk pool; counted
                with self._lock:
                    self.rate_limited += 1
                time.sleep(1.0)
                continue
            raise BenchError(f"initiating the payment of {order['order_id']} failed: {i.brief()}")
        pay = i.json()
        return Placed(order_id=order["order_id"], payment_id=pay["payment_id"], ref=ref_from_qr(pay["qr_string"]),
                      amount=float(order["total_amount_include_tax"]), auth=auth, t_initiated=time.time(),
                      extra={"place_s": t_place, "initiate_s": i.seconds})

    def status(self, placed: Placed, etag: str | None = None) -> tuple[str | None, str | None]:
        """(order status or None when 304, ETag)."""
        headers = {"Authorization": placed.auth}
        if etag:
            headers["If-None-Match"] = etag
        r = self.http.call("GET", f"{self.base}/api/v1/orders/{placed.order_id}/status", headers=headers)
        if r.status == 304:
            return None, etag
        if r.status != 200:
            raise BenchError(f"status of {placed.order_id} failed: {r.brief()}")
        return r.json()["status"], r.headers.get("etag")

    def wait_status(self, placed: Placed, want: str, *, interval: float, timeout: float) -> float | None:
        """Poll every `interval` s until the order shows `want`; the epoch time it was first seen, or None."""
        deadline = time.time() + timeout
        etag = None
        while time.time() < deadline:
            status, etag = self.status(placed, etag)
            if status == want:
                return time.time()
            time.sleep(interval)
        return None


# --- the PhonePe sandbox ------------------------------------------------------------------------------------
class PhonePe:
    def __init__(self, http: Http, base: str, *, client_id: str, client_secret: str, client_version: str,
                 webhook_user: str, webhook_password: str) -> None:
        self.http = http
        self.base = base
        self.client = (client_id, client_secret, client_version)
        self.webhook_auth = hashlib.sha256(f"{webhook_user}:{webhook_password}".encode()).hexdigest()
        self._token: str | None = None
        self.connection_retries = 0

    def _control(self, method: str, path: str, body: Any = None, timeout: float | None = None,
                 ok: tuple[int, ...] = (200,)) -> Any:
        """A control call; a connection refused or reset before any answer is retried (up to 3 times).

        The sandbox's ThreadingHTTPServer listens with a backlog of 5, so a burst of new connections
        can be reset before the request is read. Callers make retried POSTs safe (see `pay`).
        """
        url = f"{self.base}/_control{path}"
        for attempt in range(4):
            try:
                if method == "POST":
                    r = self.http.call(method, url, body=body if body is not None else {}, timeout=timeout)
                else:
                    r = self.http.call(method, url, timeout=timeout)
                break
            except (ConnectionResetError, ConnectionRefusedError, http.client.RemoteDisconnected):
                if attempt == 3:
                    raise
                self.connection_retries += 1
                time.sleep(0.05 * (attempt + 1))
        if r.status not in ok:
            raise BenchError(f"PhonePe sandbox {method} /_control{path}: {r.brief()}")
        return r.json() if r.status == 200 else None

    def pay(self, ref: str, *, sync: bool = True) -> dict[str, Any]:
        """The customer pays; with sync the callback has been delivered (and answered) on return.

        A retried pay that the sandbox had already carried out answers 409 (already paid): the
        payment's view, with its callback records, is then read instead.
        """
        view = self._control("POST", f"/payments/{quote(ref)}/pay", {} if sync else {"async": True}, ok=(200, 409))
        if view is None:
            view = self._control("GET", f"/payments/{quote(ref)}")
            if view.get("state") != "COMPLETED":
                raise BenchError(f"pay {ref}: 409 but the payment is {view.get('state')}")
        return view

    def set_callback(self, ref: str, behaviour: str) -> None:
        self._control("POST", f"/payments/{quote(ref)}/callback", {"behaviour": behaviour})

    def set_default_callback(self, behaviour: str) -> None:
        self._control("POST", "/callbacks/default", {"behaviour": behaviour})

    def token(self) -> str:
        if self._token is None:
            cid, secret, version = self.client
            form = urlencode({"client_id": cid, "client_secret": secret, "client_version": version,
                              "grant_type": "client_credentials"}).encode()
            r = self.http.call("POST", f"{self.base}/v1/oauth/token", raw=form,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
            if r.status != 200:
                raise BenchError(f"PhonePe sandbox token: {r.brief()}")
            self._token = r.json()["access_token"]
        return self._token

    def order_status(self, ref: str) -> dict[str, Any]:
        r = self.http.call("GET", f"{self.base}/payments/v2/order/{quote(ref)}/status",
                           headers={"Authorization": f"O-Bearer {self.token()}"})
        if r.status != 200:
            raise BenchError(f"PhonePe sandbox status of {ref}: {r.brief()}")
        return r.json()

    def signed_webhook(self, status_body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The v2 webhook PhonePe sends for this status: {event, type, payload} + Authorization sha256(user:pass)."""
        event = "pg.order.completed" if status_body["state"] == "COMPLETED" else "pg.order.failed"
        body = json.dumps({"event": event, "type": event.replace(".", "_").upper(), "payload": status_body})
        return body.encode(), {"Authorization": self.webhook_auth, "Content-Type": "application/json"}


# --- the Rista sandbox --------------------------------------------------------------------------------------
class Rista:
    def __init__(self, http: Http, base: str) -> None:
        self.http = http
        self.base = base

    def stats(self) -> dict[str, Any]:
        r = self.http.call("GET", f"{self.base}/_control/stats", timeout=60)
        if r.status != 200:
            raise BenchError(f"Rista sandbox stats: {r.brief()}")
        return r.json()

    def sales(self) -> list[dict[str, Any]]:
        r = self.http.call("GET", f"{self.base}/_control/sales", timeout=120)
        if r.status != 200:
            raise BenchError(f"Rista sandbox sales: {r.brief()}")
        data = r.json()
        return data["sales"] if isinstance(data, dict) else data

    def add_fault(self, rule: dict[str, Any]) -> None:
        r = self.http.call("POST", f"{self.base}/_control/faults", body=rule)
        if r.status != 200:
            raise BenchError(f"Rista sandbox fault {rule}: {r.brief()}")

    def pending_faults(self) -> list[dict[str, Any]]:
        r = self.http.call("GET", f"{self.base}/_control/faults")
        if r.status != 200:
            raise BenchError(f"Rista sandbox faults: {r.brief()}")
        return r.json()["pending"]

    def clear_faults(self) -> int:
        r = self.http.call("DELETE", f"{self.base}/_control/faults")
        if r.status != 200:
            raise BenchError(f"Rista sandbox clear faults: {r.brief()}")
        return int(r.json().get("cleared", 0))


SALE_ROUTES = ["sale_post", "sale_get"]


class RistaChaos:
    """Make ~`rate` of Rista's sale requests (POST /sale and the GET lookup) fail, at random, per request.

    The sandbox's fault queue is count-based and first-match, so a background
    thread keeps it filled a few hundred requests ahead with a random sequence:
    runs of pass-through rules (`slow` with delay 0: answered normally, the sale
    is stored) between single failures. Most failures are `error` 500 (nothing
    stored); a quarter are `store_then_error` on POST /sale (the sale IS stored
    but the client sees a 500), which is what makes a resend dangerous. An outage
    replaces the whole queue with one `error` 503 rule for every sale request,
    until `end_outage()`. Pass-through rules also count in the sandbox's
    `faults_served`; this class counts its own failures.
    """

    LOOKAHEAD = 150  # refill when fewer requests than this are covered
    BATCH = 300  # requests covered per refill

    def __init__(self, rista: Rista, rate: float, *, store_share: float = 0.25, late_share: float = 0.0,
                 late_delay: float = 7.0, seed: int = 7) -> None:
        self.rista = rista
        self.rate = rate
        self.store_share = store_share
        # Late stores: POST /sale answered only after `late_delay` s (past our read timeout), stored then.
        self.late_share = late_share
        self.late_delay = late_delay
        self.rng = random.Random(seed)
        self.outage = False
        self.armed = {"error": 0, "store_then_error": 0, "late": 0, "pass": 0}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.problems: list[str] = []

    def _rules(self, n: int) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = []
        run = 0
        for _ in range(n):
            if self.rng.random() >= self.rate:
                run += 1
                continue
            if run:
                rules.append({"mode": "slow", "delay": 0, "count": run, "routes": SALE_ROUTES})
                self.armed["pass"] += run
                run = 0
            kind = self.rng.random()
            if kind < self.store_share:
                rules.append({"mode": "store_then_error", "count": 1, "routes": ["sale_post"]})
                self.armed["store_then_error"] += 1
            elif kind < self.store_share + self.late_share:
                rules.append({"mode": "timeout", "delay": self.late_delay, "count": 1, "routes": ["sale_post"]})
                self.armed["late"] += 1
            else:
                rules.append({"mode": "error", "status": 500, "count": 1, "routes": SALE_ROUTES})
                self.armed["error"] += 1
        if run:
            rules.append({"mode": "slow", "delay": 0, "count": run, "routes": SALE_ROUTES})
            self.armed["pass"] += run
        return rules

    def _refill(self) -> None:
        with self._lock:
            if self.outage or self._stop.is_set():
                return
            covered = sum(r["remaining"] for r in self.rista.pending_faults())
            if covered >= self.LOOKAHEAD:
                return
            for rule in self._rules(self.BATCH):
                self.rista.add_fault(rule)

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            try:
                self._refill()
            except Exception as exc:  # keep injecting; report it
                self.problems.append(f"fault injector: {exc}")
                say(f"WARNING fault injector: {exc}")
                if len(self.problems) > 20:
                    return

    def start(self) -> None:
        self.rista.clear_faults()
        self._refill()
        self._thread = threading.Thread(target=self._loop, name="rista-chaos", daemon=True)
        self._thread.start()

    def _discard_pending(self) -> None:
        """Rules about to be cleared were never served: take them out of the armed counts."""
        for rule in self.rista.pending_faults():
            if rule["mode"] == "store_then_error":
                self.armed["store_then_error"] -= rule["remaining"]
            elif rule["mode"] == "timeout":
                self.armed["late"] -= rule["remaining"]
            elif rule["mode"] == "error" and rule["status"] == 500:
                self.armed["error"] -= rule["remaining"]
            elif rule["mode"] == "slow":
                self.armed["pass"] -= rule["remaining"]

    def begin_outage(self) -> float:
        """Every sale request answers 503 from now on; returns when that took effect (epoch s)."""
        with self._lock:
            self.outage = True
            self._discard_pending()
            self.rista.clear_faults()
            self.rista.add_fault({"mode": "error", "status": 503, "count": 10_000_000, "routes": SALE_ROUTES})
            return time.time()

    def end_outage(self) -> float:
        """Rista answers again (random failures resume); returns when the outage rule was removed."""
        with self._lock:
            self.outage = False
            self.rista.clear_faults()
            ended = time.time()
        self._refill()
        return ended

    def served_failures(self) -> dict[str, int]:
        """Random failures Rista actually served: armed, minus discarded, minus still pending."""
        with self._lock:
            pending = {"error": 0, "store_then_error": 0, "late": 0}
            for rule in self.rista.pending_faults():
                if rule["mode"] == "store_then_error":
                    pending["store_then_error"] += rule["remaining"]
                elif rule["mode"] == "timeout":
                    pending["late"] += rule["remaining"]
                elif rule["mode"] == "error" and rule["status"] == 500:
                    pending["error"] += rule["remaining"]
            return {k: self.armed[k] - pending[k] for k in pending}

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with contextlib.suppress(Exception), self._lock:
            self.rista.clear_faults()


# --- statistics ---------------------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": pct(values, 50), "p90": pct(values, 90), "p99": pct(values, 99),
            "max": max(values) if values else float("nan"), "mean": sum(values) / len(values) if values else
            float("nan")}
