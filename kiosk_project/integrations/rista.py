"""The one module that talks to Rista's API (protocols.md §2).

Every request carries `x-api-key` and a freshly signed HS256 JWT in
`x-api-token` (`iss` = the key, `iat` now, a unique `jti`: Rista requires a new
token per request and a `jti` on writes). Rista's failures are translated into
our errors here, so callers decide on retry policy by exception type alone.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from typing import Any

import jwt
import requests
from django.conf import settings

from kiosk_project.core.errors import UpstreamError
from kiosk_project.core.http import TimeoutSession, build_session

log = logging.getLogger(__name__)


class RistaUnavailable(UpstreamError):
    """Rista could not be reached, timed out, or failed (5xx/429): worth retrying."""

    code = "RISTA_UNAVAILABLE"


class RistaTimeout(RistaUnavailable):
    """The request may have reached Rista: a write must be looked up before it is re-sent."""

    code = "RISTA_TIMEOUT"


class RistaRejected(UpstreamError):
    """Rista answered 4xx: the request itself is wrong; retrying will not help."""

    code = "RISTA_REJECTED"

    def __init__(self, message: str | None = None, *, http_status: int = 400, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.http_status = http_status


class RistaClient:
    def __init__(self, *, base_url: str, api_key: str, secret_key: str, timeout: tuple[float, float],
                 session: TimeoutSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.secret_key = secret_key
        self.session = session or build_session(timeout=timeout)

    def _headers(self) -> dict[str, str]:
        now = int(time.time())
        claims = {"iss": self.api_key, "iat": now, "jti": f"{uuid.uuid4().hex}_{now}"}
        token = jwt.encode(claims, self.secret_key, algorithm="HS256")
        return {"x-api-key": self.api_key, "x-api-token": token, "Accept": "application/json"}

    def request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                body: dict[str, Any] | None = None, timeout: tuple[float, float] | None = None
                ) -> requests.Response:
        url = f"{self.base_url}{path}"
        kwargs: dict[str, Any] = {"params": params, "headers": self._headers()}
        if body is not None:
            kwargs["data"] = json.dumps(body, default=str)
            kwargs["headers"]["Content-Type"] = "application/json"
        if timeout:
            kwargs["timeout"] = timeout
        try:
            resp = self.session.request(method, url, **kwargs)
        except requests.Timeout as exc:
            raise RistaTimeout(f"Rista timed out on {method} {path}") from exc
        except requests.RequestException as exc:
            raise RistaUnavailable(f"Rista unreachable on {method} {path}: {type(exc).__name__}") from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise RistaUnavailable(f"Rista answered {resp.status_code} on {method} {path}",
                                   details={"http_status": resp.status_code})
        if resp.status_code >= 400 and resp.status_code != 404:
            raise RistaRejected(f"Rista answered {resp.status_code} on {method} {path}: {_message(resp)}",
                                http_status=resp.status_code, details={"http_status": resp.status_code})
        return resp

    # --- catalog ---------------------------------------------------------------------------------
    def fetch_catalog(self, *, branch: str, channel: str) -> bytes:
        """The raw catalog body (validated by the caller before anything trusts it)."""
        resp = self.request("GET", "/catalog", params={"branch": branch, "channel": channel})
        if resp.status_code == 404:
            raise RistaRejected(f"Rista has no catalog for {branch}/{channel}: {_message(resp)}", http_status=404)
        return resp.content

    def fetch_sold_out(self, *, branch: str) -> list[str]:
        resp = self.request("GET", "/items/soldout", params={"branch": branch})
        if resp.status_code == 404:
            return []
        data = _json(resp)
        rows = data.get("data", []) if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise RistaUnavailable("Rista sold-out list is malformed")
        return sorted({str(r["skuCode"]) for r in rows if isinstance(r, dict) and r.get("skuCode") is not None})

    # --- sales (kitchen) -------------------------------------------------------------------------
    def post_sale(self, payload: dict[str, Any]) -> dict[str, Any]:
        resp = self.request("POST", "/sale", body=payload)
        if resp.status_code == 404:
            raise RistaRejected(f"Rista rejected the sale: {_message(resp)}", http_status=404)
        return _json(resp)

    def get_sale(self, *, invoice: str | None = None, order_transaction_id: str | None = None
                 ) -> dict[str, Any] | None:
        """Look a sale up; None when Rista does not know it."""
        params = {"invoice": invoice} if invoice else {"orderTransactionId": order_transaction_id or ""}
        resp = self.request("GET", "/sale", params=params)
        if resp.status_code == 404:
            return None
        return _json(resp)


def _json(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError as exc:
        raise RistaUnavailable(f"Rista answered {resp.status_code} with a non-JSON body") from exc


def _message(resp: requests.Response) -> str:
    try:
        return str(resp.json().get("message", ""))[:300]
    except (ValueError, AttributeError):
        return resp.text[:300]


@functools.cache
def get_client() -> RistaClient:
    """The process-wide client (one connection pool per process)."""
    return RistaClient(
        base_url=settings.RISTA_BASE_URL,
        api_key=settings.RISTA_API_KEY,
        secret_key=settings.RISTA_SECRET_KEY,
        timeout=(settings.RISTA_CONNECT_TIMEOUT, settings.RISTA_READ_TIMEOUT),
    )
