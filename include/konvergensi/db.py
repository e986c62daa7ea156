"""Connections to the warehouse and the idempotent DDL the loaders rely on."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg

from konvergensi.settings import warehouse_url

SQL_DIR = Path(__file__).parent / "sql"


def connect(url: str | None = None, *, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(url or warehouse_url(), autocommit=autocommit, application_name="konvergensi")


def ensure_schema(connection: psycopg.Connection) -> None:
    """Create schemas and bookkeeping tables when missing (every statement is idempotent).

    The scripts run once per version of their text (recorded in ops.schema_ddl): some of their
    statements (ALTER TABLE … IF NOT EXISTS) take an exclusive lock even when there is nothing to
    change, which would deadlock with tasks of the same night writing those tables in parallel.
    """
    scripts = [(path.name, path.read_text()) for path in sorted(SQL_DIR.glob("*.sql"))]
    digest = hashlib.sha256("\0".join(f"{name}\0{text}" for name, text in scripts).encode()).hexdigest()
    with connection.transaction():
        if _applied(connection, digest):
            return
        connection.execute("select pg_advisory_xact_lock(hashtext('konvergensi.ddl'))")
        if _applied(connection, digest):  # another session applied them while this one waited
            return
        for _name, text in scripts:
            connection.execute(text)
        connection.execute(
            "create table if not exists ops.schema_ddl (digest text primary key, applied_at timestamptz not null default now())"
        )
        connection.execute("insert into ops.schema_ddl (digest) values (%s) on conflict do nothing", (digest,))


def _applied(connection: psycopg.Connection, digest: str) -> bool:
    if connection.execute("select to_regclass('ops.schema_ddl')").fetchone()[0] is None:
        return False
    return connection.execute("select 1 from ops.schema_ddl where digest = %s", (digest,)).fetchone() is not None
