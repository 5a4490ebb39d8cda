"""OpenAPI pieces every app's endpoints share: the `Kiosk` security scheme and the error envelope.

`error_responses()` declares, per HTTP status, the envelope and the machine codes an
endpoint can answer with, so a client generator gets a typed error and a person
reading the docs sees every code (docs/kiosk-api.md is the prose version).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class KioskKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "kiosk_project.core.kiosk_auth.KioskKeyAuthentication"
    name = "Kiosk"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Kiosk <key>`: the key `manage.py create_kiosk` printed (kk_<prefix>_<secret>)."}


class ErrorBody(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code, e.g. PRICE_CHANGED")
    message = serializers.CharField(help_text="For logs and staff; kiosks show their own words")
    details = serializers.JSONField(help_text="Code-specific facts (field errors, the real price, ...)")


class ErrorEnvelope(serializers.Serializer):
    error = ErrorBody()


# What any kiosk-key endpoint can answer besides its own codes.
KIOSK_COMMON: dict[int, tuple[str, ...]] = {
    401: ("NOT_AUTHENTICATED",),
    429: ("RATE_LIMITED",),
    503: ("SERVICE_UNAVAILABLE",),
}


def error_responses(codes: dict[int, tuple[str, ...]], *, kiosk: bool = True) -> dict[int, OpenApiResponse]:
    """{status: OpenApiResponse(ErrorEnvelope, "CODE_A, CODE_B")} for an endpoint's error answers."""
    merged: dict[int, list[str]] = {}
    for table in ((KIOSK_COMMON, codes) if kiosk else (codes,)):
        for status, names in table.items():
            merged.setdefault(status, []).extend(n for n in names if n not in merged.get(status, []))
    return {status: OpenApiResponse(ErrorEnvelope, description="error.code: " + ", ".join(names))
            for status, names in sorted(merged.items())}


