"""PhonePe's three authentication schemes, as the sandbox checks and produces them.

* v1 X-VERIFY: ``sha256_hex(<signed text> + saltKey) + "###" + saltIndex``;
  the receiver picks the salt by the index after ``###``.
* v2 OAuth: ``POST /v1/oauth/token`` issues an ``O-Bearer`` token.
* v2 webhooks: ``Authorization: sha256_hex(username + ":" + password)``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from sandbox.httpkit import HttpError, Request


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def x_verify(signed_text: str, salt_key: str, salt_index: int | str) -> str:
    """The v1 checksum header value for `signed_text` (base64 + API path, a path, or a response)."""
    return f"{sha256_hex(signed_text + salt_key)}###{salt_index}"


class XVerifyError(Exception):
    """The X-VERIFY header is missing, malformed, names an unknown salt index, or does not match."""


def check_x_verify(header: str | None, signed_text: str, salt_keys: dict[int, str]) -> int:
    """Verify a v1 X-VERIFY header; returns the salt index it used.

    PhonePe's docs show both lower- and upper-case hex, so the digest is compared
    case-insensitively, and in constant time so the sandbox does not teach clients
    a timing-leaky habit.
    """
    if not header or "###" not in header:
        raise XVerifyError("X-VERIFY header missing or not in '<sha256>###<saltIndex>' form")
    digest, _, index_text = header.strip().rpartition("###")
    try:
        index = int(index_text)
    except ValueError as exc:
        raise XVerifyError(f"salt index {index_text!r} is not a number") from exc
    salt = salt_keys.get(index)
    if salt is None:
        raise XVerifyError(f"unknown salt index {index}")
    expected = sha256_hex(signed_text + salt)
    if not hmac.compare_digest(digest.lower().encode(), expected.encode()):
        raise XVerifyError("X-VERIFY checksum does not match")
    return index


def webhook_authorization(username: str, password: str) -> str:
    """The bare-hex Authorization header PhonePe v2 puts on every webhook (no scheme prefix)."""
    return sha256_hex(f"{username}:{password}")


def auth_error(status: int, error_code: str, message: str) -> HttpError:
    """v2 identity errors use `errorCode` (SDK PhonePeResponse); `code`/`success` are added for
    clients that read the business-error shape. Clients must tolerate extra fields either way."""
    return HttpError(
        status,
        {"success": False, "code": error_code, "errorCode": error_code, "message": message, "context": {}},
    )


@dataclass
class Token:
    value: str
    client_id: str
    issued_at: int
    expires_at: int


class TokenStore:
    """Issues and checks v2 O-Bearer tokens. Thread-safe; never does I/O."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        client_version: str,
        ttl: int,
        clock: Callable[[], float],
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.client_version = str(client_version)
        self.ttl = ttl
        self._clock = clock
        self._signing_key = secrets.token_hex(16)  # tokens only need to look like PhonePe's JWTs
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def issue(self, form: dict[str, str]) -> dict[str, object]:
        """Validate the client-credentials form and answer PhonePe's token response."""
        fields = ("client_id", "client_secret", "client_version", "grant_type")
        missing = [f for f in fields if not form.get(f)]
        if missing:
            raise auth_error(400, "BAD_REQUEST", f"missing form fields: {', '.join(missing)}")
        if form["grant_type"] != "client_credentials":
            raise auth_error(400, "INVALID_GRANT_TYPE", "grant_type must be client_credentials")
        ok = (
            hmac.compare_digest(form["client_id"].encode(), self.client_id.encode())
            & hmac.compare_digest(form["client_secret"].encode(), self.client_secret.encode())
            & hmac.compare_digest(form["client_version"].encode(), self.client_version.encode())
        )
        if not ok:
            raise auth_error(401, "INVALID_CLIENT", "Client authentication failed")
        now = int(self._clock())
        claims = {"iss": "phonepe-sandbox", "sub": self.client_id, "iat": now, "exp": now + self.ttl}
        value = jwt.encode({**claims, "jti": secrets.token_hex(8)}, self._signing_key, algorithm="HS256")
        token = Token(value, self.client_id, now, now + self.ttl)
        with self._lock:
            self._tokens[value] = token
        return {
            "access_token": value,
            "encrypted_access_token": jwt.encode(
                {**claims, "enc": True, "jti": secrets.token_hex(8)}, self._signing_key, algorithm="HS256"
            ),
            "expires_in": None,
            "issued_at": token.issued_at,
            "expires_at": token.expires_at,
            "session_expires_at": token.expires_at,
            "token_type": "O-Bearer",
            "refresh_token": None,
        }

    def check(self, req: Request) -> str:
        """Return the token's client id, or raise a 401 HttpError whose `errorCode` says why
        (UNAUTHORIZED: no/odd header, INVALID_TOKEN: never issued, TOKEN_EXPIRED)."""
        header = req.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if not header:
            raise auth_error(401, "UNAUTHORIZED", "Authorization header missing")
        if scheme != "O-Bearer" or not value:
            raise auth_error(401, "UNAUTHORIZED", "Authorization must be 'O-Bearer <access_token>'")
        with self._lock:
            token = self._tokens.get(value.strip())
        if token is None:
            raise auth_error(401, "INVALID_TOKEN", "Unknown access token")
        if token.expires_at <= self._clock():
            raise auth_error(401, "TOKEN_EXPIRED", "Access token expired")
        return token.client_id

    def expire_all(self) -> int:
        """Force every issued token to be expired (tests a client's refresh-on-401 path)."""
        past = int(self._clock()) - 1
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = min(token.expires_at, past)
            return len(self._tokens)

    def reset(self) -> None:
        with self._lock:
            self._tokens.clear()
