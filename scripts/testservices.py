"""Run a command with real PostgreSQL, Redis and RabbitMQ available.

    python scripts/testservices.py -- pytest -q

DATABASE_URL / REDIS_URL / RABBITMQ_URL already set: the command runs against them.
Otherwise a throwaway server is started from the installed binaries on a free
port (data in a temp dir, deleted afterwards), the three at the same time
(RabbitMQ takes several seconds). On a Debian machine without the binaries,
running as root, the `postgresql` / `redis-server` / `rabbitmq-server` packages
are installed first; elsewhere we say exactly what to install.

The suite's Celery broker (CELERY_BROKER_URL) stays Redis, the broker of the
simple modes; RABBITMQ_URL is production's broker, for the tests that run
workers on it (kds_bridge/tests/test_rabbitmq.py). `RabbitMQ` below is also a
private node a test or the soak may restart.
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
import threading
import time
from collections.abc import Callable, Iterator


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


RABBITMQ_HOME = "/usr/lib/rabbitmq/bin"  # Debian's scripts; /usr/sbin/rabbitmq-server would su to its user


def rabbitmq_binary() -> str | None:
    for candidate in (os.path.join(RABBITMQ_HOME, "rabbitmq-server"), shutil.which("rabbitmq-server")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


class RabbitMQ:
    """A RabbitMQ node of our own: a private node name, AMQP and distribution ports, config, cookie, logs
    and mnesia directory under one temp dir; nothing of the machine's own node (/etc/rabbitmq) is read.

    `stop()` and `start()` again keep the mnesia directory, so durable queues and persistent messages
    survive, as a restarted production broker's do. `close()` stops it and deletes everything.
    """

    def __init__(self) -> None:
        binary = rabbitmq_binary()
        if binary is None:
            apt_install("rabbitmq-server")
            binary = rabbitmq_binary() or sys.exit("[testservices] rabbitmq-server not found")
        self.binary = binary
        self.tmp = tempfile.mkdtemp(prefix="kiosk-rabbitmq-")
        self.port, self.dist_port = free_port(), free_port()
        self.node = f"kiosk{self.port}@localhost"
        with open(os.path.join(self.tmp, "rabbitmq.conf"), "w") as conf:
            # guest/guest from loopback only (RabbitMQ's default), no management plugin: fast start.
            conf.write(f"listeners.tcp.1 = 127.0.0.1:{self.port}\n")
        with open(os.path.join(self.tmp, "enabled_plugins"), "w") as plugins:
            plugins.write("[].\n")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _env(self) -> dict[str, str]:
        t = self.tmp
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": t,  # HOME: a private Erlang cookie
                "LANG": "C.UTF-8", "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_CONFIG_FILE": os.path.join(t, "rabbitmq.conf"),
                "RABBITMQ_CONF_ENV_FILE": os.path.join(t, "rabbitmq-env.conf"),  # absent: not /etc's
                "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(t, "enabled_plugins"),
                "RABBITMQ_MNESIA_BASE": os.path.join(t, "mnesia"), "RABBITMQ_LOG_BASE": os.path.join(t, "log"),
                "RABBITMQ_PID_FILE": os.path.join(t, "rabbitmq.pid"), "ERL_EPMD_ADDRESS": "127.0.0.1"}

    def start(self, timeout: float = 60) -> None:
        self.proc = subprocess.Popen([self.binary], env=self._env(), cwd=self.tmp, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.tmp, "stderr.log"), "a"),  # noqa: SIM115
                                     start_new_session=True)
        wait_port(self.port, self.proc, "rabbitmq", timeout)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        """The port opens before the broker is booted: ready once an AMQP login succeeds."""
        import amqp  # Celery's own AMQP client (a dependency of kombu)

        deadline = time.time() + timeout
        while True:
            try:
                conn = amqp.Connection(f"127.0.0.1:{self.port}", userid="guest", password="guest",  # noqa: S106
                                       connect_timeout=1)
                conn.connect()
                conn.close()
                return
            except Exception:
                if self.proc is not None and self.proc.poll() is not None:
                    sys.exit(f"[testservices] rabbitmq exited early with code {self.proc.returncode}")
                if time.time() > deadline:
                    sys.exit(f"[testservices] rabbitmq did not accept logins within {timeout}s")
                time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM to the node: a clean shutdown, as `docker stop` or systemd does (it closes its clients'
        connections; their unacknowledged messages go back to their queues)."""
        if self.proc is None:
            return
        group, deadline = self.proc.pid, time.time() + 30
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)  # the start script and the Erlang VM (beam.smp) under it
            while time.time() < deadline:  # the VM outlives the script by a moment: gone means all gone
                self.proc.poll()
                os.killpg(group, 0)
                time.sleep(0.05)
            os.killpg(group, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


@contextlib.contextmanager
def rabbitmq() -> Iterator[str]:
    node = RabbitMQ()
    try:
        node.start()
        say(f"RabbitMQ ({node.node}) on 127.0.0.1:{node.port}")
        yield node.url
    finally:
        node.close()


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
        wanted: dict[str, Callable[[], contextlib.AbstractContextManager[str]]] = {
            "DATABASE_URL": postgres, "REDIS_URL": redis, "RABBITMQ_URL": rabbitmq}
        env.update(start_in_parallel(stack, {name: cm for name, cm in wanted.items() if not env.get(name)}))
        env.setdefault("CELERY_BROKER_URL", env["REDIS_URL"].rsplit("/", 1)[0] + "/1")
        return run_command(command, env)


def start_in_parallel(stack: contextlib.ExitStack,
                      servers: dict[str, Callable[[], contextlib.AbstractContextManager[str]]]) -> dict[str, str]:
    """Enter each server's context manager on its own thread (RabbitMQ alone takes seconds); each is
    exited by `stack`, including those that started when another failed."""
    urls: dict[str, str] = {}
    failures: list[BaseException] = []
    lock = threading.Lock()

    def start(name: str, make: Callable[[], contextlib.AbstractContextManager[str]]) -> None:
        cm = make()
        try:
            url = cm.__enter__()
        except BaseException as exc:  # sys.exit in a helper: report it from the main thread
            with lock:
                failures.append(exc)
            return
        with lock:
            urls[name] = url
            stack.push(cm.__exit__)

    threads = [threading.Thread(target=start, args=item, daemon=True) for item in servers.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        stack.close()
        raise failures[0]
    return urls


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
