"""Rista's request authentication: `x-api-key` plus a per-request HS256 JWT.

Rista documents (protocols.md §2.1) that every request carries the API key in
`x-api-key` and a *fresh* JWT in `x-api-token`, signed with the secret key and
holding `iss` (the API key), `iat` (seconds since epoch) and, on writes, `jti`.
The sandbox enforces the parts Rista leaves open ([?] in the protocol notes) on
the strict side, so a client that passes here will not be surprised later:

* `iat` must be within ±leeway seconds of the sandbox clock;
* `jti` is required on POST/PUT/DELETE and may never be used twice.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm
from jwt.api_jws import PyJWS

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})


class AuthError(Exception):
    """A request failed authentication; the message goes back in the 401 body."""

    @property
    def message(self) -> str:
        return str(self.args[0])


class _HS256WithoutKeyLengthWarning(HMACAlgorithm):
    """HS256 that does not warn about short secrets.

    PyJWT warns (InsecureKeyLengthWarning) when an HMAC key is shorter than 32
    bytes, and the sandbox's default secret is. The warning would fire inside
    the server's worker threads; under `-W error` (a common pytest setting) it
    would turn every request into a 500. Whether a tenant's key is long enough
    is Rista's business, not something the sandbox should judge.
    """

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)

    def check_key_length(self, key: Any) -> str | None:
        return None


def _make_jws() -> PyJWS:
    """A private PyJWS that knows HS256 only, so `none` and every other alg fail."""
    jws = PyJWS(algorithms=[])
    jws.register_algorithm("HS256", _HS256WithoutKeyLengthWarning())
    return jws


class TokenVerifier:
    """Checks the two Rista auth headers; thread-safe.

    `clock` is injectable so tests (and anyone reading this) can see that the
    `iat` window is measured against the sandbox's own clock.
    """

    def __init__(
        self,
        api_key: str,
        secret_key: str,
        leeway: float = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_key = api_key
        self.secret_key = secret_key
        self.leeway = leeway
        self._clock = clock
        self._jws = _make_jws()
        self._used_jtis: set[str] = set()
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget every used jti (part of the sandbox's reset to pristine)."""
        with self._lock:
            self._used_jtis.clear()

    def verify(self, method: str, headers: Mapping[str, str]) -> dict[str, Any]:
        """Return the token's claims, or raise AuthError saying what was wrong.

        `headers` must have lower-cased names (httpkit.Request does that).
        """
        api_key = headers.get("x-api-key")
        if not api_key:
            raise AuthError("missing x-api-key header")
        if api_key != self.api_key:
            raise AuthError("invalid x-api-key")
        token = headers.get("x-api-token")
        if not token:
            raise AuthError("missing x-api-token header (a JWT signed with your secret key)")

        claims = self._decode(token)
        if claims.get("iss") != self.api_key:
            raise AuthError("x-api-token: claim 'iss' must equal your API key")
        self._check_iat(claims)

        if method.upper() in WRITE_METHODS:
            self._consume_jti(claims, method)
        return claims

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            header = self._jws.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"x-api-token is not a valid JWT: {exc}") from exc
        alg = header.get("alg")
        if alg != "HS256":
            # Checked before the signature so `alg: none` gets a clear answer.
            raise AuthError(f"x-api-token: alg must be HS256, got {alg!r}")
        try:
            decoded = self._jws.decode_complete(token, key=self.secret_key, algorithms=["HS256"])
        except jwt.InvalidSignatureError as exc:
            raise AuthError("x-api-token: signature verification failed (wrong secret key?)") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"x-api-token is not a valid JWT: {exc}") from exc
        try:
            claims = json.loads(decoded["payload"])
        except ValueError as exc:
            raise AuthError("x-api-token: payload is not JSON") from exc
        if not isinstance(claims, dict):
            raise AuthError("x-api-token: payload must be a JSON object")
        return claims

    def _check_iat(self, claims: dict[str, Any]) -> None:
        if "iat" not in claims:
            raise AuthError("x-api-token: claim 'iat' (issue time, epoch seconds) is required")
        iat = claims["iat"]
        if isinstance(iat, bool) or not isinstance(iat, (int, float)):
            raise AuthError("x-api-token: claim 'iat' must be a number of seconds since epoch")
        skew = iat - self._clock()
        if skew > self.leeway:
            hint = " (milliseconds instead of seconds?)" if iat > 1e11 else ""
            raise AuthError(
                f"x-api-token: 'iat' is {skew:.0f} s in the future{hint}; allowed skew is ±{self.leeway:g} s"
            )
        if -skew > self.leeway:
            raise AuthError(
                f"x-api-token: 'iat' is {-skew:.0f} s old; allowed skew is ±{self.leeway:g} s "
                "(generate a new token for each request)"
            )

    def _consume_jti(self, claims: dict[str, Any], method: str) -> None:
        """Require a never-seen jti on writes.

        Rista says to generate a new token per request and makes jti mandatory
        on writes; refusing a reused jti is what makes a captured POST /sale
        impossible to replay, and it proves the client mints a fresh token on
        every retry instead of resending the old one. The jti is only burnt
        once the token is otherwise valid, so a rejected token costs nothing.
        """
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise AuthError(
                f"x-api-token: claim 'jti' (a unique request id) is required for {method.upper()}"
            )
        with self._lock:
            if jti in self._used_jtis:
                raise AuthError(f"x-api-token: jti {jti!r} was already used; every request needs a new token")
            self._used_jtis.add(jti)


def mint_token(api_key: str, secret_key: str, *, write: bool = True, now: float | None = None) -> str:
    """A token exactly as a Rista client must send it (for demos and curl; tests mint their own)."""
    claims: dict[str, Any] = {"iss": api_key, "iat": int(time.time() if now is None else now)}
    if write:
        claims["jti"] = f"{uuid.uuid4().hex}_{int(time.time() * 1000)}"
    return _make_jws().encode(json.dumps(claims).encode(), secret_key, algorithm="HS256")
