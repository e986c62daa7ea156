"""Connections to the warehouse and the idempotent DDL the loaders rely on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import psycopg

from konvergensi.settings import connection_parts, warehouse_url

SQL_DIR = Path(__file__).parent / "sql"


def connect(url: str | None = None, *, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(url or warehouse_url(), autocommit=autocommit, application_name="konvergensi")


def ensure_schema(connection: psycopg.Connection) -> None:
    """Create schemas and bookkeeping tables when missing (every statement is idempotent)."""
    with connection.transaction():
        connection.execute("select pg_advisory_xact_lock(hashtext('konvergensi.ddl'))")
        for script in sorted(SQL_DIR.glob("*.sql")):
            connection.execute(script.read_text())


def migrate(url: str | None = None) -> list[str]:
    """Apply every migration script to the warehouse; returns the scripts' names, in order."""
    scripts = [script.name for script in sorted(SQL_DIR.glob("*.sql"))]
    with connect(url) as connection:
        ensure_schema(connection)
    return scripts


def _where(url: str) -> str:
    """host:port/dbname of a URL, never its password."""
    parts = connection_parts(url)
    return f"{parts['user']}@{parts['host']}:{parts['port']}/{parts['dbname']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m konvergensi.db",
        description="Warehouse schema management (the deployment's init job runs `migrate`).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "migrate",
        help="create the schemas and bookkeeping tables that are missing (idempotent; WAREHOUSE_URL)",
    )
    parser.parse_args(argv)
    try:
        url = warehouse_url()
    except RuntimeError as missing:
        print(f"konvergensi.db migrate: {missing}", file=sys.stderr)
        return 2
    print(f"Migrating the warehouse {_where(url)} …", flush=True)
    try:
        scripts = migrate(url)
    except psycopg.OperationalError as unreachable:
        reason = str(unreachable).strip().splitlines()[0] if str(unreachable).strip() else type(unreachable).__name__
        print(f"konvergensi.db migrate: cannot reach the warehouse {_where(url)}: {reason}", file=sys.stderr)
        return 1
    except psycopg.Error as failed:
        print(f"konvergensi.db migrate: a migration failed on {_where(url)}: {failed}", file=sys.stderr)
        return 1
    print(f"Warehouse schema up to date: {len(scripts)} scripts applied ({', '.join(scripts)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
