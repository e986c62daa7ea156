"""Retention and erasure of personal data (UU PDP 27/2022: destroyed when its period ends; right to erasure).

    python -m konvergensi.retention run [--months N]          # KONVERGENSI_RETENTION_MONTHS by default
    python -m konvergensi.retention erase --nik NIK --reference "Surat 123/2026"
    python -m konvergensi.retention reapply-erasures          # after a night's loads

Run as the warehouse owner (WAREHOUSE_URL). Each command is one transaction.

**Retention** removes the identifiable rows of events older than the retention period the city
sets (`KONVERGENSI_RETENTION_MONTHS`; unset, nothing is removed): e-PPGBM measurements, services,
pregnancies, BKKBN and PUPR surveys, PUPR projects, and the quarantined records (they hold what the
source sent, NIKs included). DTSEN is a mirror of a live register and is not aged out here (the
register decides what it holds; an erasure still applies). The derived person-level tables
(identity, restricted, snapshots, intermediate, the marts' person rows) lose every row whose
pseudonym no longer occurs in raw. The
aggregates are kept: before deleting, the published aggregate tables (the `mart_*` tables of
`marts`, complete and unsuppressed; `bi` is derived from them) are copied whole into ops.retained_aggregates, since the next dbt build
recomputes the marts from what raw still holds. ops.retention_runs records the cutoff and counts.

**Erasure** removes one person by NIK: the rows about them (their measurements — also those of the
same child recorded without a NIK, by its name/birth-date/sex pseudonym — services, pregnancies,
DTSEN membership), their NIK and name where they appear in someone else's row (a mother in her
child's measurement, a head of family in a BKKBN row: cleared, the row stays), quarantined records
containing the NIK, and every row of a derived table carrying one of their pseudonyms.
ops.erasure_log keeps the pseudonyms (never the NIK) and the counts per table, so that
`reapply-erasures` can remove the person again when a later export brings them back.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import date

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from konvergensi import settings
from konvergensi.pseudonyms import RAW_PSEUDONYMS, Pseudonymiser

# table -> the day of its event (rows before the cutoff are removed)
EVENT_DAY: dict[str, str] = {
    "raw.eppgbm_measurements": "measured_on",
    "raw.mch_services": "service_date",
    "raw.mch_pregnancies": "greatest(last_menstrual_date, expected_delivery_date, delivery_date)",
    "raw.bkkbn_families": "surveyed_on",
    "raw.pupr_household_surveys": "surveyed_on",
    "raw.pupr_projects": "coalesce(completed_on, make_date(budget_year, 12, 31))",
    "raw.source_quarantine": "quarantined_at::date",
    "raw.eppgbm_quarantine": "(select started_at::date from ops.load_batches b where b.batch_id = t.batch_id)",
    "raw.bkkbn_quarantine": "(select started_at::date from ops.load_batches b where b.batch_id = t.batch_id)",
}
NOT_DERIVED_SCHEMAS = ("raw", "ops", "access", "reference", "public", "information_schema")
QUARANTINES = ("raw.source_quarantine", "raw.eppgbm_quarantine", "raw.bkkbn_quarantine")
# Rows ABOUT the person, by pseudonym column.
SUBJECT_ROWS: tuple[tuple[str, str], ...] = (
    ("raw.eppgbm_measurements", "child_nik_key"),
    ("raw.eppgbm_measurements", "child_person_key"),
    ("raw.mch_services", "nik_key"),
    ("raw.mch_pregnancies", "mother_nik_key"),
    ("raw.dtsen_members", "nik_key"),
)
# The person named in someone else's row: (table, pseudonym column, columns cleared with it).
MENTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("raw.mch_services", "mother_nik_key", ("mother_nik",)),
    ("raw.bkkbn_families", "head_nik_key", ("head_nik", "head_name")),
    ("raw.bkkbn_families", "wife_nik_key", ("wife_nik", "wife_nik_raw", "wife_name", "wife_birth_date")),
)


def _table(name: str) -> sql.Identifier:
    return sql.Identifier(*name.split("."))


@dataclass
class Outcome:
    rows_by_table: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, rows: int) -> None:
        if rows:
            self.rows_by_table[table] = self.rows_by_table.get(table, 0) + rows

    def lines(self, title: str) -> list[str]:
        width = max((len(t) for t in self.rows_by_table), default=5)
        body = [f"  {t:<{width}} {n:>9} rows" for t, n in sorted(self.rows_by_table.items())] or ["  nothing to remove"]
        return [title, *body]


def _derived_key_columns(connection: psycopg.Connection) -> list[tuple[str, str, str]]:
    """Every `*_key` text column of the tables dbt builds (identity, intermediate, snapshots, marts …)."""
    return connection.execute(
        """
        select c.table_schema, c.table_name, c.column_name
        from information_schema.columns c
        join information_schema.tables t using (table_schema, table_name)
        where t.table_type = 'BASE TABLE' and c.table_schema <> all(%s) and c.table_schema not like 'pg\\_%%'
          and c.column_name like '%%\\_key' and c.data_type in ('text', 'character varying')
        order by 1, 2, 3
        """,
        (list(NOT_DERIVED_SCHEMAS),),
    ).fetchall()


def _delete_derived(connection: psycopg.Connection, outcome: Outcome) -> None:
    """Delete rows of derived person-level tables carrying a pseudonym of temp table gone_keys."""
    for schema, table, column in _derived_key_columns(connection):
        statement = sql.SQL("delete from {} as t where t.{} in (select key from gone_keys)").format(
            sql.Identifier(schema, table), sql.Identifier(column))
        outcome.add(f"{schema}.{table}", connection.execute(statement).rowcount)


# Retention ---------------------------------------------------------------------------------------


def cutoff_for(months: int, today: date | None = None) -> date:
    """The first day kept: the same day `months` months ago (days past the 28th count as the 28th)."""
    today = today or date.today()
    month = today.month - months
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    day = min(today.day, 28)
    return date(year, month, day)


def _keep_aggregates(connection: psycopg.Connection, run_id: int) -> int:
    tables = connection.execute(
        """
        select table_schema, table_name from information_schema.tables
        where table_type = 'BASE TABLE'
          and table_schema = 'marts' and table_name like 'mart\\_%%'
        order by 1, 2
        """
    ).fetchall()
    kept = 0
    for schema, table in tables:
        kept += connection.execute(
            sql.SQL("insert into ops.retained_aggregates (retention_run_id, source_table, row_data) "
                    "select %s, %s, to_jsonb(a) from {} as a").format(sql.Identifier(schema, table)),
            (run_id, f"{schema}.{table}"),
        ).rowcount
    return kept


def run_retention(connection: psycopg.Connection, months: int, today: date | None = None) -> tuple[int, date, Outcome]:
    """Remove identifiable rows of events before the cutoff; returns (retention_run_id, cutoff, counts)."""
    cutoff = cutoff_for(months, today)
    outcome = Outcome()
    with connection.transaction():
        run_id = connection.execute(
            "insert into ops.retention_runs (months, cutoff, rows_by_table, aggregates_kept) values (%s, %s, '{}', 0) "
            "returning retention_run_id", (months, cutoff)).fetchone()[0]
        kept = _keep_aggregates(connection, run_id)
        key_columns: dict[str, list[str]] = {}
        for table, column, _ in RAW_PSEUDONYMS:
            key_columns.setdefault(table, []).append(column)
        gone: set[str] = set()
        for table, day in EVENT_DAY.items():
            columns = key_columns.get(table, [])
            returning = sql.SQL(" returning {}").format(sql.SQL(", ").join(map(sql.Identifier, columns))) if columns else sql.SQL("")
            statement = sql.SQL("delete from {} as t where {} < %s{}").format(_table(table), sql.SQL(day), returning)
            with connection.cursor() as cursor:
                cursor.execute(statement, (cutoff,))
                outcome.add(table, cursor.rowcount)
                if columns:
                    gone.update(key for row in cursor.fetchall() for key in row if key is not None)
        connection.execute("create temp table gone_keys (key text primary key) on commit drop")
        with connection.cursor().copy("copy gone_keys (key) from stdin") as copy:
            for key in gone:
                copy.write_row((key,))
        # a pseudonym that still occurs in raw (a child measured again since) stays
        for table, column, _ in RAW_PSEUDONYMS:
            connection.execute(sql.SQL("delete from gone_keys g where exists (select 1 from {} r where r.{} = g.key)").format(
                _table(table), sql.Identifier(column)))
        _delete_derived(connection, outcome)
        connection.execute("update ops.retention_runs set rows_by_table = %s, aggregates_kept = %s where retention_run_id = %s",
                           (Jsonb(outcome.rows_by_table), kept, run_id))
    return run_id, cutoff, outcome


# Erasure -----------------------------------------------------------------------------------------


class NotAnIdentifier(ValueError):
    """The NIK given is not 16 digits with a plausible region and birth date."""


def subject_keys(connection: psycopg.Connection, pseudonymiser: Pseudonymiser, nik: str) -> list[str]:
    """The person's pseudonyms: of the NIK, and of the same child recorded by name, birth date and sex."""
    nik_key = pseudonymiser.one("nik:" + nik)
    people = connection.execute(
        "select distinct child_person_key from raw.eppgbm_measurements where child_nik_key = %s", (nik_key,)
    ).fetchall()
    return [nik_key, *sorted(key for (key,) in people)]


def _apply(connection: psycopg.Connection, keys: list[str], outcome: Outcome) -> None:
    """Remove what the pseudonyms `keys` identify (inside the caller's transaction)."""
    connection.execute("create temp table if not exists gone_keys (key text primary key) on commit drop")
    connection.execute("truncate gone_keys")
    with connection.cursor().copy("copy gone_keys (key) from stdin") as copy:
        for key in dict.fromkeys(keys):
            copy.write_row((key,))
    for table, column, cleared in MENTIONS:
        assignments = sql.SQL(", ").join(sql.SQL("{} = null").format(sql.Identifier(c)) for c in (column, *cleared))
        outcome.add(table, connection.execute(sql.SQL("update {} set {} where {} in (select key from gone_keys)").format(
            _table(table), assignments, sql.Identifier(column))).rowcount)
    for table, column in SUBJECT_ROWS:
        outcome.add(table, connection.execute(sql.SQL("delete from {} where {} in (select key from gone_keys)").format(
            _table(table), sql.Identifier(column))).rowcount)
    _delete_derived(connection, outcome)


def erase(connection: psycopg.Connection, nik: str, reference: str) -> tuple[int, Outcome]:
    """Erase one person by NIK in one transaction; returns (erasure_id, counts per table)."""
    from konvergensi.extract.records import normalise_nik

    valid, _ = normalise_nik(nik)
    if valid is None:
        raise NotAnIdentifier("the NIK is not 16 digits with a plausible region, birth day and month")
    if not reference.strip():
        raise ValueError("give the request's reference (--reference): the audit row must say why")
    pseudonymiser = Pseudonymiser.for_warehouse(connection)
    outcome = Outcome()
    with connection.transaction():
        keys = subject_keys(connection, pseudonymiser, valid)
        # in clear, where no pseudonym exists: the mother's NIK in e-PPGBM rows, quarantined records
        outcome.add("raw.eppgbm_measurements", connection.execute(
            "update raw.eppgbm_measurements set parent_nik = null, parent_name = null where parent_nik = %s",
            (valid,)).rowcount)
        for table in QUARANTINES:
            outcome.add(table, connection.execute(
                sql.SQL("delete from {} where strpos(record::text, %s) > 0").format(_table(table)), (valid,)).rowcount)
        _apply(connection, keys, outcome)
        erasure_id = connection.execute(
            "insert into ops.erasure_log (subject_keys, key_id, reference, rows_by_table) values (%s, %s, %s, %s) "
            "returning erasure_id", (keys, pseudonymiser.key_id, reference.strip(), Jsonb(outcome.rows_by_table)),
        ).fetchone()[0]
    return erasure_id, outcome


def reapply_erasures(connection: psycopg.Connection) -> Outcome:
    """Remove again every erased person a later load brought back (by the pseudonyms in ops.erasure_log)."""
    outcome = Outcome()
    with connection.transaction():
        keys = [key for (key,) in connection.execute("select distinct unnest(subject_keys) from ops.erasure_log")]
        if keys:
            _apply(connection, keys, outcome)
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="remove identifiable rows past the retention period")
    run.add_argument("--months", type=int, help="default: KONVERGENSI_RETENTION_MONTHS")
    one = commands.add_parser("erase", help="erase one person by NIK (right to erasure)")
    one.add_argument("--nik", required=True)
    one.add_argument("--reference", required=True, help="the request: letter number or ticket")
    commands.add_parser("reapply-erasures", help="remove erased people a later export brought back")
    parser.add_argument("--url", help="warehouse URL, as its owner (default WAREHOUSE_URL)")
    args = parser.parse_args(argv)
    from konvergensi.db import connect, ensure_schema

    with connect(args.url, autocommit=True) as connection:
        ensure_schema(connection)
        if args.command == "run":
            months = args.months or settings.retention_months()
            if months is None:
                print("KONVERGENSI_RETENTION_MONTHS is not set: the city has set no retention period, nothing removed")
                return 0
            run_id, cutoff, outcome = run_retention(connection, months)
            print("\n".join(outcome.lines(f"Retention run {run_id}: {months} months, rows of events before {cutoff} removed")))
        elif args.command == "erase":
            try:
                erasure_id, outcome = erase(connection, args.nik, args.reference)
            except ValueError as error:
                print(f"erase refused: {error}", file=sys.stderr)
                return 2
            print("\n".join(outcome.lines(f"Erasure {erasure_id} ({args.reference}): rows removed or cleared")))
        else:
            print("\n".join(reapply_erasures(connection).lines("Erasures applied again")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
