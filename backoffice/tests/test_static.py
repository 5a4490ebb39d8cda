"""The back office looks right wherever it runs: gunicorn serves the collected static files (WhiteNoise)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from kiosk_project.core.money_format import amount, group_indian, rupees
from testing.realworker import suite_database_url

ROOT = Path(__file__).resolve().parents[2]


def test_rupees_use_indian_digit_grouping():
    assert group_indian(123) == "123" and group_indian(1234) == "1,234" and group_indian(123456) == "1,23,456"
    assert group_indian(12345678) == "1,23,45,678"
    assert rupees("123456.5") == "₹1,23,456.50" and rupees(-20) == "-₹20.00" and rupees(None) == ""
    assert amount("324.5") == "324.50" and amount("0.005") == "0.01"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the suite's PostgreSQL and Redis, as production
def test_gunicorn_serves_the_admin_styles_compressed_and_cached(tmp_path):
    """What `make run` and docker compose do: collectstatic, then gunicorn; /static/ must not be a 404."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kiosk_project.settings.local",
           "DATABASE_URL": suite_database_url(), "STATIC_ROOT": str(tmp_path / "static"),
           "REDIS_URL": os.environ["REDIS_URL"], "CELERY_BROKER_URL": "", "DEBUG": "false", "LOG_LEVEL": "WARNING"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=120)
    port = _free_port()
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "kiosk_project.wsgi", "-b", f"127.0.0.1:{port}",
                               "--workers", "1"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                page = requests.get(f"{base}/admin/login/", timeout=15)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        assert page.status_code == 200
        css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text)
        ours = re.search(r'href="(/static/backoffice/backoffice\.[0-9a-f]{12}\.css)"', page.text)
        assert css and ours, page.text[:800]
        for path in (css[1], ours[1]):
            resp = requests.get(base + path, headers={"Accept-Encoding": "gzip"}, timeout=5)
            assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/css")
            assert resp.headers.get("Content-Encoding") in ("gzip", "br")
            assert "max-age=315360000" in resp.headers["Cache-Control"]  # hashed names: cached for good
        assert "cdn" not in page.text.lower() and "https://" not in page.text
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()
