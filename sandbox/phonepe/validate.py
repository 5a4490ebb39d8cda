"""Request-field checks shared by the v1 and v2 APIs. Unknown fields are always ignored."""

from __future__ import annotations

import re
from typing import Any

from sandbox.httpkit import HttpError, Request

REFERENCE = re.compile(r"^[A-Za-z0-9_-]+$")


def bad_request(message: str) -> HttpError:
    return HttpError(400, {"success": False, "code": "BAD_REQUEST", "message": message, "data": {}})


def json_object(req: Request) -> dict[str, Any]:
    try:
        body = req.json()
    except HttpError as exc:
        raise bad_request(exc.body.get("message", "invalid JSON")) from exc
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return body


def reference(body: dict[str, Any], key: str, *, max_len: int) -> str:
    """A merchant id field: required, alphanumeric plus `_`/`-`, at most `max_len` characters."""
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise bad_request(f"{key} is required")
    if len(value) > max_len:
        raise bad_request(f"{key} must be at most {max_len} characters")
    if not REFERENCE.match(value):
        raise bad_request(f"{key} may contain only letters, digits, '_' and '-'")
    return value


def amount(body: dict[str, Any], key: str = "amount", minimum: int = 100) -> int:
    """Paise as an integer; PhonePe rejects anything under 100 paise (Rs 1)."""
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{key} must be an integer number of paise")
    if value < minimum:
        raise bad_request(f"{key} must be at least {minimum} paise")
    return value


def optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{key} must be a string")
    return value
