"""The menu API and Rista's menu webhook.

The GET path is the hottest in the system (every kiosk screen, every few
seconds): it sends cached bytes as they are, with a strong ETag, and never
touches a serializer or JSON.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.fastpath import etag_matches, requested_channel
from catalog.services import catalog_get
from catalog.webhook_refresh import catalog_refresh_request
from kiosk_project.core import metrics
from kiosk_project.core.client_address import client_address
from kiosk_project.core.errors import ApplicationError, NotFound
from kiosk_project.core.openapi import error_responses
from kiosk_project.core.order_modes import order_modes

log = logging.getLogger(__name__)


class WebhookUnauthorized(ApplicationError):
    status_code = 401
    code = "WEBHOOK_UNAUTHORIZED"
    message = "Missing or wrong webhook secret."


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
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def get_authenticators(self) -> list[Any]:
        if settings.CATALOG_REQUIRE_KIOSK_KEY:
            from kiosk_project.core.kiosk_auth import KioskKeyAuthentication

            return [KioskKeyAuthentication()]
        return []

    def get_permissions(self) -> list[Any]:
        if settings.CATALOG_REQUIRE_KIOSK_KEY:
            from kiosk_project.core.kiosk_auth import IsKiosk

            return [IsKiosk()]
        return []

    @extend_schema(
        summary="The restaurant's menu (Rista catalog document)",
        parameters=[OpenApiParameter("channel", str, description="Rista price channel; default from settings"),
                    OpenApiParameter("order_mode", str, enum=order_modes(),
                                     description="the menu an order in this mode is priced from "
                                                 "(when no channel is given)")],
        responses={200: OpenApiResponse(inline_serializer("CatalogDocument", {
                       "items": serializers.ListField(child=serializers.DictField(),
                                                      help_text="Rista's items (skuCode, itemName, price, ...)"),
                       "soldOutSkuCodes": serializers.ListField(child=serializers.CharField()),
                   }), description="Rista's catalog document as Rista sends it, plus soldOutSkuCodes"),
                   304: OpenApiResponse(description="Not modified (If-None-Match)"),
                   **error_responses({400: ("INVALID_ORDER_MODE",), 401: ("NOT_AUTHENTICATED",),
                                      404: ("CHANNEL_NOT_FOUND",),
                                      503: ("CATALOG_UNAVAILABLE", "SERVICE_UNAVAILABLE")}, kiosk=False)},
    )
    def get(self, request: Request) -> HttpResponse:
        entry = catalog_get(branch=settings.KIOSK_BRANCH_CODE, channel=_channel(request))
        if etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), entry.etag):
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(entry.body, content_type="application/json")
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

    @extend_schema(summary="Rista menu webhook: queue a refresh of the cached menu", request=OpenApiTypes.OBJECT,
                   parameters=[OpenApiParameter("token", str, OpenApiParameter.QUERY, required=False,
                                                description="RISTA_WEBHOOK_SECRET, for a webhook URL registered "
                                                            "with it (instead of the X-Rista-Secret header)")],
                   responses={202: inline_serializer("MenuRefreshQueued", {
                                  "queued": serializers.ListField(child=serializers.CharField()),
                                  "already_queued": serializers.ListField(child=serializers.CharField()),
                                  "ignored": serializers.CharField(required=False)}),
                              **error_responses({400: ("MALFORMED_REQUEST",), 401: ("WEBHOOK_UNAUTHORIZED",),
                                                 503: ("SERVICE_UNAVAILABLE",)}, kiosk=False)})
    def post(self, request: Request) -> Response:
        if not webhook_secret_ok(request.META.get("HTTP_X_RISTA_SECRET", ""), request.GET.get("token", "")):
            metrics.incr("webhook.rista_menu.unauthorized")
            log.warning("rejected menu webhook: bad secret", extra={"remote": client_address(request.META)})
            raise WebhookUnauthorized()
        body: dict[str, Any] = request.data if isinstance(request.data, dict) else {}
        context: dict[str, Any] = body["context"] if isinstance(body.get("context"), dict) else {}
        branch = settings.KIOSK_BRANCH_CODE
        if context.get("branchCode") and context["branchCode"] != branch:
            log.info("menu webhook for another branch ignored", extra={"for_branch": context["branchCode"]})
            return Response({"queued": [], "already_queued": [], "ignored": "other branch"}, status=202)
        wanted = context.get("channelName")
        channels = [str(wanted)] if wanted in settings.KIOSK_CHANNELS else list(settings.KIOSK_CHANNELS)
        queued = catalog_refresh_request(branch=branch, channels=channels)
        log.info("menu webhook accepted", extra={"type": body.get("type"), "queued": queued.queued,
                                                  "already_queued": queued.already_queued})
        return Response({"queued": queued.queued, "already_queued": queued.already_queued}, status=202)


def webhook_secret_ok(header_value: str, token: str) -> bool:
    """The secret as the X-Rista-Secret header or as ?token= in the registered URL, each compared in constant
    time (both are always compared, so the answer's timing does not say which one was tried)."""
    secret = settings.RISTA_WEBHOOK_SECRET.encode()
    by_header = hmac.compare_digest(header_value.encode(), secret)
    by_token = hmac.compare_digest(token.encode(), secret)
    return bool(secret) and (by_header or by_token)
