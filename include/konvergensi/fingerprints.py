"""Count and checksum of every raw, identity, restricted and published mart table: is this warehouse the same as that one?

    python -m konvergensi.fingerprints [--schemas raw identity restricted marts] [--url URL]
    python -m konvergensi.fingerprints --compare URL_A URL_B

The kill tests and the soak compare a warehouse that went through a fault with one built cleanly
from the same inputs. A table's fingerprint is its row count and the md5 of its rows, each row as
text with the columns below left out, sorted — so two warehouses holding the same data in a
different physical order or with different surrogate numbers for the same loads still agree.

Columns left out (they legitimately differ between two runs over the same inputs):

* batch_id, extract_id, gate_run_id, transform_run_id — sequence numbers of ops bookkeeping rows: a
  killed night consumes some and the clean run does not, although the loaded data are the same.
* run_id — the run that loaded a row (a re-run after a kill has another id than the clean run).
* loaded_at, extracted_at, quarantined_at, recorded_at, published_at, built_at, checked_at,
  started_at, finished_at — wall-clock time of the load or build, not of the data.
* dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to — dbt snapshot bookkeeping: the time
  the snapshot ran (source data's own updated_at is kept).

* in marts.dim_household: valid_from, valid_to and household_version_key (a hash of valid_from);
  in marts.fct_household_risk_monthly: household_version_key. They come from dbt_valid_from of the
  households snapshot, i.e. the wall-clock time of the night that first saw a household version
  (measured: the only columns that differ between two clean warehouses over the same inputs).

Tables left out: marts.mart_source_freshness, which reports how old each source's last extract is
*now* (it changes with every attempt by design; test_nightly_dag.py leaves it out for the same
reason).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import psycopg
from psycopg import sql

from konvergensi.settings import warehouse_url

SCHEMAS = ("raw", "identity", "restricted", "marts")
RUN_DEPENDENT_COLUMNS = frozenset({
    "batch_id", "extract_id", "gate_run_id", "transform_run_id", "run_id",
    "loaded_at", "extracted_at", "quarantined_at", "recorded_at", "published_at", "built_at", "checked_at",
    "started_at", "finished_at",
    "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to",
})  # fmt: skip
RUN_DEPENDENT_TABLES = frozenset({"marts.mart_source_freshness"})
SNAPSHOT_TIME_COLUMNS = {
    "dim_household": frozenset({"valid_from", "valid_to", "household_version_key"}),
    "fct_household_risk_monthly": frozenset({"household_version_key"}),
}


@dataclass(frozen=True)
class Fingerprint:
    table: str
    rows: int
    checksum: str
    duplicate_rows: int  # rows (compared columns) that occur more than once, beyond their first


def tables(connection: psycopg.Connection, schemas: tuple[str, ...] = SCHEMAS) -> list[str]:
    """Qualified names of the ordinary tables and views in `schemas`, sorted; a partitioned table, not its partitions."""
    rows = connection.execute(
        """
        select n.nspname || '.' || c.relname
        from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
        where n.nspname = any(%s) and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition
        order by 1
        """,
        (list(schemas),),
    ).fetchall()
    return [name for (name,) in rows if name not in RUN_DEPENDENT_TABLES]


def compared_columns(connection: psycopg.Connection, table: str) -> list[str]:
    schema, name = table.split(".", 1)
    rows = connection.execute(
        """
        select a.attname from pg_attribute as a
        where a.attrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        (schema, name),
    ).fetchall()
    left_out = RUN_DEPENDENT_COLUMNS | SNAPSHOT_TIME_COLUMNS.get(name, frozenset())
    return [column for (column,) in rows if column not in left_out]


def fingerprint(connection: psycopg.Connection, table: str) -> Fingerprint:
    schema, name = table.split(".", 1)
    columns = compared_columns(connection, table)
    row_text = sql.SQL("row({})::text").format(sql.SQL(", ").join(map(sql.Identifier, columns))) if columns else sql.SQL("''")
    query = sql.SQL(
        """
        select coalesce(sum(n), 0), coalesce(md5(string_agg(n || ' ' || r, chr(10) order by r)), ''),
               coalesce(sum(n - 1), 0)
        from (select {row_text} as r, count(*) as n from {table} group by 1) as rows
        """
    ).format(row_text=row_text, table=sql.Identifier(schema, name))
    count, checksum, duplicates = connection.execute(query).fetchone()
    return Fingerprint(table, int(count), checksum, int(duplicates))


def fingerprints(url: str | None = None, schemas: tuple[str, ...] = SCHEMAS) -> dict[str, Fingerprint]:
    """Every table's fingerprint, read in one REPEATABLE READ snapshot (a consistent picture)."""
    with psycopg.connect(url or warehouse_url()) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with connection.transaction():
            return {table: fingerprint(connection, table) for table in tables(connection, schemas)}


def differences(left: dict[str, Fingerprint], right: dict[str, Fingerprint]) -> list[str]:
    """One line per table that is missing on one side or differs in count or checksum."""
    said = []
    for table in sorted(set(left) | set(right)):
        a, b = left.get(table), right.get(table)
        if a is None or b is None:
            said.append(f"{table}: only in {'the second' if a is None else 'the first'} warehouse")
        elif (a.rows, a.checksum) != (b.rows, b.checksum):
            said.append(f"{table}: {a.rows:,} rows {a.checksum[:8]} ≠ {b.rows:,} rows {b.checksum[:8]}")
    return said


def table_text(found: dict[str, Fingerprint]) -> str:
    width = max((len(t) for t in found), default=5)
    lines = [f"{'table':<{width}}  {'rows':>10}  {'duplicates':>10}  md5 of the sorted rows",
             f"{'-' * width}  {'-' * 10}  {'-' * 10}  {'-' * 32}"]
    lines += [f"{f.table:<{width}}  {f.rows:>10,}  {f.duplicate_rows:>10,}  {f.checksum}" for f in found.values()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=None, help="warehouse (default WAREHOUSE_URL)")
    parser.add_argument("--schemas", nargs="+", default=list(SCHEMAS))
    parser.add_argument("--compare", nargs=2, metavar=("URL_A", "URL_B"), help="print the tables that differ")
    args = parser.parse_args(argv)
    if args.compare:
        found = differences(fingerprints(args.compare[0], tuple(args.schemas)),
                            fingerprints(args.compare[1], tuple(args.schemas)))
        print("\n".join(found) if found else "The two warehouses hold the same rows in every table.")
        return 1 if found else 0
    print(table_text(fingerprints(args.url, tuple(args.schemas))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
