"""Keep the deployment files honest: no engine runs here, so check what can be checked."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]


def settings_env_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "kiosk_project" / "settings").glob("*.py"):
        names |= set(re.findall(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""", path.read_text()))
    return names


def test_every_setting_is_documented_in_env_example():
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    missing = settings_env_names() - documented
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_brief_configuration_names_are_all_used():
    brief = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS", "PUBLIC_BASE_URL",
             "KIOSK_BRANCH_CODE", "KIOSK_DEFAULT_CHANNEL", "TIME_ZONE", "RISTA_BASE_URL", "RISTA_API_KEY",
             "RISTA_SECRET_KEY", "RISTA_WEBHOOK_SECRET", "PHONEPE_API", "PHONEPE_BASE_URL", "PHONEPE_OAUTH_URL",
             "PHONEPE_CLIENT_ID", "PHONEPE_CLIENT_SECRET", "PHONEPE_CLIENT_VERSION", "PHONEPE_WEBHOOK_USERNAME",
             "PHONEPE_WEBHOOK_PASSWORD", "PHONEPE_MERCHANT_ID", "PHONEPE_SALT_KEY", "PHONEPE_SALT_INDEX"}
    assert brief <= settings_env_names()


def test_compose_file_wires_the_whole_stack():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "rista-sandbox", "phonepe-sandbox"} <= set(services)
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A kiosk_project worker")
    assert services["beat"]["command"].startswith("celery -A kiosk_project beat")
    env = services["web"]["environment"]
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS"):
        assert env[name], name
    assert env["DJANGO_SETTINGS_MODULE"] == "kiosk_project.settings.production"
    assert services["worker"]["environment"] == env  # one set of variables for every app container


def test_production_settings_refuse_to_start_without_secrets():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
         "'kiosk_project.settings.production'; django.setup()"],
        capture_output=True, text=True, cwd=ROOT, env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "DATABASE_URL" in result.stderr


def test_celery_beat_keeps_its_schedule_file_out_of_the_checkout(tmp_path):
    """`celery beat` started in the project directory leaves nothing untracked beside manage.py."""
    import os
    import subprocess
    import sys
    import time

    from django.conf import settings

    schedule = tmp_path / "state" / "beat-schedule"  # a directory that does not exist yet
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kiosk_project.settings.test",
           "CELERY_BEAT_SCHEDULE_FILENAME": str(schedule), "PYTHONUNBUFFERED": "1"}
    before = set(ROOT.glob("celerybeat-schedule*"))
    log = tmp_path / "beat.log"
    with open(log, "wb") as out:
        beat = subprocess.Popen([sys.executable, "-m", "celery", "-A", "kiosk_project", "beat", "-l", "INFO"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while not list(schedule.parent.glob("beat-schedule*")):
                assert beat.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        finally:
            beat.terminate()
            beat.wait(timeout=15)
    assert set(ROOT.glob("celerybeat-schedule*")) == before
    assert settings.CELERY_BEAT_SCHEDULE_FILENAME.endswith("/.run/celerybeat-schedule")
