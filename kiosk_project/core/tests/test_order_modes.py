"""Order mode -> Rista price channel and charge mode: the defaults, the fallback, refusing a typo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kiosk_project.core.order_modes import ModePricing, order_mode_pricing, order_modes

ROOT = Path(__file__).resolve().parents[3]


def test_defaults_takeaway_pickup_and_dine_in_without_mode_charges(settings):
    settings.KIOSK_CHANNELS = ["Takeaway", "Dine In"]
    assert order_modes() == ["takeaway", "dine_in"]
    assert order_mode_pricing("takeaway") == ModePricing(channel="Takeaway", charge_mode="Pickup")
    assert order_mode_pricing("dine_in") == ModePricing(channel="Dine In", charge_mode=None)


def test_a_channel_the_branch_does_not_serve_falls_back_to_the_default_channel(settings):
    settings.KIOSK_CHANNELS = ["Takeaway"]
    assert order_mode_pricing("dine_in") == ModePricing(channel="Takeaway", charge_mode=None)


def test_each_mode_can_be_mapped(settings):
    settings.KIOSK_DEFAULT_CHANNEL = "Kiosk"
    settings.KIOSK_CHANNELS = ["Kiosk", "Restaurant"]
    settings.ORDER_CHANNELS = {"takeaway": "Kiosk", "dine_in": "Restaurant"}
    settings.ORDER_CHARGE_MODES = {"takeaway": "Delivery", "dine_in": "Others"}
    assert order_mode_pricing("takeaway") == ModePricing(channel="Kiosk", charge_mode="Delivery")
    assert order_mode_pricing("dine_in") == ModePricing(channel="Restaurant", charge_mode="Others")


def _settings_load(**environ: str) -> subprocess.CompletedProcess:
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='kiosk_project.settings.local'; django.setup()\n"
            "from kiosk_project.core.order_modes import order_mode_pricing as p; print(p('takeaway'), p('dine_in'))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **environ})


def test_environment_sets_the_mapping_and_a_misspelt_charge_mode_refuses_to_start():
    ok = _settings_load(ORDER_CHARGE_MODE_DINE_IN="Others", ORDER_CHANNEL_DINE_IN="Restaurant",
                        KIOSK_CHANNELS="Takeaway,Restaurant")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split("\n")[0] == ("ModePricing(channel='Takeaway', charge_mode='Pickup') "
                                        "ModePricing(channel='Restaurant', charge_mode='Others')")
    bad = _settings_load(ORDER_CHARGE_MODE_TAKEAWAY="pickup")
    assert bad.returncode != 0
    assert "ORDER_CHARGE_MODE_" in bad.stderr and "pickup" in bad.stderr
