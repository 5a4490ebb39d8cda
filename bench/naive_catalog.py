"""Scenario (c): the naive menu path, for comparison only (never mounted in the real URLconf).

What the endpoint would look like without the "cached bytes" design: read the
same cache entry through the same store, parse it with `json.loads`, and hand
the document to DRF, which renders it again with its JSONRenderer. Same
middleware, same headers, same channel check; nothing deliberately slow.

Mounted by bench.naive_settings as ROOT_URLCONF: the real URLs plus
GET /bench/naive-catalog.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.services import CatalogUnavailable
from catalog.store import cache_read
from kiosk_project.core.branches import branch_config
from kiosk_project.core.errors import NotFound
from kiosk_project.urls import handler400, handler403, handler404, handler500
from kiosk_project.urls import urlpatterns as real_urlpatterns


def _channel(request: Request) -> str:
    """The same channel check as the real endpoint."""
    channel = request.query_params.get("channel") or settings.KIOSK_DEFAULT_CHANNEL
    if channel not in settings.KIOSK_CHANNELS:
        raise NotFound("Unknown channel.", code="CHANNEL_NOT_FOUND")
    return channel


class NaiveCatalogApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def get(self, request: Request) -> Response:
        channel = _channel(request)
        entry = cache_read(settings.KIOSK_BRANCH_CODE, channel)
        if entry is None:
            raise CatalogUnavailable()
        # The same document as the real endpoint: the branch's store status, then the catalog.
        document = {"store": branch_config().store_status().as_dict(), **json.loads(entry.body)}
        response = Response(document)
        response["ETag"] = entry.etag
        response["Cache-Control"] = "no-cache"
        response["X-Catalog-Source"] = entry.source
        response["X-Catalog-Age"] = str(int(entry.age))
        return response


urlpatterns = [path("bench/naive-catalog", NaiveCatalogApi.as_view(), name="bench-naive-catalog"),
               *real_urlpatterns]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
