"""Kiosk payment API (initiate, read) and PhonePe's callback endpoint. Thin: parse, call, format."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kiosk_project.core.apis import KioskApi
from kiosk_project.core.client_address import client_address
from kiosk_project.core.inputs import MoneyField
from kiosk_project.core.ratelimit import check_rate
from payments.initiation import payment_initiate
from payments.models import Payment, PaymentStatus
from payments.qr import qr_svg
from payments.selectors import payment_get_for_kiosk
from payments.webhooks import webhook_receive


class PaymentInitiateInput(serializers.Serializer):
    order_id = serializers.UUIDField()
    amount = MoneyField()  # a JSON number in rupees, at most 2 decimals (never a string or float math)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def initiation_payload(payment: Payment) -> dict[str, Any]:
    return {
        "order_id": str(payment.order_id),
        "payment_id": str(payment.id),
        "amount": payment.amount,
        "qr_string": payment.qr_string,
        "qr_svg": qr_svg(payment.qr_string),
        "expires_at": _iso(payment.expires_at),
    }


def payment_payload(payment: Payment) -> dict[str, Any]:
    live = payment.status == PaymentStatus.PENDING
    return {
        "payment_id": str(payment.id),
        "order_id": str(payment.order_id),
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
        responses={201: inline_serializer("PaymentInitiated", {
            "order_id": serializers.UUIDField(), "payment_id": serializers.UUIDField(),
            "amount": serializers.DecimalField(max_digits=12, decimal_places=2),
            "qr_string": serializers.CharField(), "qr_svg": serializers.CharField(),
            "expires_at": serializers.DateTimeField()}),
            404: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT, 502: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT},
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
    @extend_schema(summary="A payment attempt's status", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, payment_id: str) -> Response:
        payment = payment_get_for_kiosk(payment_id=payment_id, device_id=self.kiosk.id)
        return Response(payment_payload(payment))


class PaymentWebhookApi(APIView):
    """PhonePe's callbacks (v1 S2S and v2 webhooks). Authenticated by their signature, not a key."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(summary="PhonePe callback (v1 X-VERIFY or v2 Authorization)", request=OpenApiTypes.OBJECT,
                   responses={200: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        result = webhook_receive(headers=request.headers, body=request.body, remote_addr=client_address(request.META))
        return Response({"status": result.status})



