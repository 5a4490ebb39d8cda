"""`python -m sandbox.rista`: run the Rista sandbox in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from types import FrameType

from sandbox.rista.server import (
    DEFAULT_API_KEY,
    DEFAULT_BRANCH,
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
    DEFAULT_WEBHOOK_URL,
    RistaSandbox,
)


def _default_invoice_start() -> int:
    """Start invoice numbers from the clock (one number per 10 s since 2024).

    A demo database usually outlives a sandbox restart; numbers that restarted
    at 1 would collide with invoiceNumbers it has already recorded.
    """
    return max(1, int(time.time() - 1_704_067_200) // 10)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m sandbox.rista", description="Rista POS API sandbox")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--api-key", default=env("RISTA_API_KEY", DEFAULT_API_KEY))
    p.add_argument("--secret-key", default=env("RISTA_SECRET_KEY", DEFAULT_SECRET_KEY))
    p.add_argument("--branch", default=env("KIOSK_BRANCH_CODE", DEFAULT_BRANCH),
                   help="the branch code, or several separated by commas (BLR01,MYS01); the first is the "
                        "default of the control routes")
    p.add_argument("--catalog", default=None,
                   help="catalog JSON for every branch (default: the bundled 33-item sample)")
    p.add_argument("--branch-catalog", action="append", default=[], metavar="CODE=PATH",
                   help="catalog JSON for one branch (repeatable)")
    p.add_argument("--branch-channels", action="append", default=[], metavar="CODE=NAME,NAME",
                   help="one branch's price channels (repeatable; default: Takeaway,Dine In)")
    p.add_argument("--webhook-url", default=DEFAULT_WEBHOOK_URL, help="where menu.sync webhooks go")
    p.add_argument("--webhook-secret", default=env("RISTA_WEBHOOK_SECRET", DEFAULT_WEBHOOK_SECRET))
    p.add_argument("--jwt-leeway", type=float, default=300, help="allowed iat clock skew, seconds")
    p.add_argument("--invoice-start", type=int, default=None, help="first invoice sequence number")
    p.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return p.parse_args(argv)


def _per_branch(option: str, values: list[str]) -> dict[str, str]:
    """`["MYS01=menu.json"]` -> `{"MYS01": "menu.json"}`; ValueError saying what is expected otherwise."""
    parsed: dict[str, str] = {}
    for value in values:
        code, sep, rest = value.partition("=")
        if not sep or not code.strip() or not rest.strip():
            raise ValueError(f"{option} {value!r}: expected CODE=VALUE")
        parsed[code.strip()] = rest.strip()
    return parsed


def _stop_on_signal(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        # The backend's text log shape (make run prints both in one terminal), in local time (TZ).
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S",
    )
    try:
        channels = _per_branch("--branch-channels", args.branch_channels)
        sandbox = RistaSandbox(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            secret_key=args.secret_key,
            branch=args.branch,
            catalog_path=args.catalog,
            webhook_url=args.webhook_url or None,
            webhook_secret=args.webhook_secret,
            jwt_leeway=args.jwt_leeway,
            invoice_start=args.invoice_start or _default_invoice_start(),
            branch_catalogs=_per_branch("--branch-catalog", args.branch_catalog),
            branch_channels={code: names.split(",") for code, names in channels.items()},
        )
    except (ValueError, OSError) as exc:  # a bad branch list or catalog file: say so, no traceback
        print(f"python -m sandbox.rista: {exc}", file=sys.stderr)
        return 2
    # Installed explicitly for both: a process started with SIGINT ignored (a background job,
    # setsid, many CI runners) inherits SIG_IGN, and Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    codes = sandbox.branches
    which = f"branch {codes[0]}" if len(codes) == 1 else f"branches {', '.join(codes)}"
    print(f"Rista sandbox for {which} listening on {sandbox.url}", flush=True)
    print(f"Kitchen page (Accept / Ready buttons): {sandbox.url}/", flush=True)
    try:
        sandbox.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
