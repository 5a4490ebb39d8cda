"""Pick the PhonePe API family: `get_gateway()` for new attempts (PHONEPE_API), `get_gateway("v1")`
for an existing attempt or a callback of a given family.

Instances are cached per settings tuple and shared by threads, so the v2 OAuth
token and the HTTP connection pool are reused; when a setting changes (tests,
a reload) the next call builds a fresh instance.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from payments.gateway.base import (
    Gateway,
    GatewayDuplicate,
    GatewayError,
    GatewayNotFound,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnavailable,
    InitiateResult,
    RefundResult,
    StatusResult,
    WebhookEvent,
    WebhookMalformed,
    WebhookUnauthorized,
)
from payments.gateway.phonepe_v1 import PhonePeV1
from payments.gateway.phonepe_v2 import PhonePeV2

__all__ = [
    "Gateway", "GatewayDuplicate", "GatewayError", "GatewayNotFound", "GatewayRejected", "GatewayTimeout",
    "GatewayUnavailable", "InitiateResult", "RefundResult", "StatusResult", "WebhookEvent", "WebhookMalformed",
    "WebhookUnauthorized", "callback_url", "get_gateway", "reset_gateway",
]

FAMILIES = ("v2", "v1")

_lock = threading.Lock()
_cache: dict[tuple, Gateway] = {}


def callback_url() -> str:
    """Where PhonePe v1 sends S2S callbacks (v2 webhooks are configured in PhonePe's dashboard)."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("payment-webhook")


def _timeout() -> tuple[float, float]:
    return (float(settings.PHONEPE_CONNECT_TIMEOUT), float(settings.PHONEPE_READ_TIMEOUT))


def _key(family: str) -> tuple:
    if family == "v2":
        return ("v2", settings.PHONEPE_BASE_URL, settings.PHONEPE_OAUTH_URL, settings.PHONEPE_CLIENT_ID,
                settings.PHONEPE_CLIENT_SECRET, str(settings.PHONEPE_CLIENT_VERSION),
                settings.PHONEPE_WEBHOOK_USERNAME, settings.PHONEPE_WEBHOOK_PASSWORD, _timeout())
    return ("v1", settings.PHONEPE_BASE_URL, settings.PHONEPE_V1_PATH_PREFIX, settings.PHONEPE_MERCHANT_ID,
            settings.PHONEPE_SALT_KEY, int(settings.PHONEPE_SALT_INDEX), callback_url(), _timeout())


def _build(family: str) -> Gateway:
    if family == "v2":
        return PhonePeV2(base_url=settings.PHONEPE_BASE_URL, oauth_url=settings.PHONEPE_OAUTH_URL,
                         client_id=settings.PHONEPE_CLIENT_ID, client_secret=settings.PHONEPE_CLIENT_SECRET,
                         client_version=str(settings.PHONEPE_CLIENT_VERSION),
                         webhook_username=settings.PHONEPE_WEBHOOK_USERNAME,
                         webhook_password=settings.PHONEPE_WEBHOOK_PASSWORD, timeout=_timeout())
    return PhonePeV1(base_url=settings.PHONEPE_BASE_URL, path_prefix=settings.PHONEPE_V1_PATH_PREFIX,
                     merchant_id=settings.PHONEPE_MERCHANT_ID, salt_key=settings.PHONEPE_SALT_KEY,
                     salt_index=int(settings.PHONEPE_SALT_INDEX), callback_url=callback_url(), timeout=_timeout())


def family_of(value: str | None) -> str:
    """"v2"/"v1" from a family, a provider name ("phonepe_v1") or None (the configured PHONEPE_API)."""
    family = (value or settings.PHONEPE_API).removeprefix("phonepe_").lower()
    if family not in FAMILIES:
        raise ImproperlyConfigured(f"PHONEPE_API must be one of {FAMILIES}, not {value!r}")
    return family


def get_gateway(family: str | None = None) -> Gateway:
    family = family_of(family)
    key = _key(family)
    gateway = _cache.get(key)
    if gateway is None:
        with _lock:
            gateway = _cache.get(key)
            if gateway is None:
                gateway = _build(family)
                _cache[key] = gateway
    return gateway


def reset_gateway() -> None:
    """Forget cached instances (and their tokens); tests call this between cases."""
    with _lock:
        _cache.clear()
