"""Synthetic marts for the gate and publish tests (SQL under tests/fixtures/gate_marts_*.sql)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import sql

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MART_TABLES = (
    "dim_date", "dim_wilayah", "dim_facility", "dim_child", "fct_anthropometry",
    "mart_stunting_prevalence_monthly", "mart_data_quality_monthly", "mart_anthropometry_quality_monthly",
    "mart_posyandu_monthly",
)  # fmt: skip
LATEST_MONTH = "2025-06-01"
DROP_LATEST_MONTH = f"delete from fct_anthropometry where measurement_month = date '{LATEST_MONTH}';"


def fixture_sql(name: str) -> str:
    return (FIXTURES / f"gate_marts_{name}.sql").read_text(encoding="utf-8")


def load_marts(url: str, schema: str, *, before_derive: Sequence[str] = (), after_derive: Sequence[str] = ()) -> None:
    """(Re)create `schema` with the synthetic marts in one transaction.

    `before_derive` changes measurements and gets consistent categories and aggregates;
    `after_derive` corrupts the finished marts. Both are SQL texts (see fixture_sql).
    """
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("set local search_path = {}").format(sql.Identifier(schema)))
        conn.execute(fixture_sql("base"))
        for text in before_derive:
            conn.execute(text)
        conn.execute(fixture_sql("derive"))
        for text in after_derive:
            conn.execute(text)


def mart_state(url: str, schema: str) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum of every mart table in `schema`."""
    state = {}
    with psycopg.connect(url) as conn:
        for table in MART_TABLES:
            query = sql.SQL(
                "select count(*), coalesce(md5(string_agg(md5(t::text), '' order by md5(t::text))), '') from {}.{} as t"
            ).format(sql.Identifier(schema), sql.Identifier(table))
            state[table] = conn.execute(query).fetchone()
    return state


def schema_exists(url: str, schema: str) -> bool:
    with psycopg.connect(url) as conn:
        return bool(conn.execute("select exists (select from pg_namespace where nspname = %s)", (schema,)).fetchone()[0])


def scalar(url: str, query: str, params: Sequence[object] = ()) -> object:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()[0]
