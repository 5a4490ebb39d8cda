"""Run a command with real PostgreSQL and Redis available.

    python scripts/testservices.py -- pytest -q

DATABASE_URL / REDIS_URL already set: the command runs against them.
Otherwise a throwaway server is started from the installed binaries on a free
port (data in a temp dir, deleted afterwards). On a Debian machine without the
binaries, running as root, the `postgresql` / `redis-server` packages are
installed first; elsewhere we say exactly what to install.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def say(msg: str) -> None:
    print(f"[testservices] {msg}", file=sys.stderr, flush=True)


def apt_install(package: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(f"[testservices] {package} is not installed. Install it (Debian/Ubuntu: "
                 f"`sudo apt-get install {package}`; macOS: `brew install {package.split('-')[0]}`), "
                 "or set DATABASE_URL/REDIS_URL to running servers.")
    say(f"installing {package} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    # policy-rc.d keeps Debian's maintainer scripts from starting a system-wide service
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", package], check=True, env=env)


def pg_bindir() -> str | None:
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and os.path.exists(os.path.join(out, "initdb")):
            return out
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if candidates:
        return candidates[-1]
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def wait_port(port: int, proc: subprocess.Popen, name: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"[testservices] {name} exited early with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    sys.exit(f"[testservices] {name} did not start within {timeout}s")


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    bindir = pg_bindir()
    if bindir is None:
        apt_install("postgresql")
        bindir = pg_bindir()
        if bindir is None:
            sys.exit("[testservices] postgresql installed but initdb not found")
    tmp = tempfile.mkdtemp(prefix="kiosk-pg-")
    data, sock = os.path.join(tmp, "data"), os.path.join(tmp, "sock")
    os.makedirs(sock)
    prefix: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = "postgres" if _user_exists("postgres") else "nobody"
        shutil.chown(tmp, user)
        shutil.chown(sock, user)
        prefix = ["runuser", "-u", user, "--"]
    port = free_port()
    subprocess.run([*prefix, f"{bindir}/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                    "--no-sync", "--locale=C"], check=True, stdout=subprocess.DEVNULL)
    proc = subprocess.Popen(
        [*prefix, f"{bindir}/postgres", "-D", data, "-p", str(port), "-k", sock, "-c", "listen_addresses=127.0.0.1",
         "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
         "-c", "max_connections=300"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "pg.log"), "w"),  # noqa: SIM115
    )
    try:
        wait_port(port, proc, "postgres")
        time.sleep(0.3)  # accepting TCP slightly precedes accepting logins
        say(f"PostgreSQL ({bindir}) on 127.0.0.1:{port}")
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        _stop_postgres(proc, data)
        shutil.rmtree(tmp, ignore_errors=True)


def _stop_postgres(proc: subprocess.Popen, data: str) -> None:
    """Fast shutdown (SIGINT) sent to the postmaster itself: runuser does not forward signals."""
    try:
        with open(os.path.join(data, "postmaster.pid")) as pidfile:
            postmaster = int(pidfile.readline())
        os.kill(postmaster, signal.SIGINT)
    except (OSError, ValueError):
        proc.send_signal(signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=15)
    if proc.poll() is None:
        proc.kill()


@contextlib.contextmanager
def redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        apt_install("redis-server")
        binary = shutil.which("redis-server") or sys.exit("[testservices] redis-server not found")
    tmp = tempfile.mkdtemp(prefix="kiosk-redis-")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", tmp, "--daemonize", "no", "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL)
    try:
        wait_port(port, proc, "redis")
        say(f"Redis on 127.0.0.1:{port}")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def main(argv: list[str]) -> int:
    if "--" not in argv:
        sys.exit("usage: testservices.py -- COMMAND [ARGS...]")
    command = argv[argv.index("--") + 1:]
    with contextlib.ExitStack() as stack:
        env = dict(os.environ)
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = stack.enter_context(postgres())
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = stack.enter_context(redis())
        env.setdefault("CELERY_BROKER_URL", env["REDIS_URL"].rsplit("/", 1)[0] + "/1")
        return run_command(command, env)


def run_command(command: list[str], env: dict[str, str]) -> int:
    """Run the command; on SIGINT/SIGTERM stop it gently, so the servers above are torn down too."""
    proc = subprocess.Popen(command, env=env)

    def forward(signum: int, _frame: object) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)  # the child usually has it already (same terminal)
    try:
        return proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
