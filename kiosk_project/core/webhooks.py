"""The one check of a shared-secret webhook header (Rista's menu webhook, the kitchen's order.status callback)."""

from __future__ import annotations

import hmac
import logging

from django.http import HttpRequest
from rest_framework.request import Request

from kiosk_project.core import metrics
from kiosk_project.core.client_address import client_address
from kiosk_project.core.errors import ApplicationError

log = logging.getLogger(__name__)


def shared_secret_matches(secret: str, *candidates: str) -> bool:
    """Whether any candidate equals `secret`; each is compared in constant time, and all of them always, so
    the answer's timing says neither how much of a guess was right nor which candidate was tried. An empty
    secret matches nothing."""
    key = secret.encode()
    hits = [hmac.compare_digest(candidate.encode(), key) for candidate in candidates]
    return bool(key) and any(hits)


def shared_secret_check(request: Request | HttpRequest, *, meta_header: str, secret: str, metric: str,
                        rejected: str, error: type[ApplicationError], query_param: str | None = None) -> None:
    """Raise `error` unless the request's `meta_header` (a request.META key), or its `query_param` when one is
    named (a URL registered with the secret in it), equals `secret`.

    A refusal is counted (`metric`) and logged as `rejected` with the caller's address.
    """
    given = request.META.get(meta_header, "")
    candidates = [given, request.GET.get(query_param, "")] if query_param else [given]
    if shared_secret_matches(secret, *candidates):
        return
    metrics.incr(metric)
    log.warning(rejected, extra={"remote": client_address(request.META), "secret_present": any(candidates)})
    raise error()
