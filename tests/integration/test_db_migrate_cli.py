"""The deployment's init job migrates the warehouse with `python -m konvergensi.db migrate`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]


def _migrate(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "konvergensi.db", "migrate"],
        env={**os.environ, "WAREHOUSE_URL": url, "PYTHONPATH": str(PROJECT / "include")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _tables(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('raw', 'identity', 'ops')"
        ).fetchall()
    return set(rows)


def test_migrate_creates_the_schema_and_a_second_run_changes_nothing(fresh_database_url: str) -> None:
    first = _migrate(fresh_database_url)
    assert first.returncode == 0, first.stderr
    assert "Warehouse schema up to date: " in first.stdout
    created = _tables(fresh_database_url)
    assert {("ops", "file_loads"), ("ops", "gate_runs"), ("raw", "eppgbm_measurements")} <= created

    with psycopg.connect(fresh_database_url, autocommit=True) as connection:
        connection.execute(
            "insert into ops.load_batches (run_id, landing_dir) values ('kept-across-migrations', '/landing')"
        )
    second = _migrate(fresh_database_url)
    assert second.returncode == 0, second.stderr
    assert _tables(fresh_database_url) == created
    with psycopg.connect(fresh_database_url) as connection:
        kept = connection.execute("select count(*) from ops.load_batches where run_id = 'kept-across-migrations'")
        assert kept.fetchone() == (1,)
