"""Logins: wrong passwords are throttled and locked out; a locked-out user is told what to do."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from backoffice.security import client_ip
from backoffice.tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(reverse("admin:login"), {"username": username, "password": password,
                                                "next": reverse("admin:index")}, REMOTE_ADDR=ip)


def test_repeated_wrong_passwords_lock_the_account_out(settings):
    make_user("shiva", role="Shift manager")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "shiva", "wrong").status_code == 200  # the form again, with its error
    locked = login(client, "shiva", "wrong")
    assert locked.status_code == 429 and "Too many login attempts" in locked.content.decode()
    # Even the right password is refused while locked out...
    assert login(client, "shiva", PASSWORD).status_code == 429
    # ...from that address; the same person elsewhere is not locked out by someone guessing here.
    assert login(Client(), "shiva", PASSWORD, ip="10.0.0.2").status_code == 302


def test_one_address_trying_many_usernames_is_throttled(settings):
    settings.BACKOFFICE_LOGIN_RATE_PER_MINUTE = 5
    client = Client()
    statuses = [login(client, f"user{i}", "guess", ip="10.9.9.9").status_code for i in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]


def test_the_client_address_honours_only_the_configured_proxies(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.TRUSTED_PROXY_HOPS = 0
    assert client_ip(request) == "10.0.0.5"
    settings.TRUSTED_PROXY_HOPS = 1
    assert client_ip(request) == "203.0.113.7"  # not the 6.6.6.6 the client wrote itself


def test_each_role_has_exactly_its_permissions():
    from django.contrib.auth.models import Group

    from backoffice.tests.conftest import ensure_roles

    ensure_roles()
    perms = {g.name: {f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all()}
             for g in Group.objects.prefetch_related("permissions__content_type")}
    assert "payments.refund_payment" in perms["Branch manager"]
    assert "payments.refund_payment" not in perms["Shift manager"] | perms["Accountant"]
    assert "orders.print_order" in perms["Shift manager"] and "orders.print_order" not in perms["Accountant"]
    assert "orders.view_reports" in perms["Accountant"] and "orders.view_reports" not in perms["Shift manager"]
    assert not any(p.split(".")[1].startswith(("change_", "delete_")) for p in perms["Accountant"])
