"""The kiosk's reads and cancel of its orders that carry the payment's state: detail, status poll, cancel.

They live here, not in orders.apis, because the status document reads the
payment tables (payments -> orders is the allowed direction).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, HttpResponseNotModified
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kiosk_project.core.openapi import error_responses
from kiosk_project.core.wsgi_fastpath import etag_matches
from orders.apis import KioskApi
from orders.inputs import StrictSerializer
from orders.presenters import order_payload
from orders.selectors import order_get_for_kiosk, order_history, order_uuid
from payments import status_cache
from payments.order_cancel import order_cancel
from payments.schemas import OrderDetailSchema, StatusDocumentSchema
from payments.status_document import document_of, status_document, status_etag, status_row


class OrderCancelInput(StrictSerializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


def _status_response(request: Request, document: dict[str, Any]) -> Response | HttpResponse:
    etag = status_etag(document)
    if etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
        response: Response | HttpResponse = HttpResponseNotModified()  # no body, so no Content-Type
    else:
        response = Response(document)
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response


class OrderDetailApi(KioskApi):
    @extend_schema(summary="An order with its lines, totals, payment and status history",
                   responses={200: OrderDetailSchema, **error_responses({404: ("ORDER_NOT_FOUND",)})})
    def get(self, request: Request, order_id: str) -> Response:
        order = order_get_for_kiosk(order_id=order_id, device_id=self.kiosk.id)
        document = status_document(order_id=order.id, device_id=self.kiosk.id)
        return Response({**order_payload(order), "payment": document["payment"], "history": order_history(order)})


class OrderStatusApi(KioskApi):
    """Polled every 3 s by each waiting kiosk: one indexed read, ETag/304."""

    @extend_schema(summary="Poll an order's status and its payment's (ETag: send If-None-Match)",
                   parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False)],
                   responses={200: StatusDocumentSchema, 304: OpenApiResponse(description="Not modified"),
                              **error_responses({404: ("ORDER_NOT_FOUND",)})})
    def get(self, request: Request, order_id: str) -> Response | HttpResponse:
        # A poll that reached Django fills the fast path's copy when there is none (payments/status_cache.py):
        # the ticket is taken before the read, so a commit racing this poll wins.
        pk = order_uuid(order_id)
        held = status_cache.ticket(pk) if status_cache.enabled() and not status_cache.present(pk) else None
        row = status_row(order_id=pk, device_id=self.kiosk.id)
        if held is not None:
            status_cache.store(row, held)
        return _status_response(request, document_of(row))


class OrderCancelApi(KioskApi):
    @extend_schema(summary="Cancel an unpaid order (idempotent)", request=OrderCancelInput,
                   responses={200: StatusDocumentSchema, **error_responses({
                       400: ("VALIDATION_ERROR", "MALFORMED_REQUEST"), 404: ("ORDER_NOT_FOUND",),
                       409: ("ORDER_ALREADY_PAID",)})})
    def post(self, request: Request, order_id: str) -> Response:
        serializer = OrderCancelInput(data=request.data if request.data is not None else {})
        serializer.is_valid(raise_exception=True)
        order_cancel(kiosk=self.kiosk, order_id=order_id, reason=serializer.validated_data["reason"])
        return Response(status_document(order_id=order_id, device_id=self.kiosk.id))
