"""Kiosk checkout API: quote, place, read, and poll status."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from kiosk_project.core.apis import KioskApi
from kiosk_project.core.errors import ApplicationError
from kiosk_project.core.ratelimit import check_rate
from orders.inputs import OrderInput
from orders.presenters import order_payload, status_payload
from orders.quotes import check_client_totals, order_quote, quote_payload
from orders.selectors import order_get_for_kiosk, order_history, order_status_for_kiosk
from orders.services import order_place

_KEY_RE = re.compile(r"^[\x21-\x7e]{1,128}$")


class InvalidIdempotencyKey(ApplicationError):
    code = "INVALID_IDEMPOTENCY_KEY"


def _validated(request: Request) -> dict[str, Any]:
    serializer = OrderInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class OrderQuoteApi(KioskApi):
    @extend_schema(summary="Price a cart without storing anything", request=OrderInput,
                   responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        check_rate(scope="quote", ident=self.kiosk.id, limit=settings.QUOTE_RATE_LIMIT_PER_MINUTE)
        data = _validated(request)
        priced = order_quote(kiosk=self.kiosk, data=data)
        check_client_totals(priced, data)
        return Response(quote_payload(priced))


class OrderCreateApi(KioskApi):
    @extend_schema(summary="Place an order (PENDING until paid)", request=OrderInput,
                   parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                                description="One per checkout attempt")],
                   responses={201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        check_rate(scope="order", ident=self.kiosk.id, limit=settings.ORDER_RATE_LIMIT_PER_MINUTE)
        key = request.META.get("HTTP_IDEMPOTENCY_KEY")
        if key is not None and not _KEY_RE.match(key):
            raise InvalidIdempotencyKey()
        placement = order_place(kiosk=self.kiosk, data=_validated(request), idempotency_key=key)
        headers = {"Idempotent-Replayed": "true"} if placement.replayed else {}
        return Response(order_payload(placement.order, placement.lines), status=201, headers=headers)


class OrderDetailApi(KioskApi):
    @extend_schema(summary="An order with its lines, totals and status history",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, order_id: str) -> Response:
        order = order_get_for_kiosk(order_id=order_id, device_id=self.kiosk.id)
        return Response({**order_payload(order), "history": order_history(order)})


class OrderStatusApi(KioskApi):
    """Polled every 3 s by each waiting kiosk: one primary-key read, ETag/304."""

    @extend_schema(summary="Poll an order's status", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, order_id: str) -> Response | HttpResponse:
        row = order_status_for_kiosk(order_id=order_id, device_id=self.kiosk.id)
        payload = status_payload(row)
        etag = '"' + hashlib.sha1(  # noqa: S324 (a change detector, not security)
            f"{payload['status']}|{payload['kitchen_status']}|{payload['updated_at']}".encode()).hexdigest()[:20] + '"'
        if request.META.get("HTTP_IF_NONE_MATCH") == etag:
            response: Response | HttpResponse = HttpResponse(status=304)
        else:
            response = Response(payload)
        response["ETag"] = etag
        response["Cache-Control"] = "no-cache"
        return response
