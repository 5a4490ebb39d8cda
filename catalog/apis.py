"""The menu API and Rista's menu webhook.

The GET path is the hottest in the system (every kiosk screen, every few
seconds): it sends cached bytes as they are, with a strong ETag, and never
touches a serializer or JSON.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.fastpath import etag_matches, requested_channel
from catalog.services import catalog_get, catalog_refresh_many
from kiosk_project.core.errors import ApplicationError, NotFound, UpstreamError
from kiosk_project.core.kiosk_auth import IsKiosk, KioskKeyAuthentication
from kiosk_project.core.order_modes import order_modes
from kiosk_project.core.webhooks import shared_secret_check

log = logging.getLogger(__name__)


class WebhookUnauthorized(ApplicationError):
    code = "WEBHOOK_UNAUTHORIZED"


def _channel(request: Request) -> str:
    asked, order_mode = request.query_params.get("channel"), request.query_params.get("order_mode")
    if order_mode and order_mode not in order_modes():
        raise ApplicationError("Unknown order mode.", code="INVALID_ORDER_MODE",
                               details={"order_mode": order_mode[:64], "order_modes": order_modes()})
    channel = requested_channel(asked, order_mode)
    if channel is None:
        # Only configured channels: a stranger must not make us call Rista with arbitrary names.
        raise NotFound("Unknown channel.", code="CHANNEL_NOT_FOUND",
                       details={"channel": (asked or "")[:64], "channels": settings.KIOSK_CHANNELS})
    return channel


class CatalogApi(APIView):
    """The menu. Under gunicorn, a hit on a fresh cached copy is answered before Django by catalog.fastpath
    (same body and headers: catalog/tests/test_fastpath.py); this view serves the rest and every test client."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def get_authenticators(self) -> list[Any]:
        if settings.CATALOG_REQUIRE_KIOSK_KEY:
            return [KioskKeyAuthentication()]
        return []

    def get_permissions(self) -> list[Any]:
        if settings.CATALOG_REQUIRE_KIOSK_KEY:
            return [IsKiosk()]
        return []

    @extend_schema(
        summary="The restaurant's menu (Rista catalog document)",
        parameters=[OpenApiParameter("channel", str, description="Rista price channel; default from settings"),
                    OpenApiParameter("order_mode", str, enum=order_modes(),
                                     description="the menu an order in this mode is priced from "
                                                 "(when no channel is given)")],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="Rista catalog, plus soldOutSkuCodes"),
                   304: OpenApiResponse(description="Not modified (If-None-Match)"),
                   503: OpenApiResponse(description="CATALOG_UNAVAILABLE")},
    )
    def get(self, request: Request) -> HttpResponse:
        entry = catalog_get(branch=settings.KIOSK_BRANCH_CODE, channel=_channel(request))
        response: HttpResponse
        if etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), entry.etag):
            response = HttpResponseNotModified()  # no Content-Type on a 304, as the fast path answers it
        else:
            response = HttpResponse(entry.body, content_type="application/json")
        patch_vary_headers(response, ("Accept-Encoding",))  # gunicorn or a proxy may compress it
        response["ETag"] = entry.etag
        response["Cache-Control"] = "no-cache"  # kiosks may keep it, but must revalidate
        response["X-Catalog-Source"] = entry.source
        response["X-Catalog-Age"] = str(int(entry.age))
        if entry.stale:
            response["X-Catalog-Stale"] = "true"
        return response


class CatalogRefreshApi(APIView):
    """Rista's menu webhook (`menu.sync`, `menu.item_stock_status_change`, or an empty body)."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(summary="Rista menu webhook: refresh the cached menu", request=OpenApiTypes.OBJECT,
                   responses={200: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT, 502: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        shared_secret_check(request, meta_header="HTTP_X_RISTA_SECRET", secret=settings.RISTA_WEBHOOK_SECRET,
                            metric="webhook.rista_menu.unauthorized", rejected="rejected menu webhook: bad secret",
                            error=WebhookUnauthorized)
        body: dict[str, Any] = request.data if isinstance(request.data, dict) else {}
        context: dict[str, Any] = body["context"] if isinstance(body.get("context"), dict) else {}
        branch = settings.KIOSK_BRANCH_CODE
        if context.get("branchCode") and context["branchCode"] != branch:
            log.info("menu webhook for another branch ignored", extra={"for_branch": context["branchCode"]})
            return Response({"refreshed": {}, "ignored": "other branch"})
        wanted = context.get("channelName")
        channels = [str(wanted)] if wanted in settings.KIOSK_CHANNELS else list(settings.KIOSK_CHANNELS)
        results = catalog_refresh_many(branch=branch, channels=channels)
        log.info("menu webhook handled", extra={"type": body.get("type"), "results": results})
        failed = {c: r for c, r in results.items() if not r.startswith("ok")}
        if failed:
            raise UpstreamError("Refresh failed; the previous menu stays in place.", code="REFRESH_FAILED",
                                details={"results": results})
        return Response({"refreshed": results})
