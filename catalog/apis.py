"""The menu API and Rista's menu webhook.

The GET path is the hottest in the system (every kiosk screen, every few
seconds): it sends cached bytes as they are, with a strong ETag, and never
touches a serializer or JSON.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.fastpath import requested_channel
from catalog.menu_document import menu_document
from catalog.services import catalog_get
from catalog.webhook_refresh import catalog_refresh_request
from kiosk_project.core.branch_rules import BRANCH_CODE
from kiosk_project.core.branches import BranchConfig, branch_config
from kiosk_project.core.errors import ApplicationError, NotFound
from kiosk_project.core.kiosk_auth import IsKiosk, Kiosk, KioskKeyAuthentication
from kiosk_project.core.openapi import error_responses
from kiosk_project.core.order_modes import order_modes
from kiosk_project.core.webhooks import shared_secret_check
from kiosk_project.core.wsgi_fastpath import etag_matches

log = logging.getLogger(__name__)


class WebhookUnauthorized(ApplicationError):
    code = "WEBHOOK_UNAUTHORIZED"


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
        parameters=[OpenApiParameter("branch", str, description="the branch (without a kiosk key; default: "
                                                                "KIOSK_BRANCH_CODE); a kiosk key decides"),
                    OpenApiParameter("channel", str, description="Rista price channel; default: the branch's"),
                    OpenApiParameter("order_mode", str, enum=order_modes(),
                                     description="the menu an order in this mode is priced from "
                                                 "(when no channel is given)")],
        responses={200: OpenApiResponse(inline_serializer("CatalogDocument", {
                       "store": inline_serializer("StoreStatus", {
                           "open": serializers.BooleanField(),
                           "next_open_at": serializers.DateTimeField(allow_null=True),
                           "closes_at": serializers.DateTimeField(allow_null=True)}),
                       "items": serializers.ListField(child=serializers.DictField(),
                                                      help_text="Rista's items (skuCode, itemName, price, ...)"),
                       "soldOutSkuCodes": serializers.ListField(child=serializers.CharField()),
                   }), description="The branch's store status, then Rista's catalog document as Rista sends it, "
                                   "plus soldOutSkuCodes"),
                   304: OpenApiResponse(description="Not modified (If-None-Match)"),
                   **error_responses({400: ("INVALID_ORDER_MODE",), 401: ("NOT_AUTHENTICATED",),
                                      404: ("CHANNEL_NOT_FOUND", "BRANCH_NOT_FOUND"),
                                      503: ("CATALOG_UNAVAILABLE", "SERVICE_UNAVAILABLE")}, kiosk=False)},
    )
    def get(self, request: Request) -> HttpResponse:
        branch = _branch(request)
        entry = catalog_get(branch=branch.code, channel=_channel(request, branch))
        body, etag = menu_document(entry, branch.store_status())
        response: HttpResponse
        if etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
            response = HttpResponseNotModified()  # no Content-Type on a 304, as the fast path answers it
        else:
            response = HttpResponse(body, content_type="application/json")
        patch_vary_headers(response, ("Accept-Encoding", "Authorization"))  # compression; the kiosk's branch
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
        # The secret as the X-Rista-Secret header, or as ?token= in the URL registered with Rista.
        shared_secret_check(request, meta_header="HTTP_X_RISTA_SECRET", query_param="token",
                            secret=settings.RISTA_WEBHOOK_SECRET, metric="webhook.rista_menu.unauthorized",
                            rejected="rejected menu webhook: bad secret", error=WebhookUnauthorized)
        body: dict[str, Any] = request.data if isinstance(request.data, dict) else {}
        context: dict[str, Any] = body["context"] if isinstance(body.get("context"), dict) else {}
        # Routed by Rista's branchCode: one deployment serves every branch (no code: the deployment's own).
        code = str(context.get("branchCode") or settings.KIOSK_BRANCH_CODE)
        branch = branch_config(code) if BRANCH_CODE.match(code) else None
        if branch is None or not (branch.exists or code == settings.KIOSK_BRANCH_CODE):
            log.info("menu webhook for a branch we do not serve ignored", extra={"for_branch": code[:64]})
            return Response({"queued": [], "already_queued": [], "ignored": "other branch"}, status=202)
        wanted = context.get("channelName")
        channels = [str(wanted)] if wanted in branch.channels else list(branch.channels)
        queued = catalog_refresh_request(branch=branch.code, channels=channels)
        log.info("menu webhook accepted", extra={"type": body.get("type"), "queued": queued.queued,
                                                  "already_queued": queued.already_queued})
        return Response({"queued": queued.queued, "already_queued": queued.already_queued}, status=202)
