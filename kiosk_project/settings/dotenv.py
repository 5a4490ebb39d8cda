"""A `.env` file: the same KEY=value lines as .env.example, read by the settings and by `make run`.

Read when present (beside manage.py, or at DJANGO_ENV_FILE; DJANGO_ENV_FILE= empty turns it off), with
django-environ's parser. The real environment always wins, and an empty value (`SECRET_KEY=`) means
"unset: use the default", exactly as .env.example reads, so a straight copy of .env.example works. The
test settings never read one: the suite's configuration is its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def dot_env_path() -> Path | None:
    configured = os.environ.get("DJANGO_ENV_FILE")
    if configured == "":
        return None
    path = Path(configured) if configured else BASE_DIR / ".env"
    return path if path.is_file() else None


def dot_env_values(path: Path) -> dict[str, str]:
    """The file's non-empty values, inline comments and surrounding spaces removed."""

    class DotEnv(environ.Env):
        ENVIRON: dict[str, str] = {}  # parse into this, not os.environ

    DotEnv.read_env(str(path), parse_comments=True)
    return {key: value.strip() for key, value in DotEnv.ENVIRON.items() if value.strip()}


def load_dot_env() -> Path | None:
    """Fill os.environ from the .env file (never overriding what is set); the file read, or None."""
    if os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".test"):
        return None
    path = dot_env_path()
    if path is None:
        return None
    for key, value in dot_env_values(path).items():
        os.environ.setdefault(key, value)
    return path
