"""The base of every kiosk-facing API view: kiosk-key authentication, and the kiosk it found."""

from __future__ import annotations

from rest_framework.views import APIView

from kiosk_project.core.kiosk_auth import IsKiosk, Kiosk, KioskKeyAuthentication


class KioskApi(APIView):
    authentication_classes = [KioskKeyAuthentication]
    permission_classes = [IsKiosk]

    @property
    def kiosk(self) -> Kiosk:
        return self.request.user  # type: ignore[return-value]
