"""Publish tonight's audited marts: the audit schema becomes `marts` in one transaction.

Only the pipeline calls this, and only after the gate passed. publish() checks that itself as well
(defence in depth): it refuses unless the latest ops.gate_runs row of the run is a success for the
very schema being published.

How the swap behaves for readers (checked on PostgreSQL 18):

* The swap is two `ALTER SCHEMA ... RENAME` in one transaction: `marts` -> `marts_previous`, then
  the audit schema -> `marts`. A rename only updates the schema's pg_namespace row; it takes no lock
  on the tables inside, so it neither waits for running queries nor blocks new ones, and it commits
  in milliseconds. Until the commit every session resolves `marts.x` to yesterday's tables, after
  it to tonight's: there is no moment without a `marts` schema and no mix of old and new tables.
* A query that was already running keeps reading yesterday's tables (now `marts_previous.x`) to
  its end. Dropping `marts_previous` needs an ACCESS EXCLUSIVE lock on each of those tables, so it
  would wait for such readers and, while waiting, queue every later reader behind it. That is why
  the drop is a separate transaction after the swap, under a short lock_timeout: if a long report
  still holds yesterday's tables the drop gives up, the publish still counts, and the next
  publish drops the leftover before swapping.
* Caveat: a REPEATABLE READ or SERIALIZABLE transaction whose snapshot predates tonight's dbt build
  sees tonight's tables as empty (their rows were committed after its snapshot). Readers in the
  default READ COMMITTED level always see either the complete old or the complete new marts.

The person-level lists for the field teams (case follow-up, schema `restricted_audit`) and the two
consumption layers (docs/privacy.md: `analyst_audit`, row-level and pseudonymised, and `bi_audit`,
aggregates with small cells suppressed) are gated with the marts and swapped into `restricted`,
`analyst` and `bi` in the same transaction, so the lists, the consumption layers and the marts always
describe the same night. Each of them is swapped when tonight's build made it (a warehouse set up
before it existed keeps publishing the marts); an existing but empty one refuses the publish.

After the swap the audit schemas no longer exist, so the next night's dbt creates them afresh.
Tonight's tables are new objects, so the swap's transaction also grants them as docs/roles.md says
(konvergensi.roles.secure_published): SELECT on `analyst` for the analysts, on `bi` for the analysts
and the BI role (`marts` stays internal: transformer and admins), SELECT on `restricted` for the caseworkers under row-level security (each login sees only its assigned
kelurahan or puskesmas). The publish runs as the transformer role, which owns what dbt built and may
therefore rename, drop and grant it; the roles themselves are created by `python -m konvergensi.roles
apply` before the night.

    python -m konvergensi.publish RUN_ID [--source marts_audit] [--target marts]
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg import sql

from konvergensi import db, roles, settings
from konvergensi.faults import pause_point
from konvergensi.gate import check_identifier

PREVIOUS_SUFFIX = "_previous"
LOCK_TIMEOUT = "10s"
# Any constant shared by all publishers: serialises concurrent publishes of the same warehouse.
_PUBLISH_LOCK_KEY = 74_201_905

log = logging.getLogger(__name__)


class PublishRefused(RuntimeError):
    """The run has no successful gate for the source schema: nothing was changed."""


class PublishError(RuntimeError):
    """The swap could not be done (e.g. the source schema is missing): nothing was changed."""


@dataclass(frozen=True)
class PublishResult:
    run_id: str
    source_schema: str
    target_schema: str
    tables: list[str]
    gate_run_id: int
    restricted_tables: list[str]
    published_at: datetime
    previous_dropped: bool
    layer_tables: dict[str, list[str]] = field(default_factory=dict)  # published schema -> its tables


def publish(run_id: str, source_schema: str | None = None,
            target_schema: str = settings.PUBLISHED_MARTS_SCHEMA) -> PublishResult:
    """Replace `target_schema` by `source_schema` (default: the audit schema) atomically.

    `source_schema` defaults at call time, not import time, so KONVERGENSI_MARTS_SCHEMA set by the
    caller is honoured.
    """
    source = check_identifier(source_schema or settings.marts_audit_schema())
    target = check_identifier(target_schema)
    previous = check_identifier(target + PREVIOUS_SUFFIX)
    if source in (target, previous):
        raise ValueError(f"source schema {source!r} must differ from {target!r} and {previous!r}")

    # autocommit: every step below is its own explicit transaction block
    # (audit schema, published schema, previous generation) of everything swapped with the marts
    companions = [
        (check_identifier(audit), check_identifier(published), check_identifier(published + PREVIOUS_SUFFIX))
        for audit, published in (
            (settings.restricted_audit_schema(), settings.PUBLISHED_RESTRICTED_SCHEMA),
            (settings.analyst_audit_schema(), settings.PUBLISHED_ANALYST_SCHEMA),
            (settings.bi_audit_schema(), settings.PUBLISHED_BI_SCHEMA),
        )
    ]
    with db.connect(autocommit=True) as conn:
        _successful_gate(conn, run_id, source)
        _drop_schema(conn, previous, must_succeed=True)
        for _, _, companion_previous in companions:
            _drop_schema(conn, companion_previous, must_succeed=True)
        with conn.transaction():
            conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
            conn.execute("select pg_advisory_xact_lock(%s)", (_PUBLISH_LOCK_KEY,))
            gate_run_id, tables, published_at = _swap(conn, run_id, source, target, previous)
            layer_tables: dict[str, list[str]] = {}
            for companion_source, companion_target, companion_previous in companions:
                if _schema_exists(conn, companion_source):
                    layer_tables[companion_target] = _rename_pair(
                        conn, companion_source, companion_target, companion_previous)
            pause_point("publish")
            roles.secure_published(conn)
        dropped = _drop_schema(conn, previous, must_succeed=False)
        for _, _, companion_previous in companions:
            _drop_schema(conn, companion_previous, must_succeed=False)
    restricted_tables = layer_tables.get(settings.PUBLISHED_RESTRICTED_SCHEMA, [])
    log.info("published %s as %s for run %s (%d tables; %s)", source, target, run_id, len(tables),
             ", ".join(f"{len(names)} in {schema}" for schema, names in layer_tables.items()) or "nothing else")
    return PublishResult(
        run_id=run_id,
        source_schema=source,
        target_schema=target,
        tables=tables,
        gate_run_id=gate_run_id,
        restricted_tables=restricted_tables,
        published_at=published_at,
        previous_dropped=dropped,
        layer_tables=layer_tables,
    )


def _swap(conn: psycopg.Connection, run_id: str, source: str, target: str,
          previous: str) -> tuple[int, list[str], datetime]:
    """The marts' swap; runs inside the caller's transaction (with the restricted lists' swap)."""
    gate_run_id = _successful_gate(conn, run_id, source)
    tables = _rename_pair(conn, source, target, previous)
    row = conn.execute(
        """
        insert into ops.publish_log (run_id, source_schema, target_schema)
        values (%s, %s, %s)
        returning published_at
        """,
        (run_id, source, target),
    ).fetchone()
    assert row is not None
    return gate_run_id, tables, row[0]


def _rename_pair(conn: psycopg.Connection, source: str, target: str, previous: str) -> list[str]:
    """`target` → `previous`, `source` → `target`; refuses a missing or empty source."""
    if not _schema_exists(conn, source):
        raise PublishError(f"schema {source} does not exist: nothing to publish")
    tables = _tables(conn, source)
    if not tables:
        raise PublishError(f"schema {source} has no tables: refusing to publish an empty {target}")
    if _schema_exists(conn, target):
        conn.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(target), sql.Identifier(previous)))
    conn.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(source), sql.Identifier(target)))
    return tables


def _successful_gate(conn: psycopg.Connection, run_id: str, source: str) -> int:
    row = conn.execute(
        """
        select gate_run_id, success, schema_name
        from ops.gate_runs
        where run_id = %s
        order by gate_run_id desc
        limit 1
        """,
        (run_id,),
    ).fetchone()
    if row is None:
        raise PublishRefused(f"run {run_id} has no gate run in ops.gate_runs: refusing to publish")
    gate_run_id, success, schema_name = row
    if not success:
        raise PublishRefused(
            f"the latest gate run of run {run_id} (gate_run_id {gate_run_id}) failed: refusing to publish"
        )
    if schema_name != source:
        raise PublishRefused(
            f"the latest gate run of run {run_id} validated {schema_name}, not {source}: refusing to publish"
        )
    return int(gate_run_id)


def _drop_schema(conn: psycopg.Connection, schema: str, *, must_succeed: bool) -> bool:
    """Drop a previous generation of the marts; True when it is gone afterwards."""
    try:
        with conn.transaction():
            conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    except psycopg.errors.LockNotAvailable as exc:
        if must_succeed:
            raise PublishError(
                f"{schema} is still in use and could not be dropped within {LOCK_TIMEOUT}: nothing was changed"
            ) from exc
        log.warning("%s is still in use; it will be dropped by the next publish", schema)
        return False
    return True


def _schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    row = conn.execute("select exists (select from pg_namespace where nspname = %s)", (schema,)).fetchone()
    return bool(row and row[0])


def _tables(conn: psycopg.Connection, schema: str) -> list[str]:
    rows = conn.execute(
        """
        select c.relname
        from pg_class as c
        join pg_namespace as n on n.oid = c.relnamespace
        where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition
        order by c.relname
        """,
        (schema,),
    ).fetchall()
    return [row[0] for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_id")
    parser.add_argument("--source", default=None, help="audited schema (default: the audit schema)")
    parser.add_argument("--target", default=settings.PUBLISHED_MARTS_SCHEMA)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        result = publish(args.run_id, args.source, args.target)
    except (PublishRefused, PublishError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"published {result.source_schema} as {result.target_schema} for run {result.run_id}: "
          f"{len(result.tables)} tables at {result.published_at:%Y-%m-%d %H:%M:%S %Z}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
