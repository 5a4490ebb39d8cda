"""Smoke test of a running `make run`: what a person trying the demo would do, checked."""

from __future__ import annotations

import json
import sys
import urllib.request

BASE = "http://127.0.0.1:8000"


def call(method: str, path: str, body: dict | None = None, headers: dict | None = None,
         base: str = BASE) -> tuple[int, dict, dict]:
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, dict(exc.headers), json.loads(raw) if raw else {}


def check(cond: bool, what: str) -> None:
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        sys.exit(1)


def main() -> None:
    status, headers, menu = call("GET", "/api/v1/catalog")
    check(status == 200, f"menu answers 200 (got {status})")
    check(len(menu.get("items", [])) == 33, "menu has the sample's 33 items")
    status, _, _ = call("GET", "/api/v1/catalog", headers={"If-None-Match": headers.get("ETag", "")})
    check(status == 304, "menu revalidates with 304")


if __name__ == "__main__":
    main()
