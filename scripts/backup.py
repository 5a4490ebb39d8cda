"""Back up and restore the kiosk's PostgreSQL database (docs/deploy.md, "Backups").

    python scripts/backup.py dump [--dir DIR] [--keep N]       # DATABASE_URL -> DIR/kiosk-<UTC time>.dump
    python scripts/backup.py restore FILE --target URL [--force]  # into an empty (or --force: any) database
    python scripts/backup.py verify FILE                        # restore into a scratch database, count, drop

`dump` writes pg_dump's custom format (compressed, restorable table by table) to a temporary name and
renames it when complete, so a file named kiosk-*.dump is always whole; then it deletes all but the newest
`--keep` (default 14) dumps in the directory. `restore` refuses a target that already has our tables unless
--force (then it drops and recreates each object it restores). `verify` is what the schedule runs after each
dump: it restores the file into a new database on the same server, checks that the orders, payments and
kitchen deliveries are there, prints their counts, and drops the scratch database; exit 1 if anything is off.
The pg_dump / pg_restore binaries are the newest installed (scripts/testservices.py finds them), which must be
at least the server's major version.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "kiosk-"
# What a restore must bring back for the file to count as a backup of this application.
CHECKED_TABLES = ("orders_order", "payments_payment", "kds_bridge_kitchendelivery", "django_migrations")


def _bin(name: str) -> str:
    sys.path.insert(0, str(ROOT / "scripts"))
    from testservices import pg_bindir  # the same discovery `make test` uses

    bindir = pg_bindir()
    path = os.path.join(bindir, name) if bindir else shutil.which(name)
    if not path or not os.path.exists(path):
        sys.exit(f"{name} not found: install the PostgreSQL client (Debian: postgresql-client)")
    return path


def _libpq_url(url: str) -> str:
    """Django's postgres:// URLs are libpq's too; only the scheme name may differ."""
    return "postgresql://" + url.split("://", 1)[1] if url.startswith(("postgres://", "pgsql://")) else url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(_libpq_url(url))
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def dump(database_url: str, directory: Path, keep: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    final = directory / f"{PREFIX}{stamp}.dump"
    partial = directory / f".{final.name}.partial"
    subprocess.run([_bin("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(partial),
                    "--dbname", _libpq_url(database_url)], check=True)
    partial.rename(final)  # complete: only now does it carry a backup's name
    dumps = sorted(directory.glob(f"{PREFIX}*.dump"))
    for old in dumps[:-keep] if keep > 0 else []:
        old.unlink()
    return final


def _has_our_tables(url: str) -> bool:
    with psycopg.connect(_libpq_url(url), connect_timeout=5) as conn:
        row = conn.execute("SELECT to_regclass('public.orders_order') IS NOT NULL").fetchone()
        return bool(row and row[0])


def restore(path: Path, target_url: str, *, force: bool = False) -> None:
    if not path.is_file():
        sys.exit(f"no such backup: {path}")
    if _has_our_tables(target_url) and not force:
        sys.exit("the target database already has the kiosk's tables: restore into an empty database, "
                 "or pass --force to replace what the backup contains")
    subprocess.run([_bin("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                    *(["--clean", "--if-exists"] if force else []), "--dbname", _libpq_url(target_url), str(path)],
                   check=True)


def counts(url: str) -> dict[str, int]:
    out = {}
    with psycopg.connect(_libpq_url(url), connect_timeout=5) as conn:
        for table in CHECKED_TABLES:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 (our constants)
            out[table] = int(row[0]) if row else 0
    return out


def verify(path: Path, database_url: str) -> dict[str, int]:
    """Restore into a scratch database beside the live one; its counts, or SystemExit if it is not a backup."""
    scratch = f"kiosk_restore_check_{uuid.uuid4().hex[:8]}"
    admin = _libpq_url(database_url)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    try:
        restore(path, with_database(database_url, scratch))
        found = counts(with_database(database_url, scratch))
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    if not found["django_migrations"]:
        sys.exit(f"{path}: restored, but it holds no applied migrations: not a backup of this application")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/backup.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_dump = sub.add_parser("dump", help="pg_dump DATABASE_URL into --dir")
    p_dump.add_argument("--dir", type=Path, default=Path(os.environ.get("BACKUP_DIR", "backups")))
    p_dump.add_argument("--keep", type=int, default=int(os.environ.get("BACKUP_KEEP", "14")))
    p_dump.add_argument("--verify", action="store_true", help="then restore it into a scratch database and check")
    p_restore = sub.add_parser("restore", help="pg_restore FILE into --target")
    p_restore.add_argument("file", type=Path)
    p_restore.add_argument("--target", required=True, help="the database URL to restore into")
    p_restore.add_argument("--force", action="store_true", help="replace the objects the backup contains")
    p_verify = sub.add_parser("verify", help="restore FILE into a scratch database on DATABASE_URL's server")
    p_verify.add_argument("file", type=Path)
    args = parser.parse_args(argv)

    database_url = os.environ.get("DATABASE_URL", "")
    if args.command in ("dump", "verify") and not database_url.startswith(("postgres", "pgsql")):
        sys.exit("DATABASE_URL must name the PostgreSQL database")
    if args.command == "dump":
        path = dump(database_url, args.dir, args.keep)
        print(json.dumps({"dump": str(path), "bytes": path.stat().st_size}))
        if args.verify:
            print(json.dumps({"verified": str(path), "counts": verify(path, database_url)}))
    elif args.command == "restore":
        restore(args.file, args.target, force=args.force)
        print(json.dumps({"restored": str(args.file), "counts": counts(args.target)}))
    else:
        print(json.dumps({"verified": str(args.file), "counts": verify(args.file, database_url)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
