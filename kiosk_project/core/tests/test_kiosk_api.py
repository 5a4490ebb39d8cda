"""GET /api/v1/kiosk: the kiosk's own settings, for its screen."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from kiosk_project.core.kiosk_auth import forget_cached_keys

pytestmark = pytest.mark.django_db


def test_the_kiosk_document(kiosk, kiosk_client, settings):
    settings.KIOSK_BRANCH_NAME = "Dosa Corner, Indiranagar"
    answer = kiosk_client.get("/api/v1/kiosk")
    assert answer.status_code == 200
    assert answer.json() == {"kiosk_id": kiosk[0].id, "name": "kiosk-1", "order_modes": ["takeaway", "dine_in"],
                             "default_order_mode": "takeaway",
                             "branch": {"code": settings.KIOSK_BRANCH_CODE, "name": "Dosa Corner, Indiranagar"},
                             "poll_seconds": 3}


def test_a_kiosk_limited_to_one_mode_defaults_to_it(kiosk, kiosk_client, settings):
    device = kiosk[0]
    device.allowed_order_modes = ["dine_in"]
    device.save(update_fields=["allowed_order_modes"])
    forget_cached_keys()
    body = kiosk_client.get("/api/v1/kiosk").json()
    assert (body["order_modes"], body["default_order_mode"]) == (["dine_in"], "dine_in")


def test_an_order_without_a_mode_gets_the_kiosks_default(kiosk, kiosk_client, dine_in_menu):
    device = kiosk[0]
    device.allowed_order_modes = ["dine_in"]
    device.save(update_fields=["allowed_order_modes"])
    forget_cached_keys()
    answer = kiosk_client.post("/api/v1/orders", {"items": [{"item_sku_id": "1", "quantity": 1}]}, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["order_mode"] == "dine_in"


def test_a_key_is_required(db):
    answer = APIClient().get("/api/v1/kiosk")
    assert answer.status_code == 401
