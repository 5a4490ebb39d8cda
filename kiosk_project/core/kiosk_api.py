"""GET /api/v1/kiosk: who this kiosk is, as its screen needs it at start-up (modes, branch, poll interval),
and its branch's store status (the same `store` block as the menu's: docs/chain.md).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kiosk_project.core.branches import branch_config
from kiosk_project.core.kiosk_auth import IsKiosk, Kiosk, KioskKeyAuthentication
from kiosk_project.core.openapi import error_responses
from kiosk_project.core.order_modes import kiosk_default_order_mode, kiosk_order_modes

POLL_SECONDS = 3  # the contract's status poll interval (docs/kiosk-api.md)


def kiosk_document(kiosk: Kiosk) -> dict[str, Any]:
    branch = branch_config(kiosk.branch_code)
    modes = [mode for mode in kiosk_order_modes(kiosk.allowed_order_modes) if mode in branch.order_modes]
    default = kiosk_default_order_mode(kiosk.allowed_order_modes)
    # KIOSK_BRANCH_NAME, when set, names the deployment's own branch; every other branch has its row's name.
    named = kiosk.branch_code == settings.KIOSK_BRANCH_CODE and kiosk.branch_code != settings.KIOSK_BRANCH_NAME
    return {
        "kiosk_id": kiosk.id,
        "name": kiosk.name,
        "order_modes": modes,
        "default_order_mode": default if default in modes or not modes else modes[0],
        "branch": {"code": kiosk.branch_code, "name": settings.KIOSK_BRANCH_NAME if named else branch.display_name},
        "poll_seconds": POLL_SECONDS,
        "store": branch.store_status().as_dict(),
    }


class BranchSchema(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class StoreSchema(serializers.Serializer):
    open = serializers.BooleanField()
    next_open_at = serializers.DateTimeField(allow_null=True, help_text="closed: the next opening (ISO 8601)")
    closes_at = serializers.DateTimeField(allow_null=True, help_text="open: when the hours close it")


class KioskDocumentSchema(serializers.Serializer):
    kiosk_id = serializers.IntegerField()
    name = serializers.CharField()
    order_modes = serializers.ListField(child=serializers.CharField())
    default_order_mode = serializers.CharField()
    branch = BranchSchema()
    poll_seconds = serializers.IntegerField(help_text="How often to poll an order's status")
    store = StoreSchema(help_text="The branch's store status; closed: new orders are refused (STORE_CLOSED)")


class KioskWhoamiApi(APIView):
    authentication_classes = [KioskKeyAuthentication]
    permission_classes = [IsKiosk]

    @extend_schema(summary="This kiosk: its order modes, default mode, branch and poll interval",
                   responses={200: KioskDocumentSchema, **error_responses({})})
    def get(self, request: Request) -> Response:
        return Response(kiosk_document(request.user))  # type: ignore[arg-type]
