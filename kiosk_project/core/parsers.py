"""JSON parsing for the API: numbers with a fraction become Decimal, never float."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from kiosk_project.core.errors import ApplicationError


class PayloadTooLarge(ApplicationError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    message = "The request body is too large."


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class DecimalJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            raw = stream.read() if stream is not None else b""
        except RequestDataTooBig as exc:  # chunked bodies with no Content-Length
            raise PayloadTooLarge() from exc
        try:
            return json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"Malformed JSON: {exc}") from exc
