"""gunicorn's settings wherever it is started from the project directory (make run, the Docker image, the
benchmarks, the tests): gunicorn reads ./gunicorn.conf.py by default. Command-line flags still win.

* Its own lines (start-up, workers, the access log) go through the application's formatters, so every
  line of every process is in one format and one time zone (TIME_ZONE), not gunicorn's UTC next to an
  access log in local time.
* Each instance gets its own control socket. gunicorn's default is one path per user
  ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl), so two instances on one host (two
  `make run`s, a benchmark beside a dev server) would unlink each other's on exit.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from gunicorn.glogging import Logger

from kiosk_project.core.logging import JsonFormatter, TextFormatter

ROOT = Path(__file__).resolve().parent


def _log_format() -> str:
    # The settings' own default: text for local and test settings, JSON for production (see settings/*.py).
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "kiosk_project.settings.local")
    return os.environ.get("LOG_FORMAT") or ("text" if module.endswith((".local", ".test")) else "json")


class KioskLogger(Logger):
    """gunicorn's logger, writing to the console through our formatters.

    An access log sent to a file (`--access-logfile PATH`, as the benchmarks do to parse it) keeps
    exactly the `--access-logformat` it was given.
    """

    def setup(self, cfg):  # type: ignore[no-untyped-def]
        super().setup(cfg)
        formatter = TextFormatter() if _log_format() == "text" else JsonFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not isinstance(handler, logging.FileHandler):
                    handler.setFormatter(formatter)


def _control_socket() -> str:
    """This instance's control socket: named by the master's pid (this file runs in the master)."""
    name = f"gunicorn-{os.getpid()}.ctl"
    path = ROOT / ".run" / name
    # A Unix socket path must fit in sun_path (108 bytes on Linux); a deep checkout falls back to /tmp.
    return str(path) if len(str(path)) < 100 else os.path.join(tempfile.gettempdir(), f"kiosk-{name}")


logger_class = KioskLogger
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s bytes %(M)s ms'
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or _control_socket()
