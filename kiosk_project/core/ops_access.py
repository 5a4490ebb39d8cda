"""Operator-only endpoints (/metrics, the OpenAPI schema and its docs page): a token or an allowed address.

`Authorization: Bearer <OPS_ACCESS_TOKEN>` (compared in constant time; unset =
no token works), or a caller (kiosk_project.core.client_address, so a forged
X-Forwarded-For does not count) inside OPS_ALLOWED_NETWORKS, loopback by default
so `make run` and a Prometheus on the same host need nothing. Anyone else gets
403 PERMISSION_DENIED in the envelope: the counters and the API map are for the
people running the system, not for whoever finds the host.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from kiosk_project.core import metrics
from kiosk_project.core.client_address import client_address
from kiosk_project.core.exception_handler import envelope


def _networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n.strip(), strict=False) for n in settings.OPS_ALLOWED_NETWORKS if n.strip()]


def ops_allowed(request: HttpRequest) -> bool:
    token = settings.OPS_ACCESS_TOKEN
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if token and scheme == "Bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    address = client_address(request.META)
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in _networks())


def ops_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not ops_allowed(request):
            metrics.incr("ops.refused")
            return JsonResponse(envelope("PERMISSION_DENIED", "Operators only: send Authorization: Bearer <token> "
                                         "or call from an allowed network."), status=403)
        return view(request, *args, **kwargs)

    return guarded
