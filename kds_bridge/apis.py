"""Rista's `order.status` callbacks (protocols.md §2.4): the kitchen's progress on our orders.

Rista documents no signature for these callbacks, so each sale we post carries
a secret header in `sourceInfo.callbackHeaders` and Rista sends it back.
Verify (constant time), then dispatch; a duplicate is a no-op that still gets 200.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kds_bridge.callbacks import kitchen_callback_apply
from kds_bridge.payload import CALLBACK_SECRET_HEADER
from kiosk_project.core.errors import ApplicationError
from kiosk_project.core.openapi import error_responses
from kiosk_project.core.webhooks import shared_secret_check

log = logging.getLogger(__name__)

_META_HEADER = "HTTP_" + CALLBACK_SECRET_HEADER.upper().replace("-", "_")


class KdsWebhookUnauthorized(ApplicationError):
    code = "KDS_WEBHOOK_UNAUTHORIZED"


class KitchenWebhookApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    class InputSerializer(serializers.Serializer):
        class DataSerializer(serializers.Serializer):
            invoiceNumber = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
            sourceInvoiceNumber = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                                        allow_null=True, default="")
            orderNumber = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
            channelName = serializers.CharField(max_length=128, required=False, allow_blank=True,
                                                allow_null=True)
            status = serializers.CharField(max_length=32)

            def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
                if not attrs.get("invoiceNumber") and not attrs.get("sourceInvoiceNumber"):
                    raise serializers.ValidationError("invoiceNumber or sourceInvoiceNumber is required.")
                return attrs

        type = serializers.CharField(max_length=64)
        # Rista's field names shadow Serializer.context/.data in the stubs; DRF pops declared fields.
        context = serializers.DictField(required=False)  # type: ignore[assignment]
        data = DataSerializer()  # type: ignore[assignment]

    @extend_schema(summary="Rista order.status callback: the kitchen's progress", request=OpenApiTypes.OBJECT,
                   responses={200: inline_serializer("KitchenCallbackAnswer", {
                                  "result": serializers.CharField(help_text="what the callback changed")}),
                              **error_responses({400: ("VALIDATION_ERROR", "MALFORMED_REQUEST"),
                                                 401: ("KDS_WEBHOOK_UNAUTHORIZED",)}, kiosk=False)})
    def post(self, request: Request) -> Response:
        shared_secret_check(request, meta_header=_META_HEADER, secret=settings.KDS_WEBHOOK_SECRET,
                            metric="webhook.kds.unauthorized", rejected="rejected kitchen callback: bad secret",
                            error=KdsWebhookUnauthorized)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        body = serializer.validated_data
        if body["type"] != "order.status":
            log.info("kitchen callback of another type ignored", extra={"type": body["type"]})
            return Response({"result": "ignored_type"})
        data = body["data"]
        result = kitchen_callback_apply(
            rista_invoice_number=data.get("invoiceNumber") or "",
            source_invoice_number=data.get("sourceInvoiceNumber") or "",
            status=data["status"],
            data={k: v for k, v in data.items() if v not in (None, "")},
        )
        return Response({"result": result})
