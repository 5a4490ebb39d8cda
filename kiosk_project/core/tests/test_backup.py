"""scripts/backup.py on the suite's real PostgreSQL: a dump restores into a new database with the orders in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from kds_bridge.tests.conftest import confirm

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db(transaction=True)


def db_url(name: str | None = None) -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST']}:{s['PORT']}/{name or s['NAME']}"


def backup(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "backup.py"), *args], capture_output=True,
                            text=True, timeout=180, env={**os.environ, "DATABASE_URL": db_url()})
    assert result.returncode == expect, result.stderr
    return result


@pytest.fixture
def empty_database():
    name = f"kiosk_restore_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url("postgres").replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield db_url(name)
    with psycopg.connect(db_url("postgres").replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_dump_restores_into_an_empty_database_with_the_orders(place_order, empty_database, tmp_path):
    paid = place_order()["order_id"]
    confirm(paid)
    unpaid = place_order()["order_id"]

    out = json.loads(backup("dump", "--dir", str(tmp_path)).stdout)
    dump = Path(out["dump"])
    assert dump.parent == tmp_path and dump.name.startswith("kiosk-") and out["bytes"] > 0
    assert not list(tmp_path.glob(".*partial"))

    restored = json.loads(backup("restore", str(dump), "--target", empty_database).stdout)
    assert restored["counts"]["orders_order"] == 2
    assert restored["counts"]["kds_bridge_kitchendelivery"] == 1
    with psycopg.connect(empty_database.replace("postgres://", "postgresql://")) as conn:
        rows = dict(conn.execute("SELECT id::text, status FROM orders_order").fetchall())
    assert rows == {paid: "CONFIRMED", unpaid: "PENDING"}

    # Restoring again over the restored copy is refused, unless asked for.
    refused = backup("restore", str(dump), "--target", empty_database, expect=1)
    assert "already has the kiosk's tables" in refused.stderr
    backup("restore", str(dump), "--target", empty_database, "--force")


def test_verify_restores_into_a_scratch_database_and_drops_it(place_order, tmp_path):
    confirm(place_order()["order_id"])
    out = backup("dump", "--dir", str(tmp_path), "--verify").stdout.splitlines()
    verified = json.loads(out[-1])
    assert verified["counts"]["orders_order"] == 1 and verified["counts"]["django_migrations"] > 0
    with psycopg.connect(db_url("postgres").replace("postgres://", "postgresql://")) as conn:
        left = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'kiosk_restore_check_%'").fetchone()
    assert left == (0,)


def test_a_file_that_is_not_a_backup_fails_verification(tmp_path):
    bogus = tmp_path / "kiosk-bogus.dump"
    bogus.write_bytes(b"not a dump")
    assert backup("verify", str(bogus), expect=1).returncode == 1


def test_old_dumps_beyond_keep_are_deleted(tmp_path):
    for stamp in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        (tmp_path / f"kiosk-{stamp}.dump").write_bytes(b"old")
    backup("dump", "--dir", str(tmp_path), "--keep", "2")
    names = sorted(p.name for p in tmp_path.glob("kiosk-*.dump"))
    assert len(names) == 2 and names[0] == "kiosk-20260103T000000Z.dump"  # the newest old one and the new one
