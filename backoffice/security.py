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

from kiosk_project.core.client_address import client_address
from kiosk_project.core.ratelimit import check_rate


def client_ip(request: HttpRequest, *args: Any, **kwargs: Any) -> str:
    """The caller's address as the whole project decides it (TRUSTED_PROXY_HOPS), for django-axes and the
    login throttle: a forged X-Forwarded-For neither dodges the lockout nor locks out someone else."""
    return client_address(request.META) or ""


def login_throttle(request: HttpRequest) -> None:
    """Raise RateLimited when this address tried too many logins this minute."""
    check_rate(scope="admin_login", ident=client_ip(request), limit=settings.BACKOFFICE_LOGIN_RATE_PER_MINUTE)
