"""Kiosk devices: keys shown once, stored hashed, revocable."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kiosk_project.core.kiosk_auth import forget_cached_keys, kiosk_for_key
from kiosk_project.core.models import KioskDevice, hash_key

pytestmark = pytest.mark.django_db


def test_create_kiosk_prints_a_key_once_and_stores_only_its_hash():
    out = StringIO()
    call_command("create_kiosk", "front-1", "--modes", "takeaway", "--json", stdout=out)
    key = json.loads(out.getvalue())["key"]
    device = KioskDevice.objects.get(name="front-1")
    assert key not in (device.key_hash, device.key_prefix)
    assert device.key_hash == hash_key(key.split("_", 2)[2])
    kiosk = kiosk_for_key(key)
    assert kiosk is not None and kiosk.allowed_order_modes == ("takeaway",)


def test_create_kiosk_refuses_duplicates_and_rotates():
    out = StringIO()
    call_command("create_kiosk", "front-1", "--json", stdout=out)
    old = json.loads(out.getvalue())["key"]
    with pytest.raises(CommandError):
        call_command("create_kiosk", "front-1", stdout=StringIO())
    out = StringIO()
    call_command("create_kiosk", "front-1", "--rotate", "--json", stdout=out)
    new = json.loads(out.getvalue())["key"]
    forget_cached_keys()
    assert kiosk_for_key(old) is None
    assert kiosk_for_key(new) is not None


def test_unknown_modes_are_refused():
    with pytest.raises(CommandError):
        call_command("create_kiosk", "x", "--modes", "drive_through", stdout=StringIO())


@pytest.mark.parametrize("raw", ["", "kk_", "kk_abc", "nope_abc_def", "kk_" + "a" * 300])
def test_malformed_keys_are_unknown(raw):
    assert kiosk_for_key(raw) is None
