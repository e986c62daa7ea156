"""Back up the warehouse with pg_dump and restore it with pg_restore (docs/operations.md, "Backup").

    python -m konvergensi.backup dump FILE              # custom-format dump of the warehouse database
    python -m konvergensi.backup restore FILE [--replace]

The dump is pg_dump's custom format (compressed; pg_restore can list and select from it) of the
whole warehouse database: raw, identity, ops, the published and the audit schemas, with owners
and grants. Roles belong to the server, not the database, so they are not in the dump: `restore`
creates them first (as `konvergensi.roles` defines them, passwords from the environment), then
the empty database, then restores into it in one transaction (`--single-transaction
--exit-on-error`: a restore that fails leaves an empty database, never a half-restored one), and
finally re-applies the role matrix. `--replace` drops an existing database of that name first
(after the dump was taken, nothing else would bring its contents back: that is the point).

The binaries are the server's own (the embedded PostgreSQL's bin directory when it is the one in
use, else pg_dump/pg_restore on PATH), so the dump format always matches the server.
The dump holds NIKs and names (raw, identity): store it as the warehouse itself, encrypted and
access-controlled.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
from psycopg import sql

from konvergensi import roles
from konvergensi.settings import warehouse_url


def binary(name: str) -> str:
    """pg_dump / pg_restore: the embedded server's when it ships them, else the one on PATH."""
    try:
        from konvergensi.warehouse import bin_dir

        candidate = bin_dir() / name
        if candidate.exists():
            return str(candidate)
    except ImportError:  # no embedded server installed (a city's own PostgreSQL)
        pass
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the PostgreSQL client tools of the server's version")
    return found


def _database(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def _maintenance_url(url: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/postgres"))


def dump(target: Path, url: str | None = None) -> Path:
    """Write a custom-format dump of the warehouse database to `target`; returns it."""
    url = url or warehouse_url()
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")  # never leave a cut dump under the real name
    started = time.perf_counter()
    subprocess.run([binary("pg_dump"), "--format=custom", "--file", str(partial), "--dbname", url], check=True)
    partial.replace(target)
    print(f"dumped {_database(url)} to {target} ({target.stat().st_size / 2**20:,.1f} MB, "
          f"{time.perf_counter() - started:.1f} s)", flush=True)
    return target


def restore(source: Path, url: str | None = None, *, replace: bool = False) -> None:
    """Restore `source` into the database of `url` (created here; dropped first with replace=True)."""
    url = url or warehouse_url()
    name = _database(url)
    started = time.perf_counter()
    with psycopg.connect(_maintenance_url(url), autocommit=True) as admin:
        exists = admin.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if exists and not replace:
            raise RuntimeError(f"database {name} exists: restore into a new name, or pass --replace to drop it first")
        if exists:
            admin.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))
        with admin.transaction():
            roles._ensure_roles(admin, roles.ApplyReport(name))  # server-wide, needed for owners and grants
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    subprocess.run(
        [binary("pg_restore"), "--single-transaction", "--exit-on-error", "--dbname", url, str(source)], check=True
    )
    roles.apply(url)
    print(f"restored {source} into {name} ({time.perf_counter() - started:.1f} s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["dump", "restore"])
    parser.add_argument("file", type=Path)
    parser.add_argument("--replace", action="store_true", help="restore: drop the existing database first")
    args = parser.parse_args(argv)
    try:
        if args.action == "dump":
            dump(args.file)
        else:
            restore(args.file, replace=args.replace)
    except (RuntimeError, subprocess.CalledProcessError) as error:
        print(f"{args.action} failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
