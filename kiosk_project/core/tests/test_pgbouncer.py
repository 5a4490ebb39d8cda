"""Our database settings behind a real PgBouncer in transaction pooling mode (docs/deploy.md, "PostgreSQL").

PgBouncer (Debian's `pgbouncer`, installed with apt when missing, as root) runs in front of the suite's
PostgreSQL with a server pool smaller than its clients, so consecutive transactions of one client land on
different server connections.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from kiosk_project.core.tests.servers import _testservices, free_port

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pgbouncer() -> Iterator[str]:
    ts = _testservices()
    binary = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
    if binary is None:
        ts.apt_install("pgbouncer")
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    s = connection.settings_dict
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-pgbouncer-"))
    port = free_port()
    (tmp / "users.txt").write_text(f'"{s["USER"]}" "{s["PASSWORD"] or ""}"\n')
    (tmp / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={s['HOST']} port={s['PORT']}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {tmp / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 50\n"
        f"logfile = {tmp / 'pgbouncer.log'}\npidfile = {tmp / 'pgbouncer.pid'}\n")
    prefix: list[str] = []
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        user = "postgres" if ts._user_exists("postgres") else "nobody"
        for path in (tmp, *tmp.iterdir()):
            shutil.chown(path, user)
        prefix = ["runuser", "-u", user, "--"]
    proc = subprocess.Popen([*prefix, binary, str(tmp / "pgbouncer.ini")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        ts.wait_port(port, proc, "pgbouncer")
        yield f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@127.0.0.1:{port}/{s['NAME']}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


PROBE = """
import json, django
django.setup()
from django.db import connection, transaction
from orders.models import Order
ids = [str(pk) for pk in Order.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=1)]
for _ in range(5):  # each its own transaction, on whichever server connection PgBouncer lends
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=ids[0])
        Order.objects.filter(pk=order.pk).update(status_reason="through pgbouncer")
with connection.cursor() as cursor:
    cursor.execute("SHOW statement_timeout")
    timeout = cursor.fetchone()[0]
print(json.dumps({"ids": ids, "statement_timeout": timeout,
                  "server_side_cursors_off": connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"]}))
"""


def probe(url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "kiosk_project.settings.test",
                               "DATABASE_URL": url, **env})


@pytest.fixture
def database_statement_timeout() -> Iterator[None]:
    """What docs/deploy.md asks of the role, set here on the test database (the role is the suite's)."""
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{name}" SET statement_timeout = \'5s\'')
    yield
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{name}" RESET statement_timeout')


def test_without_the_setting_pgbouncer_refuses_our_connections(pgbouncer, place_order):
    place_order()
    result = probe(pgbouncer, DB_PGBOUNCER="false")
    assert result.returncode != 0
    assert "unsupported startup parameter: options" in result.stderr


def test_with_db_pgbouncer_the_orm_works_through_transaction_pooling(pgbouncer, place_order,
                                                                    database_statement_timeout):
    ids = sorted(place_order()["order_id"] for _ in range(3))
    result = probe(pgbouncer, DB_PGBOUNCER="true")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert sorted(out["ids"]) == ids
    assert out["server_side_cursors_off"] is True
    assert out["statement_timeout"] == "5s"  # the database's (the role's, in production) setting still holds
    from orders.models import Order

    assert Order.objects.filter(status_reason="through pgbouncer").count() == 1
