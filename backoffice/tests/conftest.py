"""Back office fixtures: a person in each role, and orders in every state (backoffice.tests.scenes)."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from backoffice.tests.scenes import Scenes
from payments.gateway import reset_gateway

PASSWORD = "a-long-test-password-1"


def ensure_roles() -> None:
    """The roles exactly as the data migration makes them; a transactional test before this one may have
    flushed the tables the migration filled."""
    if Group.objects.filter(name__in=["Shift manager", "Branch manager", "Accountant", "Chain owner"]).count() < 4:
        from django.apps import apps

        importlib.import_module("backoffice.migrations.0002_roles").create_roles(apps, None)
        importlib.import_module("backoffice.migrations.0003_chain_owner_role").set_roles(apps, None)


def make_user(username: str, *, role: str | None = None, perms: tuple[str, ...] = (), **fields) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True, **fields)
    if role:
        ensure_roles()
        user.groups.add(Group.objects.get(name=role))
    for code in perms:
        app_label, codename = code.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def shift(db) -> User:
    return make_user("shiva", role="Shift manager")


@pytest.fixture
def branch_manager(db) -> User:
    return make_user("bina", role="Branch manager")


@pytest.fixture
def chain_owner(db) -> User:
    return make_user("charu", role="Chain owner")


@pytest.fixture
def accountant(db) -> User:
    return make_user("anand", role="Accountant")


@pytest.fixture
def viewer(db) -> User:
    """Staff with every view permission and nothing else (the issue's "view-only user")."""
    views = Permission.objects.filter(codename__startswith="view_").exclude(codename="view_reports")
    user = make_user("vera")
    user.user_permissions.set(views)
    return user


@pytest.fixture
def scenes(kiosk_client, menu, phonepe, rista, settings) -> Scenes:
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"  # v1 callbacks go nowhere; tests ask the status API
    reset_gateway()
    yield Scenes(kiosk_client=kiosk_client, phonepe=phonepe, rista=rista)
    reset_gateway()
