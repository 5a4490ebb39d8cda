"""The page itself: served at /kiosk/ with nothing from elsewhere, and under gunicorn with hashed, cached assets."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from testing.realworker import suite_database_url

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "kiosk_screen" / "static" / "kiosk"


def test_the_page_names_only_its_own_assets(client, settings):
    settings.KIOSK_SCREEN_IDLE_SECONDS = 75
    page = client.get("/kiosk/")
    assert page.status_code == 200 and page["Cache-Control"] == "no-cache"
    html = page.content.decode()
    assert "https://" not in html and "http://" not in html and "//cdn" not in html
    assert 'src="/static/kiosk/app.js"' in html and 'href="/static/kiosk/kiosk.css"' in html
    config = json.loads(re.search(r'<script id="kiosk-config" type="application/json">(.*?)</script>', html)[1])
    assert config["idle_seconds"] == 75 and config["poll_seconds"] == 3.0 and config["api"] == "/api/v1"
    csp = page["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert client.get("/kiosk").status_code == 301  # the slash is added


def test_every_module_import_resolves_and_no_text_is_hard_coded_outside_the_strings():
    for module in MODULES.rglob("*.js"):
        source = module.read_text()
        for target in re.findall(r'from\s+"(\./[^"]+)"', source) + re.findall(r'import\("(\./[^"]+)"\)', source):
            assert (module.parent / target).is_file(), f"{module.name} imports missing {target}"
        assert ".innerHTML" not in source, f"{module.name}: build elements with dom.h, never innerHTML"
    strings = (MODULES / "strings.en.js").read_text()
    for key in set(re.findall(r'\bt\("([a-z_]+)"', "".join(m.read_text() for m in MODULES.glob("*.js")))):
        assert re.search(rf"^\s+{key}(_one)?:", strings, re.M), f"t({key!r}) has no text in strings.en.js"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the suite's PostgreSQL and Redis, as production
def test_gunicorn_serves_the_screen_with_hashed_cached_modules(tmp_path):
    """What make run and the Docker image do: collectstatic, then gunicorn (WhiteNoise serves the files)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kiosk_project.settings.local",
           "DATABASE_URL": suite_database_url(), "STATIC_ROOT": str(tmp_path / "static"),
           "REDIS_URL": os.environ["REDIS_URL"], "CELERY_BROKER_URL": "", "DEBUG": "false", "LOG_LEVEL": "WARNING",
           "GUNICORN_CONTROL_SOCKET": str(tmp_path / "gunicorn.ctl")}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=120)
    port = _free_port()
    with open(tmp_path / "gunicorn.log", "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "kiosk_project.wsgi", "-b", f"127.0.0.1:{port}",
                                   "--workers", "1"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
                try:
                    page = requests.get(f"{base}/kiosk/", timeout=15)
                    break
                except (requests.ConnectionError, requests.Timeout):
                    assert time.monotonic() < deadline, "gunicorn did not start"
                    time.sleep(0.2)
            assert page.status_code == 200, page.text[:500]
            import_map = re.search(r'<script type="importmap">(.*?)</script>', page.text, re.S)[1]
            digest = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in page.headers["Content-Security-Policy"]
            mapped = json.loads(import_map)["imports"]
            names = {p.relative_to(MODULES).as_posix() for p in MODULES.rglob("*.js")}
            assert {plain.removeprefix("/static/kiosk/") for plain in mapped} == names  # every module, hashed
            entry = re.search(r'<script type="module" src="(/static/kiosk/app\.[0-9a-f]{12}\.js)"', page.text)
            css = re.search(r'href="(/static/kiosk/kiosk\.[0-9a-f]{12}\.css)"', page.text)
            assert entry and css, page.text[:800]
            for path in (entry[1], css[1], *mapped.values()):
                resp = requests.get(base + path, headers={"Accept-Encoding": "gzip"}, timeout=5)
                assert resp.status_code == 200, path
                assert "max-age=315360000" in resp.headers["Cache-Control"], path  # hashed: cached for good
            assert requests.get(base + entry[1], timeout=5).headers["Content-Type"].startswith("text/javascript")
        finally:
            server.terminate()
            server.wait(timeout=15)
