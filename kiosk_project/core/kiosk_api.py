"""GET /api/v1/kiosk: who this kiosk is, as its screen needs it at start-up (modes, branch, poll interval).

A later branch model adds a `store` block (open/closed); the document is a dict built here so
that block is one more key.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kiosk_project.core.kiosk_auth import IsKiosk, Kiosk, KioskKeyAuthentication
from kiosk_project.core.openapi import error_responses
from kiosk_project.core.order_modes import kiosk_default_order_mode, kiosk_order_modes

POLL_SECONDS = 3  # the contract's status poll interval (docs/kiosk-api.md)


def kiosk_document(kiosk: Kiosk) -> dict[str, Any]:
    return {
        "kiosk_id": kiosk.id,
        "name": kiosk.name,
        "order_modes": kiosk_order_modes(kiosk.allowed_order_modes),
        "default_order_mode": kiosk_default_order_mode(kiosk.allowed_order_modes),
        "branch": {"code": kiosk.branch_code, "name": settings.KIOSK_BRANCH_NAME
                   if kiosk.branch_code == settings.KIOSK_BRANCH_CODE else kiosk.branch_code},
        "poll_seconds": POLL_SECONDS,
    }


class BranchSchema(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class KioskDocumentSchema(serializers.Serializer):
    kiosk_id = serializers.IntegerField()
    name = serializers.CharField()
    order_modes = serializers.ListField(child=serializers.CharField())
    default_order_mode = serializers.CharField()
    branch = BranchSchema()
    poll_seconds = serializers.IntegerField(help_text="How often to poll an order's status")


class KioskWhoamiApi(APIView):
    authentication_classes = [KioskKeyAuthentication]
    permission_classes = [IsKiosk]

    @extend_schema(summary="This kiosk: its order modes, default mode, branch and poll interval",
                   responses={200: KioskDocumentSchema, **error_responses({})})
    def get(self, request: Request) -> Response:
        return Response(kiosk_document(request.user))  # type: ignore[arg-type]
