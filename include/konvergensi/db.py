"""Connections to the warehouse and the idempotent DDL (migrations) the loaders rely on.

    python -m konvergensi.db migrate     # as the database owner; `python -m konvergensi.roles apply` runs it too
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import psycopg

from konvergensi.settings import connection_parts, warehouse_url

SQL_DIR = Path(__file__).parent / "sql"


class SchemaNotMigrated(RuntimeError):
    """The pipeline's roles may not run DDL, and the migrations they need have not been applied."""


def connect(url: str | None = None, *, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(url or warehouse_url(), autocommit=autocommit, application_name="konvergensi")


def ensure_schema(connection: psycopg.Connection) -> None:
    """Create schemas and bookkeeping tables when missing (every statement is idempotent).

    Only the database owner (or a superuser) migrates. The nightly tasks connect as the loader and
    transformer roles, which may not run DDL: for them this only checks that every script under
    sql/ was applied as it is now, and says what to run when not.
    """
    scripts = {script.name: script.read_text() for script in sorted(SQL_DIR.glob("*.sql"))}
    with connection.transaction():
        connection.execute("select pg_advisory_xact_lock(hashtext('konvergensi.ddl'))")
        if not _may_migrate(connection):
            _check_migrated(connection, scripts)
            return
        for text in scripts.values():
            connection.execute(text)
        connection.execute(
            """
            create table if not exists ops.schema_migrations (
                script      text primary key,
                checksum    text not null,
                applied_at  timestamptz not null default now()
            )
            """
        )
        for name, text in scripts.items():
            connection.execute(
                """
                insert into ops.schema_migrations (script, checksum) values (%s, %s)
                on conflict (script) do update set checksum = excluded.checksum, applied_at = now()
                where ops.schema_migrations.checksum <> excluded.checksum
                """,
                (name, _checksum(text)),
            )


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _may_migrate(connection: psycopg.Connection) -> bool:
    row = connection.execute(
        """
        select r.rolsuper or pg_has_role(current_user, d.datdba, 'MEMBER')
        from pg_roles as r, pg_database as d
        where r.rolname = current_user and d.datname = current_database()
        """
    ).fetchone()
    return bool(row and row[0])


def _check_migrated(connection: psycopg.Connection, scripts: dict[str, str]) -> None:
    user = connection.execute("select current_user").fetchone()[0]
    advice = "run `python -m konvergensi.roles apply` as the database owner (make run and make test do)"
    if connection.execute("select to_regclass('ops.schema_migrations')").fetchone()[0] is None:
        raise SchemaNotMigrated(f"the warehouse has no migrations yet and {user} may not create them: {advice}")
    applied = dict(connection.execute("select script, checksum from ops.schema_migrations").fetchall())
    stale = [name for name, text in scripts.items() if applied.get(name) != _checksum(text)]
    if stale:
        raise SchemaNotMigrated(f"migration(s) {', '.join(stale)} not applied as they are now: {advice}")


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
    except SchemaNotMigrated as refused:
        print(f"konvergensi.db migrate: {refused}", file=sys.stderr)
        return 1
    except psycopg.Error as failed:
        print(f"konvergensi.db migrate: a migration failed on {_where(url)}: {failed}", file=sys.stderr)
        return 1
    print(f"Warehouse schema up to date: {len(scripts)} scripts applied ({', '.join(scripts)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
