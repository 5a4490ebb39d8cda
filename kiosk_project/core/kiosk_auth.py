"""`Authorization: Kiosk <key>`: who is this kiosk, and may it do this?

A kiosk key reaches only the kiosk API (orders, payments, its own data); it is
not a Django user and can reach nothing of the back office. Lookups are cached
per process for a few seconds, because kiosks poll order status every 3 s.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from kiosk_project.core import metrics
from kiosk_project.core.errors import ApplicationError
from kiosk_project.core.models import KioskDevice, hash_key

_CACHE_SECONDS = 10.0
_LAST_SEEN_EVERY = 60.0


class KioskUnauthorized(ApplicationError):
    status_code = 401
    code = "NOT_AUTHENTICATED"
    message = "A valid kiosk key is required: Authorization: Kiosk <key>."


@dataclass(frozen=True)
class Kiosk:
    """What a request knows about the kiosk that sent it."""

    id: int
    name: str
    branch_code: str
    channel: str
    allowed_order_modes: tuple[str, ...]
    order_prefix: str

    # DRF treats request.user as a user; these make a Kiosk behave as an authenticated principal.
    is_authenticated = True
    is_staff = False


_cache: dict[str, tuple[float, Kiosk | None, str]] = {}
_last_seen: dict[int, float] = {}


def kiosk_for_key(raw: str) -> Kiosk | None:
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "kk" or len(raw) > 200:
        return None
    prefix, secret = parts[1], parts[2]
    now = time.monotonic()
    cached = _cache.get(prefix)
    if cached and cached[0] > now:
        kiosk, expected = cached[1], cached[2]
    else:
        device = (KioskDevice.objects.filter(key_prefix=prefix, is_active=True)
                  .only("id", "name", "branch_code", "channel", "allowed_order_modes", "order_prefix", "key_hash")
                  .first())
        if device is None:
            kiosk, expected = None, ""
        else:
            expected = device.key_hash
            kiosk = Kiosk(id=device.pk, name=device.name, branch_code=device.branch_code, channel=device.channel,
                          allowed_order_modes=tuple(device.allowed_order_modes or ()),
                          order_prefix=device.order_prefix)
        _cache[prefix] = (now + _CACHE_SECONDS, kiosk, expected)
    if kiosk is None or not hmac.compare_digest(hash_key(secret), expected):
        return None
    _touch(kiosk.id, now)
    return kiosk


def _touch(device_id: int, now: float) -> None:
    if now - _last_seen.get(device_id, 0.0) < _LAST_SEEN_EVERY:
        return
    _last_seen[device_id] = now
    KioskDevice.objects.filter(pk=device_id).update(last_seen_at=timezone.now())


def forget_cached_keys() -> None:
    """Drop the per-process key cache (after a key is revoked in this process, and in tests)."""
    _cache.clear()
    _last_seen.clear()


class KioskKeyAuthentication(BaseAuthentication):
    keyword = "Kiosk"

    def authenticate(self, request: Request) -> tuple[Kiosk, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        if scheme != self.keyword or not key.strip():
            metrics.incr("auth.kiosk_rejected")
            raise KioskUnauthorized()
        kiosk = kiosk_for_key(key.strip())
        if kiosk is None:
            metrics.incr("auth.kiosk_rejected")
            raise KioskUnauthorized("Unknown or inactive kiosk key.")
        return kiosk, key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class IsKiosk(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.user, Kiosk):
            return True
        raise KioskUnauthorized()
