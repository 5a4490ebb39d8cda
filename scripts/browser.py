"""Make sure Debian's Chromium is there for the browser tests (Playwright drives it, never a download).

    python scripts/browser.py          # prints the browser's path, installing it first if needed

Playwright is pinned in requirements-dev.txt, but its own browser download
(`playwright install`) is never used: the tests launch the system Chromium at
CHROMIUM_PATH (default /usr/bin/chromium). When it is missing and we run as
root on Debian, the `chromium` package is installed with apt-get, the way
scripts/testservices.py installs PostgreSQL and Redis; elsewhere we say what to
install and exit non-zero.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

DEFAULT_PATH = "/usr/bin/chromium"
PACKAGES = ["chromium", "fonts-dejavu-core"]  # a font, so screenshots show text, not boxes


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH", DEFAULT_PATH)


def ensure_chromium() -> str:
    path = chromium_path()
    if os.path.exists(path):
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(f"[browser] Chromium is not at {path}. Install it (Debian/Ubuntu: `sudo apt-get install chromium`), "
                 "or set CHROMIUM_PATH to a Chromium or Chrome binary.")
    print(f"[browser] installing {' '.join(PACKAGES)} with apt-get", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES], check=True, env=env)
    if not os.path.exists(path):
        sys.exit(f"[browser] chromium installed but {path} is missing")
    return path


if __name__ == "__main__":
    print(ensure_chromium())
