"""Keep the deployment files honest: no engine runs here, so check what can be checked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
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
    workers = {"worker-payments", "worker-kitchen", "worker-menu"}
    assert {"web", *workers, "beat", "postgres", "redis", "rabbitmq", "rista-sandbox",
            "phonepe-sandbox"} <= set(services)
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert services["rabbitmq"]["image"].startswith("rabbitmq:3")
    assert "gunicorn" in services["web"]["command"]
    assert services["beat"]["command"].startswith("celery -A kiosk_project beat")
    env = services["web"]["environment"]
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS"):
        assert env[name], name
    assert env["DJANGO_SETTINGS_MODULE"] == "kiosk_project.settings.production"
    assert compose_app_env()["CELERY_BROKER_URL"].startswith("amqp://")  # production's broker: RabbitMQ
    assert "rabbitmq" in services["web"]["depends_on"]
    # A worker per queue, each alive-checked and restarted; together they consume every queue there is.
    from django.conf import settings

    consumed = []
    for name in sorted(workers):
        command = services[name]["command"].split()
        assert command[:4] == ["celery", "-A", "kiosk_project", "worker"], name
        consumed += command[command.index("-Q") + 1].split(",")
        assert services[name]["environment"] == env  # one set of variables for every app container
        assert services[name]["restart"] == "unless-stopped", name
        assert "worker_alive" in services[name]["healthcheck"]["test"], name
    assert sorted(consumed) == sorted(q.name for q in settings.CELERY_TASK_QUEUES)


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


# -- production refuses public test credentials and the unused PhonePe family's secrets ----------------

GOOD_V2 = {
    "SECRET_KEY": "a-real-secret-0b4f9c2e7d1a", "ALLOWED_HOSTS": "kiosk.example.com",
    "DATABASE_URL": "postgres://kiosk@db/kiosk", "REDIS_URL": "redis://cache:6379/0",
    "CELERY_BROKER_URL": "amqp://kiosk:secret@broker:5672//",
    "PUBLIC_BASE_URL": "https://kiosk.example.com", "RISTA_BASE_URL": "https://api.ristaapps.com/v1",
    "RISTA_API_KEY": "rk-live", "RISTA_SECRET_KEY": "rs-live", "RISTA_WEBHOOK_SECRET": "rw-live",
    "KDS_WEBHOOK_SECRET": "kds-live", "PHONEPE_API": "v2", "PHONEPE_BASE_URL": "https://api.phonepe.com/apis/pg",
    "PHONEPE_OAUTH_URL": "https://api.phonepe.com/apis/identity-manager", "PHONEPE_CLIENT_ID": "M22LIVE",
    "PHONEPE_CLIENT_SECRET": "live-secret", "PHONEPE_CLIENT_VERSION": "1", "PHONEPE_WEBHOOK_USERNAME": "hook",
    "PHONEPE_WEBHOOK_PASSWORD": "hook-pass",
}
_V2_ONLY = ("PHONEPE_OAUTH_URL", "PHONEPE_CLIENT_ID", "PHONEPE_CLIENT_SECRET", "PHONEPE_CLIENT_VERSION",
            "PHONEPE_WEBHOOK_USERNAME", "PHONEPE_WEBHOOK_PASSWORD")
GOOD_V1 = {**{k: v for k, v in GOOD_V2.items() if k not in _V2_ONLY}, "PHONEPE_API": "v1",
           "PHONEPE_BASE_URL": "https://api.phonepe.com/apis/hermes", "PHONEPE_V1_PATH_PREFIX": "",
           "PHONEPE_MERCHANT_ID": "M1LIVEMERCHANT", "PHONEPE_SALT_KEY": "live-salt-1234", "PHONEPE_SALT_INDEX": "2"}


def problems(env: dict[str, str]) -> str:
    from kiosk_project.core.deploy_checks import production_problems

    return "\n".join(production_problems(env))


def test_a_real_configuration_of_either_family_passes():
    assert problems(GOOD_V2) == ""
    assert problems(GOOD_V1) == ""
    # v1's other spelling: the host as base URL, the production prefix.
    assert problems({**GOOD_V1, "PHONEPE_BASE_URL": "https://api.phonepe.com", "PHONEPE_V1_PATH_PREFIX": "/apis/hermes"}
                    ) == ""


@pytest.mark.parametrize(("env", "shown"), [
    # The v1 trap: the production host with settings' default (UAT) prefix still appended.
    ({k: v for k, v in GOOD_V1.items() if k != "PHONEPE_V1_PATH_PREFIX"},
     "https://api.phonepe.com/apis/hermes/apis/pg-sandbox"),
    ({**GOOD_V1, "PHONEPE_BASE_URL": "https://api-preprod.phonepe.com/apis/pg-sandbox"}, "api-preprod"),
    ({**GOOD_V1, "PHONEPE_BASE_URL": "https://api-preprod.phonepe.com/apis/merchant-simulator"}, "simulator"),
    ({**GOOD_V2, "PHONEPE_BASE_URL": "https://api-preprod.phonepe.com/apis/pg-sandbox"}, "PHONEPE_BASE_URL"),
    ({**GOOD_V2, "PHONEPE_OAUTH_URL": "https://api-preprod.phonepe.com/apis/pg-sandbox"}, "PHONEPE_OAUTH_URL"),
    ({**GOOD_V2, "PHONEPE_BASE_URL": "http://127.0.0.1:8082"}, "127.0.0.1"),
    ({**GOOD_V2, "PHONEPE_BASE_URL": "http://api.phonepe.com/apis/pg"}, "http://api.phonepe.com"),
])
def test_sandbox_and_uat_phonepe_urls_are_refused(env, shown):
    found = problems(env)
    assert "PhonePe URLs are not production" in found and shown in found
    assert problems({**env, "ALLOW_SANDBOX_CREDENTIALS": "true"}) == ""  # docker compose with the sandboxes


@pytest.mark.parametrize("env, named", [
    ({**GOOD_V1, "PHONEPE_SALT_KEY": "099eb0cd-02cf-4e2a-8aca-3e6c6aff0399"}, "PHONEPE_SALT_KEY"),
    ({**GOOD_V1, "PHONEPE_MERCHANT_ID": "PGTESTPAYUAT"}, "PHONEPE_MERCHANT_ID"),
    ({**GOOD_V1, "PHONEPE_MERCHANT_ID": "PGTESTPAYUAT86"}, "PHONEPE_MERCHANT_ID"),
    ({**GOOD_V2, "PHONEPE_CLIENT_ID": "SANDBOXCLIENT"}, "PHONEPE_CLIENT_ID"),
    ({**GOOD_V2, "PHONEPE_WEBHOOK_PASSWORD": "sandbox-webhook-pass"}, "PHONEPE_WEBHOOK_PASSWORD"),
    ({**GOOD_V2, "RISTA_WEBHOOK_SECRET": "sandbox-webhook-secret"}, "RISTA_WEBHOOK_SECRET"),
    ({**GOOD_V2, "SECRET_KEY": "change-me-in-production-please-0123456789"}, "SECRET_KEY"),
])
def test_public_test_credentials_are_refused(env, named):
    found = problems(env)
    assert "public test or sandbox credentials" in found and named in found


@pytest.mark.parametrize("env, named", [
    ({**GOOD_V2, "PHONEPE_SALT_KEY": "live-salt-1234"}, "PHONEPE_SALT_KEY"),
    ({**GOOD_V1, "PHONEPE_CLIENT_ID": "M22LIVE"}, "PHONEPE_CLIENT_ID"),
    ({**GOOD_V1, "PHONEPE_CLIENT_SECRET": "live-secret"}, "PHONEPE_CLIENT_SECRET"),
    ({**GOOD_V1, "PHONEPE_WEBHOOK_PASSWORD": "hook-pass"}, "PHONEPE_WEBHOOK_PASSWORD"),
])
def test_the_other_familys_secrets_are_refused_even_for_the_sandboxes(env, named):
    for allow in ("false", "true"):
        found = problems({**env, "ALLOW_SANDBOX_CREDENTIALS": allow})
        assert "does not use" in found and named in found


def test_every_sandbox_default_in_the_repository_is_refused():
    """base.py's defaults and the sandboxes' own: none may slip into production unnoticed."""
    from kiosk_project.core.deploy_checks import PUBLIC_TEST_VALUES, _is_public
    from sandbox.phonepe.config import DEFAULT_SALT_KEY, SandboxConfig

    base = (ROOT / "kiosk_project" / "settings" / "base.py").read_text()
    defaults = dict(re.findall(r"""env\(\s*["']([A-Z_]+)["'],\s*default=["']([^"']+)["']""", base))
    for name in PUBLIC_TEST_VALUES:
        if name in defaults:
            assert _is_public(name, defaults[name]), name
    sandbox = SandboxConfig()
    for name, value in {"PHONEPE_SALT_KEY": DEFAULT_SALT_KEY, "PHONEPE_CLIENT_ID": sandbox.client_id,
                        "PHONEPE_CLIENT_SECRET": sandbox.client_secret, "PHONEPE_MERCHANT_ID": sandbox.merchant_id,
                        "PHONEPE_WEBHOOK_USERNAME": sandbox.webhook_username,
                        "PHONEPE_WEBHOOK_PASSWORD": sandbox.webhook_password}.items():
        assert _is_public(name, value), name


def compose_app_env() -> dict[str, str]:
    """The web/worker environment `docker compose up` gives with nothing exported."""
    env = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]["environment"]
    resolved = {}
    for name, value in env.items():
        match = re.fullmatch(r"\$\{(\w+):?-(.*)\}", str(value))
        resolved[name] = match.group(2) if match else str(value)
    return resolved


def test_docker_compose_runs_production_settings_against_the_sandboxes():
    env = compose_app_env()
    assert env["ALLOW_SANDBOX_CREDENTIALS"] == "true"
    assert problems(env) == ""
    assert "public test or sandbox credentials" in problems({**env, "ALLOW_SANDBOX_CREDENTIALS": "false"})


def _start_production(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
         f"'kiosk_project.settings.production'; django.setup(); {code}"],
        capture_output=True, text=True, cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env}, timeout=60)


def test_production_starts_and_blanks_the_unused_familys_defaults():
    """v2 with PHONEPE_SALT_KEY unset used to fall back to PhonePe's public UAT salt."""
    result = _start_production(GOOD_V2, "from django.conf import settings; "
                                        "print(repr(settings.PHONEPE_SALT_KEY), settings.PHONEPE_CLIENT_ID)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["''", "M22LIVE"]
    result = _start_production(GOOD_V1, "from django.conf import settings; "
                                        "print(repr(settings.PHONEPE_WEBHOOK_PASSWORD), settings.PHONEPE_SALT_INDEX)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["''", "2"]


def test_production_refuses_phonepes_public_uat_salt():
    result = _start_production({**GOOD_V1, "PHONEPE_SALT_KEY": "099eb0cd-02cf-4e2a-8aca-3e6c6aff0399"}, "")
    assert result.returncode != 0
    assert "PHONEPE_SALT_KEY" in result.stderr and "public test" in result.stderr
