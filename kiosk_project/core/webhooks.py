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


def shared_secret_check(request: Request | HttpRequest, *, meta_header: str, secret: str, metric: str,
                        rejected: str, error: type[ApplicationError]) -> None:
    """Raise `error` unless the request's `meta_header` (a request.META key) equals `secret`.

    Compared in constant time, so the answer's timing does not tell how much of a guess was right.
    A refusal is counted (`metric`) and logged as `rejected` with the caller's address.
    """
    given = request.META.get(meta_header, "")
    if hmac.compare_digest(given.encode(), secret.encode()):
        return
    metrics.incr(metric)
    log.warning(rejected, extra={"remote": client_address(request.META), "secret_present": bool(given)})
    raise error()
