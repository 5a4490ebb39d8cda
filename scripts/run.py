"""`make run`: the backend and its sandboxes, on one machine, from one command.

Embedded defaults when DATABASE_URL / REDIS_URL / CELERY_BROKER_URL are unset
(SQLite, local-memory cache, Celery tasks run in-process after commit, and a
small in-process scheduler for the periodic jobs). When they are set, the same
command uses them and also starts a Celery worker and beat. Ctrl-C stops
everything this script started.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
WEB_PORT = int(os.environ.get("KIOSK_PORT", "8000"))
RISTA_PORT = int(os.environ.get("RISTA_SANDBOX_PORT", "8081"))
PHONEPE_PORT = int(os.environ.get("PHONEPE_SANDBOX_PORT", "8082"))


def banner(text: str) -> None:
    print(text, flush=True)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_http(url: str, timeout: float = 60) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # it answered
        except OSError:
            time.sleep(0.2)
    return False


def main() -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "kiosk_project.settings.local")
    dot_env = _read_dot_env(env)  # the same .env the settings read, so the embedded/external choice agrees
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{WEB_PORT}")
    env.setdefault("RISTA_BASE_URL", f"http://127.0.0.1:{RISTA_PORT}/v1")
    env.setdefault("PHONEPE_BASE_URL", f"http://127.0.0.1:{PHONEPE_PORT}")
    env.setdefault("PHONEPE_OAUTH_URL", f"http://127.0.0.1:{PHONEPE_PORT}")
    # Every process's clock in the branch's zone: the sandboxes log local time, like the backend (TIME_ZONE).
    env.setdefault("TZ", env.get("TIME_ZONE") or "Asia/Kolkata")
    if "KIOSK_DEFAULT_CHANNEL" not in env:
        env.setdefault("KIOSK_CHANNELS", "Takeaway,Dine In")  # the sandbox branch has both: dine-in uses its own
    embedded = not (env.get("REDIS_URL") or env.get("CELERY_BROKER_URL"))
    busy = [p for p in (WEB_PORT, RISTA_PORT, PHONEPE_PORT) if not port_free(p)]
    if busy:
        banner(f"Ports already in use: {busy}. Stop what uses them, or set KIOSK_PORT / RISTA_SANDBOX_PORT / "
               "PHONEPE_SANDBOX_PORT.")
        return 1

    manage = [PY, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True)
    # The admin's and back office's CSS and JS, served by WhiteNoise from gunicorn (no CDN, works offline).
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True)
    demo = _demo_kiosk(manage, env)
    kiosk_key = demo.get("key")

    procs: list[tuple[str, subprocess.Popen]] = []
    commands: dict[str, list[str]] = {}

    def start(name: str, args: list[str]) -> None:
        commands[name] = args
        procs.append((name, subprocess.Popen(args, env=env, cwd=ROOT)))

    start("rista-sandbox", [PY, "-m", "sandbox.rista", "--port", str(RISTA_PORT),
                            "--webhook-url", f"{env['PUBLIC_BASE_URL']}/api/v1/catalog/refresh"])
    if (ROOT / "sandbox" / "phonepe" / "__main__.py").exists():
        start("phonepe-sandbox", [PY, "-m", "sandbox.phonepe", "--port", str(PHONEPE_PORT)])
    # One web process in embedded mode: the local-memory cache is per process.
    workers = "1" if embedded else os.environ.get("WEB_CONCURRENCY", "2")
    start("web", [PY, "-m", "gunicorn", "kiosk_project.wsgi", "-b", f"127.0.0.1:{WEB_PORT}",
                  "--worker-class", "gthread", "--threads", "8", "--workers", workers,
                  "--reuse-port", "--access-logfile", "-", "--graceful-timeout", "5"])
    if embedded:
        if (ROOT / "kiosk_project" / "core" / "management" / "commands" / "run_periodic.py").exists():
            start("scheduler", [*manage, "run_periodic"])
    else:
        start("celery-worker", [PY, "-m", "celery", "-A", "kiosk_project", "worker", "-l", "INFO",
                                "--concurrency", "2", "--without-gossip", "--without-mingle"])
        start("celery-beat", [PY, "-m", "celery", "-A", "kiosk_project", "beat", "-l", "INFO",
                              "--schedule", str(ROOT / ".run" / "celerybeat-schedule")])
        (ROOT / ".run").mkdir(exist_ok=True)

    def stop(*_: object) -> None:
        for _name, proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for _name, proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        banner("Stopped everything make run started.")
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    base = f"http://127.0.0.1:{WEB_PORT}"
    if not wait_http(f"{base}/health", 90):
        banner("The API did not come up; see the log above.")
        stop()
    mode = "embedded (SQLite, local-memory cache, in-process tasks)" if embedded else "external services"
    renewed = {"created": " (new)", "re-issued": " (new: this database did not know the old one)"}
    banner(f"""
================================================================================
 Kiosk backend is running ({mode}){f"; settings from {dot_env}" if dot_env else ""}
   Kiosk screen   {base}/kiosk/#key={kiosk_key}
                  (opens already paired: order, then pay on the PhonePe page below)
   PhonePe sandbox http://127.0.0.1:{PHONEPE_PORT}/   (the customer's phone: press Pay)
   Rista kitchen  http://127.0.0.1:{RISTA_PORT}/   (the kitchen: Accept, then Ready)
   API            {base}/api/v1/catalog
   API docs       {base}/api/docs/
   Health         {base}/health
   Back office    {base}/admin/   (create a manager: .venv/bin/python manage.py createsuperuser;
                  roles Shift manager / Branch manager / Accountant are groups: README "For managers")
   Alert emails   printed here (console email backend)
 Demo kiosk key   {kiosk_key}{renewed.get(demo.get("state", ""), "")}
 Log times are {env.get("TIME_ZONE") or "Asia/Kolkata"} (TIME_ZONE).

 Try the menu:
   curl -s {base}/api/v1/catalog | head -c 300; echo
 Walk through an order: see README.md, "Try it by hand".
 Ctrl-C stops everything.
================================================================================""")
    worker = Supervised(manage, env) if not embedded else None
    while True:
        for i, (name, proc) in enumerate(procs):
            if name == "celery-worker" and worker is not None and worker.needs_restart(proc):
                # A dead or wedged worker is replaced; orders it held are re-sent by the kitchen sweeper.
                banner(f"{name}: {worker.reason}; restarting it.")
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait(timeout=5)
                procs[i] = (name, subprocess.Popen(commands[name], env=env, cwd=ROOT))
                worker.started()
            elif proc.poll() is not None:
                banner(f"{name} exited with code {proc.returncode}; stopping.")
                stop()
        time.sleep(1)


class Supervised:
    """When to replace the Celery worker: it exited, or `manage.py worker_alive` (its heartbeat) says it
    is dead, checked every CHECK_EVERY seconds once it has had STARTUP_GRACE seconds to connect."""

    CHECK_EVERY = 15.0
    STARTUP_GRACE = 60.0

    def __init__(self, manage: list[str], env: dict[str, str]) -> None:
        self.manage, self.env = manage, env
        self.reason = ""
        self.started()

    def started(self) -> None:
        self.started_at = self.checked_at = time.monotonic()

    def needs_restart(self, proc: subprocess.Popen) -> bool:
        if proc.poll() is not None:
            self.reason = f"exited with code {proc.returncode}"
            return True
        now = time.monotonic()
        if now - self.started_at < self.STARTUP_GRACE or now - self.checked_at < self.CHECK_EVERY:
            return False
        self.checked_at = now
        check = subprocess.run([*self.manage, "worker_alive"], env=self.env, cwd=ROOT, capture_output=True,
                               text=True, timeout=60)
        self.reason = (check.stderr or check.stdout).strip().splitlines()[-1] if check.returncode else ""
        return check.returncode != 0


def _demo_kiosk(manage: list[str], env: dict[str, str]) -> dict[str, str]:
    """The demo kiosk's key, kept in .run/demo-kiosk.json and checked against this database on every run
    (a key left by a run on another database is replaced, never printed): `manage.py demo_kiosk`."""
    out = subprocess.run([*manage, "demo_kiosk", "--state", str(ROOT / ".run" / "demo-kiosk.json")], env=env,
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _read_dot_env(env: dict[str, str]) -> Path | None:
    sys.path.insert(0, str(ROOT))
    from kiosk_project.settings.dotenv import dot_env_path, dot_env_values

    path = dot_env_path()
    if path is not None:
        for key, value in dot_env_values(path).items():
            env.setdefault(key, value)
    return path


if __name__ == "__main__":
    sys.exit(main())
