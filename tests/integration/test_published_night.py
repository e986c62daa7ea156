"""The shared published night (tests/fixtures/published_night.py) is what the consumption tests assume it is."""

from __future__ import annotations

import psycopg
import pytest

from konvergensi import roles

pytestmark = pytest.mark.integration


def test_the_shared_night_was_gated_and_published_with_every_layer(published_night) -> None:
    with psycopg.connect(published_night.url) as conn:
        published = conn.execute("select target_schema from ops.publish_log where run_id = %s",
                                 (published_night.run_id,)).fetchall()
        gate = conn.execute("select success from ops.gate_runs where run_id = %s", (published_night.run_id,)).fetchall()
        tables = dict(conn.execute(
            "select table_schema, count(*) from information_schema.tables "
            "where table_schema in ('marts', 'restricted', 'analyst', 'bi') group by table_schema").fetchall())
        children = conn.execute("select count(*) from marts.dim_child").fetchone()[0]
        audit = conn.execute("select count(*) from information_schema.schemata where schema_name like '%%_audit'"
                             ).fetchone()[0]
    assert published == [("marts",)] and gate == [(True,)]
    assert set(tables) == {"marts", "restricted", "analyst", "bi"}, tables
    assert children > 100
    assert audit == 0, "the audit schemas are swapped away by the publish"


def test_the_bi_login_reads_bi_and_not_the_marts(published_night) -> None:
    with psycopg.connect(published_night.role_url(roles.BI)) as conn:
        assert conn.execute("select count(*) from bi.bi_stunting_prevalence_monthly").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from marts.dim_child")


def test_a_clone_is_a_separate_copy(published_night) -> None:
    with published_night.clone() as copy, psycopg.connect(copy, autocommit=True) as conn:
        conn.execute("delete from ops.publish_log")
    with psycopg.connect(published_night.url) as conn:
        assert conn.execute("select count(*) from ops.publish_log").fetchone()[0] == 1


def test_the_fact_tables_are_partitioned_by_month(published_night) -> None:
    """Issue 9: a partition per month present (macros/partitioned_table.sql), named after the published table."""
    facts = {"fct_anthropometry": "measurement_month", "fct_child_monthly": "month", "fct_household_risk_monthly": "month"}
    with psycopg.connect(published_night.url) as conn:
        for table, month in facts.items():
            assert conn.execute("select relkind from pg_class where oid = %s::regclass",
                                (f"marts.{table}",)).fetchone()[0] == "p", table
            partitions = dict(conn.execute(
                "select c.relname, pg_get_expr(c.relpartbound, c.oid) from pg_inherits as i"
                " join pg_class as c on c.oid = i.inhrelid where i.inhparent = %s::regclass order by 1",
                (f"marts.{table}",)).fetchall())
            months = [m.strftime("%Y_%m") for (m,) in conn.execute(
                f"select distinct date_trunc('month', {month})::date from marts.{table} order by 1")]
            assert len(months) > 1 and sorted(partitions) == [f"{table}_{m}" for m in months], (table, partitions)
            # every row sits in the partition of its month
            misplaced = conn.execute(
                f"select count(*) from marts.{table} t"
                f" where tableoid::regclass::text <> 'marts.{table}_' || to_char({month}, 'YYYY_MM')").fetchone()[0]
            assert misplaced == 0, table
        # the analysts' query of a month reads that month's partition only
        plan = "\n".join(row[0] for row in conn.execute(
            "explain select count(*) from marts.fct_anthropometry where measurement_month = date '2026-10-01'"))
    assert "fct_anthropometry_2026_10" in plan and "fct_anthropometry_2026_09" not in plan, plan
