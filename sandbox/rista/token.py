"""`python -m sandbox.rista.token`: print a fresh x-api-token for curl experiments.

Rista wants a new token per request (and a never-used jti on writes), so run it
once per curl call: `-H "x-api-token: $(python -m sandbox.rista.token)"`.
"""

from __future__ import annotations

import argparse
import os

from sandbox.rista.auth import mint_token
from sandbox.rista.server import DEFAULT_API_KEY, DEFAULT_SECRET_KEY


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m sandbox.rista.token", description=__doc__.splitlines()[0])
    p.add_argument("--api-key", default=os.environ.get("RISTA_API_KEY", DEFAULT_API_KEY))
    p.add_argument("--secret-key", default=os.environ.get("RISTA_SECRET_KEY", DEFAULT_SECRET_KEY))
    p.add_argument("--no-jti", action="store_true", help="leave jti out (to see a POST rejected)")
    args = p.parse_args(argv)
    print(mint_token(args.api_key, args.secret_key, write=not args.no_jti))


if __name__ == "__main__":
    main()
