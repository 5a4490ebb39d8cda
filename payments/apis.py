"""Kiosk payment API (initiate, read) and PhonePe's callback endpoint. Thin: parse, call, format."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kiosk_project.core.apis import KioskApi
from kiosk_project.core.client_address import client_address
from kiosk_project.core.inputs import MoneyField, StrictSerializer
from kiosk_project.core.openapi import error_responses
from kiosk_project.core.ratelimit import check_rate
from payments.initiation import payment_initiate
from payments.models import Payment, PaymentStatus
from payments.qr import qr_image, qr_svg
from payments.schemas import PaymentDetailSchema, PaymentInitiatedSchema, WebhookAnswerSchema
from payments.selectors import payment_get_for_kiosk
from payments.webhooks import webhook_receive


class PaymentInitiateInput(StrictSerializer):
    order_id = serializers.UUIDField()
    amount = MoneyField()  # rupees: a JSON number or a decimal string, at most 2 decimals (never float math)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def initiation_payload(payment: Payment) -> dict[str, Any]:
    return {
        "order_id": str(payment.order_id),
        "payment_id": str(payment.id),
        "merchant_reference": payment.merchant_reference,
        "amount": payment.amount,
        "qr_string": payment.qr_string or None,
        "qr_svg": qr_svg(payment.qr_string) if payment.qr_string else None,
        "qr_image": qr_image(payment.qr_string, payment.qr_image),
        "expires_at": _iso(payment.expires_at),
    }


def payment_payload(payment: Payment) -> dict[str, Any]:
    live = payment.status == PaymentStatus.PENDING
    return {
        "payment_id": str(payment.id),
        "order_id": str(payment.order_id),
        "merchant_reference": payment.merchant_reference,
        "order_status": payment.order.status,
        "status": payment.status,
        "amount": payment.amount,
        "paid_amount": payment.paid_amount,
        "qr_string": payment.qr_string if live else None,
        "expires_at": _iso(payment.expires_at),
        "created_at": _iso(payment.created_at),
        "completed_at": _iso(payment.completed_at),
    }


class PaymentInitiateApi(KioskApi):
    @extend_schema(
        summary="Get a UPI QR for a PENDING order (the same one while it is valid)",
        request=PaymentInitiateInput,
        responses={201: PaymentInitiatedSchema, **error_responses({
            400: ("VALIDATION_ERROR", "MALFORMED_REQUEST"), 404: ("ORDER_NOT_FOUND",),
            409: ("ORDER_NOT_PAYABLE", "AMOUNT_MISMATCH", "PAYMENT_IN_PROGRESS"),
            502: ("PAYMENT_GATEWAY_REJECTED",), 503: ("PAYMENT_GATEWAY_UNAVAILABLE",)})},
    )
    def post(self, request: Request) -> Response:
        check_rate(scope="payment_initiate", ident=self.kiosk.id, limit=settings.PAYMENT_INITIATE_RATE_LIMIT_PER_MINUTE)
        serializer = PaymentInitiateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        initiation = payment_initiate(kiosk=self.kiosk, order_id=data["order_id"], amount=data["amount"])
        headers = {"Idempotent-Replayed": "true"} if initiation.reused else {}
        return Response(initiation_payload(initiation.payment), status=201, headers=headers)


class PaymentDetailApi(KioskApi):
    @extend_schema(summary="A payment attempt's status",
                   responses={200: PaymentDetailSchema, **error_responses({404: ("PAYMENT_NOT_FOUND",)})})
    def get(self, request: Request, payment_id: str) -> Response:
        payment = payment_get_for_kiosk(payment_id=payment_id, device_id=self.kiosk.id)
        return Response(payment_payload(payment))


class PaymentWebhookApi(APIView):
    """PhonePe's callbacks (v1 S2S and v2 webhooks). Authenticated by their signature, not a key."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(summary="PhonePe callback (v1 X-VERIFY or v2 Authorization)", request=OpenApiTypes.OBJECT,
                   responses={200: WebhookAnswerSchema, **error_responses({
                       400: ("WEBHOOK_INVALID", "MALFORMED_REQUEST"), 401: ("WEBHOOK_UNAUTHORIZED",)}, kiosk=False)})
    def post(self, request: Request) -> Response:
        result = webhook_receive(headers=request.headers, body=request.body, remote_addr=client_address(request.META))
        return Response({"status": result.status})



