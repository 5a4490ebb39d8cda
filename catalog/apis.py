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
from django.db import DatabaseError
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.fastpath import etag_matches, requested_channel
from catalog.menu_document import menu_document
from catalog.services import catalog_get, catalog_refresh_many
from kiosk_project.core import metrics
from kiosk_project.core.branch_rules import BRANCH_CODE
from kiosk_project.core.branches import BranchConfig, branch_config
from kiosk_project.core.client_address import client_address
from kiosk_project.core.errors import ApplicationError, NotFound, UpstreamError
from kiosk_project.core.kiosk_auth import IsKiosk, Kiosk, KioskKeyAuthentication
from kiosk_project.core.order_modes import order_modes

log = logging.getLogger(__name__)


class WebhookUnauthorized(ApplicationError):
    status_code = 401
    code = "WEBHOOK_UNAUTHORIZED"
    message = "Missing or wrong webhook secret."


def _branch(request: Request) -> BranchConfig:
    """The kiosk's branch when a kiosk key came with the request, else ``?branch=``, else the deployment's."""
    kiosk = request.user if isinstance(request.user, Kiosk) else None
    if kiosk is None and request.META.get("HTTP_AUTHORIZATION"):
        try:
            authenticated = KioskKeyAuthentication().authenticate(request)  # a bad key is 401, not another menu
        except DatabaseError:
            authenticated = None  # the menu outlives PostgreSQL: serve the branch asked for (or the default)
        kiosk = authenticated[0] if authenticated else None
    code = kiosk.branch_code if kiosk else (request.query_params.get("branch") or settings.KIOSK_BRANCH_CODE)
    branch = branch_config(code) if BRANCH_CODE.match(code) else None
    if branch is None or not (branch.exists or code == settings.KIOSK_BRANCH_CODE):
        # Only branches we have: a stranger must not make us call Rista with arbitrary names.
        raise NotFound("Unknown branch.", code="BRANCH_NOT_FOUND", details={"branch": code[:64]})
    return branch


def _channel(request: Request, branch: BranchConfig) -> str:
    asked, order_mode = request.query_params.get("channel"), request.query_params.get("order_mode")
    if order_mode and order_mode not in order_modes(branch):
        raise ApplicationError("Unknown order mode.", code="INVALID_ORDER_MODE",
                               details={"order_mode": order_mode[:64], "order_modes": order_modes(branch)})
    channel = requested_channel(asked, order_mode, branch)
    if channel is None:
        # Only configured channels: a stranger must not make us call Rista with arbitrary names.
        raise NotFound("Unknown channel.", code="CHANNEL_NOT_FOUND",
                       details={"channel": (asked or "")[:64], "channels": list(branch.channels)})
    return channel


class CatalogApi(APIView):
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
        parameters=[OpenApiParameter("branch", str, description="the branch (without a kiosk key; default: "
                                                                "KIOSK_BRANCH_CODE); a kiosk key decides"),
                    OpenApiParameter("channel", str, description="Rista price channel; default: the branch's"),
                    OpenApiParameter("order_mode", str, enum=order_modes(),
                                     description="the menu an order in this mode is priced from "
                                                 "(when no channel is given)")],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="Rista catalog, plus soldOutSkuCodes "
                                                                         "and the store status (store)"),
                   304: OpenApiResponse(description="Not modified (If-None-Match)"),
                   503: OpenApiResponse(description="CATALOG_UNAVAILABLE")},
    )
    def get(self, request: Request) -> HttpResponse:
        branch = _branch(request)
        entry = catalog_get(branch=branch.code, channel=_channel(request, branch))
        body, etag = menu_document(entry, branch.store_status())
        if etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(body, content_type="application/json")
        patch_vary_headers(response, ["Authorization"])
        response["ETag"] = etag
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
        given = request.META.get("HTTP_X_RISTA_SECRET", "")
        if not hmac.compare_digest(given.encode(), settings.RISTA_WEBHOOK_SECRET.encode()):
            metrics.incr("webhook.rista_menu.unauthorized")
            log.warning("rejected menu webhook: bad secret", extra={"remote": client_address(request.META)})
            raise WebhookUnauthorized()
        body: dict[str, Any] = request.data if isinstance(request.data, dict) else {}
        context: dict[str, Any] = body["context"] if isinstance(body.get("context"), dict) else {}
        # Routed by Rista's branchCode: one deployment serves every branch (no code: the deployment's own).
        code = str(context.get("branchCode") or settings.KIOSK_BRANCH_CODE)
        branch = branch_config(code) if BRANCH_CODE.match(code) else None
        if branch is None or not (branch.exists or code == settings.KIOSK_BRANCH_CODE):
            log.info("menu webhook for a branch we do not serve ignored", extra={"for_branch": code[:64]})
            return Response({"refreshed": {}, "ignored": "other branch"})
        wanted = context.get("channelName")
        channels = [str(wanted)] if wanted in branch.channels else list(branch.channels)
        results = catalog_refresh_many(branch=branch.code, channels=channels)
        log.info("menu webhook handled", extra={"type": body.get("type"), "results": results})
        failed = {c: r for c, r in results.items() if not r.startswith("ok")}
        if failed:
            raise UpstreamError("Refresh failed; the previous menu stays in place.", code="REFRESH_FAILED",
                                details={"results": results})
        return Response({"refreshed": results})
