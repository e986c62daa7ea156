"""Connections to the warehouse and the idempotent DDL the loaders rely on."""

from __future__ import annotations

from pathlib import Path

import psycopg

from konvergensi.settings import warehouse_url

SQL_DIR = Path(__file__).parent / "sql"


def connect(url: str | None = None, *, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(url or warehouse_url(), autocommit=autocommit, application_name="konvergensi")


def ensure_schema(connection: psycopg.Connection) -> None:
    """Create schemas and bookkeeping tables when missing (every statement is idempotent)."""
    with connection.transaction():
        connection.execute("select pg_advisory_xact_lock(hashtext('konvergensi.ddl'))")
        for script in sorted(SQL_DIR.glob("*.sql")):
            connection.execute(script.read_text())
