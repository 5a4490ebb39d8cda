"""Operator commands for the menu, and the optional kiosk key on the catalog."""

from __future__ import annotations

from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def test_refresh_catalog_command(rista):
    out = StringIO()
    call_command("refresh_catalog", stdout=out)
    assert "BLR01/Takeaway: ok" in out.getvalue()
    out = StringIO()
    call_command("catalog_status", stdout=out)
    row = out.getvalue().splitlines()[1]
    assert row.startswith("Takeaway") and " yes " in row and " 33 " in row


def test_refresh_catalog_command_fails_loudly_and_keeps_the_old_copy(rista):
    call_command("refresh_catalog", stdout=StringIO())
    requests.post(rista.url + "/_control/faults", json={"mode": "error", "count": 1, "routes": ["catalog"]},
                  timeout=5)
    with pytest.raises(CommandError):
        call_command("refresh_catalog", "--all", stdout=StringIO())
    assert Client().get("/api/v1/catalog")["X-Catalog-Source"] == "cache"


def test_catalog_status_with_nothing_cached(rista):
    out = StringIO()
    call_command("catalog_status", stdout=out)
    assert " no " in out.getvalue().splitlines()[1]


def test_catalog_can_require_a_kiosk_key(rista, kiosk, settings):
    settings.CATALOG_REQUIRE_KIOSK_KEY = True
    anonymous = Client().get("/api/v1/catalog")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert Client().get("/api/v1/catalog", HTTP_AUTHORIZATION=f"Kiosk {kiosk[1]}").status_code == 200
