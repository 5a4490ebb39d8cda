"""Login protection for the back office: the client's address, and a per-address throttle.

django-axes locks a username out after AXES_FAILURE_LIMIT failures from one
address; on top of that, any one address may try at most
BACKOFFICE_LOGIN_RATE_PER_MINUTE logins a minute whatever the usernames, which
stops a password sprayed across many accounts.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from kiosk_project.core.ratelimit import check_rate


def client_ip(request: HttpRequest, *args: Any, **kwargs: Any) -> str:
    """REMOTE_ADDR, or with BACKOFFICE_PROXY_COUNT proxies in front, the address the first proxy saw.

    Each proxy appends the address it received from, so the client's is the
    proxy-count-th from the right; anything left of it was written by the client.
    """
    count = settings.BACKOFFICE_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= count:
            return hops[-count]
    return str(request.META.get("REMOTE_ADDR", ""))


def login_throttle(request: HttpRequest) -> None:
    """Raise RateLimited when this address tried too many logins this minute."""
    check_rate(scope="admin_login", ident=client_ip(request), limit=settings.BACKOFFICE_LOGIN_RATE_PER_MINUTE)
