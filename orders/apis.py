"""Kiosk checkout API: quote and place (reads and cancel that carry the payment: payments.order_apis)."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from kiosk_project.core.apis import KioskApi
from kiosk_project.core.errors import ApplicationError
from kiosk_project.core.openapi import error_responses
from kiosk_project.core.ratelimit import check_rate
from orders.inputs import OrderInput
from orders.presenters import order_payload
from orders.quotes import check_client_totals, order_quote, quote_payload
from orders.schemas import OrderSchema, QuoteSchema
from orders.services import order_place

_KEY_RE = re.compile(r"^[\x21-\x7e]{1,128}$")


# The error codes a cart can get (docs/kiosk-api.md lists when each happens).
CART_ERRORS: dict[int, tuple[str, ...]] = {
    400: ("VALIDATION_ERROR", "MALFORMED_REQUEST"),
    409: ("PRICE_CHANGED", "ITEM_UNAVAILABLE"),
    413: ("PAYLOAD_TOO_LARGE",),
    415: ("UNSUPPORTED_MEDIA_TYPE",),
    422: ("ITEM_NOT_FOUND", "INVALID_OPTIONS", "ORDER_MODE_NOT_ALLOWED"),
    503: ("CATALOG_UNAVAILABLE",),
}


class InvalidIdempotencyKey(ApplicationError):
    code = "INVALID_IDEMPOTENCY_KEY"


def _validated(request: Request) -> dict[str, Any]:
    serializer = OrderInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class OrderQuoteApi(KioskApi):
    @extend_schema(summary="Price a cart without storing anything", request=OrderInput,
                   responses={200: QuoteSchema, **error_responses(CART_ERRORS)})
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
                   responses={201: OrderSchema, **error_responses({
                       **CART_ERRORS, 400: (*CART_ERRORS[400], "INVALID_IDEMPOTENCY_KEY"),
                       422: (*CART_ERRORS[422], "IDEMPOTENCY_KEY_REUSED")})})
    def post(self, request: Request) -> Response:
        check_rate(scope="order", ident=self.kiosk.id, limit=settings.ORDER_RATE_LIMIT_PER_MINUTE)
        key = request.META.get("HTTP_IDEMPOTENCY_KEY")
        if key is not None and not _KEY_RE.match(key):
            raise InvalidIdempotencyKey()
        placement = order_place(kiosk=self.kiosk, data=_validated(request), idempotency_key=key)
        headers = {"Idempotent-Replayed": "true"} if placement.replayed else {}
        return Response(order_payload(placement.order, placement.lines), status=201, headers=headers)
