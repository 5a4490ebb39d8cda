"""A newcomer's first `make run`, smooth: the printed key always works, a .env file is read, rotating a key
keeps the kiosk as it was, the logs are in one time zone without a task dictionary every 3 s, and two
gunicorns on one host keep their own control sockets."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.core.management import call_command

from kiosk_project.core.kiosk_auth import forget_cached_keys, kiosk_for_key
from kiosk_project.core.models import KioskDevice
from testing.realworker import suite_database_url

ROOT = Path(__file__).resolve().parents[3]


def _demo(state: Path, capsys) -> dict:
    forget_cached_keys()
    call_command("demo_kiosk", "--state", str(state))
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.django_db
def test_the_demo_key_printed_always_works_with_this_database(tmp_path, capsys):
    state = tmp_path / "demo-kiosk.json"
    first = _demo(state, capsys)
    assert first["state"] == "created" and kiosk_for_key(first["key"]).name == "demo-kiosk"
    again = _demo(state, capsys)
    assert (again["state"], again["key"]) == ("kept", first["key"])  # reruns print the same key

    # make run switched databases: the key in .run/ belongs to a database that is not this one.
    state.write_text(json.dumps({"name": "demo-kiosk", "key": "kk_0badc0de_left-by-the-sqlite-run"}))
    device = KioskDevice.objects.get(name="demo-kiosk")
    device.allowed_order_modes, device.order_prefix = ["takeaway"], "D"
    device.save()
    fresh = _demo(state, capsys)
    assert fresh["state"] == "re-issued" and kiosk_for_key(fresh["key"]) is not None
    assert json.loads(state.read_text())["key"] == fresh["key"]
    device.refresh_from_db()
    assert (device.allowed_order_modes, device.order_prefix) == (["takeaway"], "D")  # kept as it was

    KioskDevice.objects.all().delete()  # a brand-new database
    assert _demo(state, capsys)["state"] == "created"


@pytest.mark.django_db
def test_rotate_keeps_the_kiosks_modes_and_prefix(capsys):
    call_command("create_kiosk", "till-2", "--modes", "dine_in", "--prefix", "T", "--json")
    old = json.loads(capsys.readouterr().out)
    call_command("create_kiosk", "till-2", "--rotate", "--json")
    new = json.loads(capsys.readouterr().out)
    assert new["key"] != old["key"] and (new["order_modes"], new["order_prefix"]) == (["dine_in"], "T")
    forget_cached_keys()
    assert kiosk_for_key(old["key"]) is None and kiosk_for_key(new["key"]).allowed_order_modes == ("dine_in",)
    call_command("create_kiosk", "till-2", "--rotate", "--prefix", "X", "--json")
    device = KioskDevice.objects.get(name="till-2")
    assert (device.allowed_order_modes, device.order_prefix) == (["dine_in"], "X")  # only what was given


def _settings_seen(env_file: Path, **env: str) -> dict:
    code = ("import json, django; django.setup(); from django.conf import settings as s; "
            "print(json.dumps({k: getattr(s, k) for k in ('KIOSK_BRANCH_CODE', 'KIOSK_DEFAULT_CHANNEL', "
            "'SECRET_KEY', 'ORDER_EXPIRY_SECONDS', 'DEBUG')} | {'file': str(s.DOT_ENV_FILE)}))")
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("KIOSK_", "ORDER_", "DJANGO_", "SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL",
                                  "CELERY_"))}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
                         env={**clean, "DJANGO_SETTINGS_MODULE": "kiosk_project.settings.local",
                              "DJANGO_ENV_FILE": str(env_file), **env})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_dot_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# my kiosk\nKIOSK_BRANCH_CODE=MYS01   # Mysuru\nKIOSK_DEFAULT_CHANNEL='Dine In'\n"
                        "SECRET_KEY=\nORDER_EXPIRY_SECONDS=600\nDEBUG=true  # for now\n")
    seen = _settings_seen(env_file, KIOSK_DEFAULT_CHANNEL="Takeaway")
    assert seen["file"] == str(env_file)
    assert (seen["KIOSK_BRANCH_CODE"], seen["ORDER_EXPIRY_SECONDS"], seen["DEBUG"]) == ("MYS01", 600, True)
    assert seen["KIOSK_DEFAULT_CHANNEL"] == "Takeaway"  # the real environment wins over the file
    assert seen["SECRET_KEY"] == "local-dev-only-not-a-secret"  # empty in the file: the default

    # The documented way to start: copy .env.example to .env. Every line of it must load.
    copy = tmp_path / "copy.env"
    copy.write_text((ROOT / ".env.example").read_text())
    seen = _settings_seen(copy)
    assert (seen["KIOSK_BRANCH_CODE"], seen["ORDER_EXPIRY_SECONDS"]) == ("BLR01", 900)


@pytest.mark.django_db
def test_the_in_process_scheduler_says_nothing_when_nothing_happened(rista, phonepe, caplog):
    caplog.set_level(logging.INFO)
    call_command("run_periodic", "--once")
    noisy = [r for r in caplog.records if r.name.startswith("celery") or "{'" in r.getMessage()]
    assert not noisy, [r.getMessage()[:120] for r in noisy]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [r.getMessage() for r in caplog.records]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn started the way make run starts it: from the project directory (so gunicorn.conf.py applies)."""

    def __init__(self, tmp: Path, name: str, zone: str) -> None:
        self.port = _free_port()
        self.log_path = tmp / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if k not in ("GUNICORN_CONTROL_SOCKET", "CELERY_BROKER_URL")}
        env.update({"DJANGO_SETTINGS_MODULE": "kiosk_project.settings.local", "DJANGO_ENV_FILE": "",
                    "DATABASE_URL": suite_database_url(), "LOG_FORMAT": "json", "LOG_LEVEL": "INFO",
                    "TIME_ZONE": zone, "TZ": "UTC"})
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "kiosk_project.wsgi", "-b", f"127.0.0.1:{self.port}",
                 "--workers", "1", "--access-logfile", "-"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        self.control = ROOT / ".run" / f"gunicorn-{self.proc.pid}.ctl"

    def wait(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, self.log_path.read_text()
            try:
                requests.get(self.url + "/kiosk/", timeout=10)
                return
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the gunicorns use the suite's (migrated) PostgreSQL and Redis
def test_gunicorn_logs_in_the_apps_time_zone_with_its_own_control_socket(tmp_path):
    first = Gunicorn(tmp_path, "first", "America/New_York")
    second = Gunicorn(tmp_path, "second", "America/New_York")
    try:
        first.wait()
        second.wait()
        assert requests.get(first.url + "/api/v1/orders/none/status", timeout=10).status_code == 401  # an app line
        # Two instances on one host: each its own control socket, and stopping one leaves the other's.
        assert first.control.exists() and second.control.exists() and first.control != second.control
        first.stop()
        assert not first.control.exists() and second.control.exists()
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(second.control))
    finally:
        first.stop()
        second.stop()
    lines = [line for line in first.log_path.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line (gunicorn's own too) is one of ours
    loggers = {entry["logger"] for entry in entries}
    assert {"gunicorn.error", "gunicorn.access"} <= loggers and len(loggers) >= 3, loggers
    offsets = {entry["ts"][-6:] for entry in entries}
    assert offsets <= {"-05:00", "-04:00"}, offsets  # New York's, though the processes' own clock says UTC
