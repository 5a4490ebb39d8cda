"""Who is calling: the one place that decides which address a request came from.

`X-Forwarded-For` is whatever the client wrote, except for the entries our own
proxies appended. With TRUSTED_PROXY_HOPS = n (the proxies in front of us), the
caller is the n-th address from the right; with 0 (the default: nothing in
front) it is the socket's REMOTE_ADDR and the header is ignored. Rate limits,
the operator endpoints' allow-list and the security logs all use this, so a
forged header can neither dodge a limit nor open /metrics.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from django.conf import settings


def client_address(meta: Mapping[str, Any]) -> str | None:
    candidate = str(meta.get("REMOTE_ADDR") or "")
    hops = int(settings.TRUSTED_PROXY_HOPS)
    if hops > 0:
        forwarded = [h.strip() for h in str(meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if h.strip()]
        if forwarded:
            candidate = forwarded[-hops] if len(forwarded) >= hops else forwarded[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None
