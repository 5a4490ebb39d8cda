"""Every error code an answer can carry is in the one catalogue (core.error_codes), with one HTTP status."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk_project.core.error_codes import CATALOGUE
from kiosk_project.core.errors import ApplicationError, Conflict, NotFound

ROOT = Path(__file__).resolve().parents[3]
APPS = ("kiosk_project", "catalog", "orders", "payments", "kds_bridge", "backoffice", "kiosk_screen")
# A code given to an ApplicationError (or to the handler's envelope), not a provider's or a row's error_code.
_LITERAL = re.compile(r'(?<![_a-z])(?:code=|envelope\(|^\s+\d{3}: )"([A-Z][A-Z_]+)"', re.M)


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


def test_every_literal_code_in_the_apps_is_catalogued() -> None:
    used = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts or "gateway" in path.parts:
                continue  # payments/gateway's code= are PhonePe's own codes, carried in details
            for code in _LITERAL.findall(path.read_text()):
                used.setdefault(code, str(path.relative_to(ROOT)))
    assert used, "the scan found no codes: the pattern is broken"
    missing = {code: where for code, where in used.items() if code not in CATALOGUE}
    assert not missing, f"add to kiosk_project/core/error_codes.py: {missing}"


def test_every_error_class_takes_status_and_message_from_the_catalogue() -> None:
    import kiosk_project.urls  # noqa: F401  (imports every app's APIs, services and their errors)

    classes = _subclasses(ApplicationError)
    assert len(classes) > 20
    for cls in classes:
        assert cls.code in CATALOGUE, cls
        assert cls.status_code == CATALOGUE[cls.code].status, cls


def test_a_code_outside_the_catalogue_fails_at_import_and_a_status_cannot_be_changed() -> None:
    with pytest.raises(KeyError, match="NOT_A_CODE"):
        type("Bad", (ApplicationError,), {"code": "NOT_A_CODE"})
    with pytest.raises(TypeError, match="HTTP 404"):
        type("Bad", (NotFound,), {"code": "NOT_FOUND", "status_code": 400})


def test_a_raise_naming_another_code_takes_that_codes_status() -> None:
    error = Conflict("Unknown channel.", code="CHANNEL_NOT_FOUND")
    assert (error.status_code, error.code) == (404, "CHANNEL_NOT_FOUND")
    assert Conflict().status_code == 409 and Conflict().message == CATALOGUE["CONFLICT"].message
