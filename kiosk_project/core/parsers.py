"""The one JSON parser for everything a client or a provider sends us.

`loads` is used by the API's DRF parser (every endpoint that reads
`request.data`) and by the PhonePe callback path (the v1 envelope and the
base64 JSON inside it, the v2 body), so every request body meets the same rules:

* UTF-8 only; numbers with a fraction become Decimal, never float; NaN and
  Infinity are refused;
* nesting deeper than API_MAX_JSON_DEPTH is refused *before* decoding, by a
  scan that skips string contents (Python's decoder recurses once per level and
  dies on `'[' * 60000`);
* strings and object keys holding a lone UTF-16 surrogate (`"\\ud800"`) are
  refused: they decode in Python but cannot be encoded back to UTF-8, so they
  would crash the renderer, the logs or the database later.

A refusal is `MalformedJSON`: 400 MALFORMED_REQUEST in the error envelope.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.parsers import JSONParser

from kiosk_project.core.errors import ApplicationError


class PayloadTooLarge(ApplicationError):
    code = "PAYLOAD_TOO_LARGE"


class MalformedJSON(ApplicationError):
    code = "MALFORMED_REQUEST"


# A JSON string (quotes, escapes and all) or one bracket. Strings are matched whole, so brackets
# inside them are never counted; the decoder delimits strings by the same rule.
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _check_depth(text: str, limit: int) -> None:
    if "[" not in text and "{" not in text:
        return
    depth = 0
    for match in _STRUCTURE.finditer(text):
        first = text[match.start()]  # '"' for a whole string, else the bracket itself
        if first in "[{":
            depth += 1
            if depth > limit:
                raise MalformedJSON(f"JSON nested deeper than {limit} levels.", details={"max_depth": limit})
        elif first in "]}":
            depth -= 1


def _check_strings(value: Any) -> None:
    """Iteratively (no recursion) look at every key and string for a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise MalformedJSON("The body contains invalid Unicode (a lone surrogate).")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads(raw: bytes | str, *, max_depth: int | None = None) -> Any:
    """Decode one JSON document under the rules above; raises MalformedJSON."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJSON("The body is not UTF-8.") from exc
    else:
        text = raw
    _check_depth(text, max_depth or settings.API_MAX_JSON_DEPTH)
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError as exc:  # belt and braces: the depth scan should have stopped it
        raise MalformedJSON("JSON nested too deeply.") from exc
    except ValueError as exc:
        raise MalformedJSON(f"Malformed JSON: {str(exc)[:120]}") from exc
    if _ESCAPED_SURROGATE.search(text):  # only \uD8xx-\uDFxx escapes can produce one
        _check_strings(value)
    return value


class DecimalJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            raw = stream.read() if stream is not None else b""
        except RequestDataTooBig as exc:
            raise PayloadTooLarge() from exc
        return loads(raw)
