"""One extract of one pulled source: fetch the window, validate, apply in one transaction.

1. Under a per-source advisory lock, record the attempt in ops.source_extracts ('running').
2. Ask for `updated_since = watermark − 1 day` (everything on the first run). Stream the pages:
   each record is mapped to raw columns and written to a spooled CSV file per raw table (memory
   stays flat), or written with its reason to the quarantine spool.
3. In ONE transaction: COPY the spools into temporary tables, upsert into the raw tables (a row is
   only touched when the source sent a version at least as new that differs), refresh the
   source's quarantine rows, move the watermark, and mark the extract 'loaded'.
Any failure rolls the transaction back, marks the extract 'failed' with the error in a
transaction of its own, and raises: SourceUnavailable (retrying later may help) or SourceRejected.

The new watermark is the largest `updated_at` among the records loaded, never later than the
extract's start (a source clock running ahead must not make us skip tomorrow's changes).
`attempts` counts every request made to the source, retries included.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import IO

import psycopg
from psycopg import sql

from konvergensi.db import connect, ensure_schema
from konvergensi.faults import pause_point
from konvergensi.extract.errors import ExtractError, SourceRejected
from konvergensi.extract.http import RetryPolicy
from konvergensi.extract.records import MappingContext, Unusable
from konvergensi.extract.sources import SOURCES, FetchRun, Source
from konvergensi.extract.targets import Target
from konvergensi.pseudonyms import Pseudonymiser

log = logging.getLogger(__name__)

REREAD_WINDOW = timedelta(days=1)
SPOOL_BYTES = 8 << 20


@dataclass
class ExtractReport:
    source: str
    run_id: str
    extract_id: int
    status: str = "running"
    watermark_from: datetime | None = None
    watermark_to: datetime | None = None
    records_read: int = 0
    records_loaded: int = 0
    records_quarantined: int = 0
    rows_changed: int = 0  # raw rows inserted or updated (records re-sent unchanged do not count)
    pages: int = 0
    attempts: int = 0
    seconds: float = 0.0
    changed_by_table: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready (for XCom)."""
        return {
            "source": self.source,
            "run_id": self.run_id,
            "extract_id": self.extract_id,
            "status": self.status,
            "watermark_from": self.watermark_from.isoformat() if self.watermark_from else None,
            "watermark_to": self.watermark_to.isoformat() if self.watermark_to else None,
            "records_read": self.records_read,
            "records_loaded": self.records_loaded,
            "records_quarantined": self.records_quarantined,
            "rows_changed": self.rows_changed,
            "changed_by_table": dict(self.changed_by_table),
            "pages": self.pages,
            "attempts": self.attempts,
            "seconds": round(self.seconds, 2),
        }


def _csv_value(value: object) -> object:
    """A value as PostgreSQL's CSV COPY reads it (an unquoted empty field is NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


class _Spool:
    """Rows for one COPY, as CSV text in memory up to a limit, then in a temporary file."""

    def __init__(self) -> None:
        self.file: IO[str] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+", newline="", encoding="utf-8")
        self.writer = csv.writer(self.file)
        self.rows = 0

    def write(self, values: list[object]) -> None:
        self.writer.writerow([_csv_value(v) for v in values])
        self.rows += 1

    def copy_into(self, cursor: psycopg.Cursor, statement: sql.Composable) -> None:
        self.file.seek(0)
        with cursor.copy(statement) as copy:
            while block := self.file.read(1 << 20):
                copy.write(block)

    def close(self) -> None:
        self.file.close()


def _quarantine_id(target: Target, record: object, multi_table: bool) -> str:
    """The record's id, or a stable one made from its content when it has none."""
    record_id = target.record_id(record) if isinstance(record, dict) else None
    if record_id is None:
        content = json.dumps(record, sort_keys=True, default=str).encode("utf-8")
        record_id = "missing-id:" + hashlib.sha256(content).hexdigest()[:16]
    return f"{target.name}:{record_id}" if multi_table else record_id


class Extractor:
    def __init__(self, connection: psycopg.Connection, source: Source, run_id: str, policy: RetryPolicy) -> None:
        self.connection = connection
        self.source = source
        self.run_id = run_id
        self.policy = policy
        self.multi_table = len(source.targets) > 1

    def run(self) -> ExtractReport:
        started = time.perf_counter()
        extracted_at = datetime.now(UTC)
        name = self.source.name
        pseudonymiser = Pseudonymiser.for_warehouse(self.connection)  # refuses a key other than the warehouse's
        with self.connection.transaction():
            # Under the source's lock no other extract of it runs: a 'running' row is one whose process
            # died (kill -9, a warehouse restart); its transaction was rolled back, so it loaded nothing.
            self.connection.execute(
                """
                update ops.source_extracts
                set status = 'failed', finished_at = now(),
                    error = 'abandoned: the extracting process ended before it finished; nothing of it was loaded'
                where source = %s and status = 'running'
                """,
                (name,),
            )
            row = self.connection.execute(
                "select watermark from ops.source_watermarks where source = %s", (name,)
            ).fetchone()
            watermark = row[0] if row else None
            since = watermark - REREAD_WINDOW if watermark else None
            extract_id = self.connection.execute(
                "insert into ops.source_extracts (source, run_id, watermark_from, status) values (%s, %s, %s, 'running') "
                "returning extract_id",
                (name, self.run_id, since),
            ).fetchone()[0]
        report = ExtractReport(name, self.run_id, extract_id, watermark_from=since, watermark_to=watermark)
        fetch = FetchRun(name, since, self.policy)
        spools = {target.name: _Spool() for target in self.source.targets}
        loaded_ids, quarantine = _Spool(), _Spool()
        try:
            newest = self._read(fetch, report, spools, loaded_ids, quarantine, MappingContext(extracted_at, pseudonymiser))
            if newest is not None:
                newest = min(newest, extracted_at)
                report.watermark_to = max(newest, watermark) if watermark else newest
            report.attempts = fetch.attempts
            self._apply(report, spools, loaded_ids, quarantine)
        except BaseException as error:
            report.attempts = fetch.attempts
            self._fail(report, error)
            if isinstance(error, ExtractError) or not isinstance(error, Exception):
                raise
            if isinstance(error, psycopg.Error):
                raise
            raise SourceRejected(f"{name}: extract failed: {type(error).__name__}: {error}") from error
        finally:
            for spool in (*spools.values(), loaded_ids, quarantine):
                spool.close()
        report.status = "loaded"
        report.seconds = time.perf_counter() - started
        log.info(
            "%s: extract %d loaded: %d read, %d loaded, %d quarantined, %d raw rows changed, %d page(s), %d request(s)",
            name, extract_id, report.records_read, report.records_loaded, report.records_quarantined,
            report.rows_changed, report.pages, report.attempts,
        )  # fmt: skip
        return report

    def _read(
        self,
        fetch: FetchRun,
        report: ExtractReport,
        spools: dict[str, _Spool],
        loaded_ids: _Spool,
        quarantine: _Spool,
        context: MappingContext,
    ) -> datetime | None:
        """Validate and spool every record; return the newest updated_at among the records kept."""
        newest: datetime | None = None
        for page in self.source.fetch(fetch):
            report.pages += 1
            target = self.source.target(page.target)
            spool = spools[target.name]
            for record in page.records:
                report.records_read += 1
                record_id = _quarantine_id(target, record, self.multi_table)
                try:
                    if not isinstance(record, dict):
                        raise Unusable(f"record is a {type(record).__name__}, not an object")
                    row = target.mapper(record, context)
                except Unusable as reason:
                    quarantine.write([record_id, f"{target.name}: {reason}", json.dumps(record, default=str)])
                    report.records_quarantined += 1
                    continue
                spool.write([row[c] for c in target.columns] + [report.extract_id])
                loaded_ids.write([record_id])
                report.records_loaded += 1
                if newest is None or row["updated_at"] > newest:
                    newest = row["updated_at"]
        return newest

    def _apply(self, report: ExtractReport, spools: dict[str, _Spool], loaded_ids: _Spool, quarantine: _Spool) -> None:
        name = self.source.name
        with self.connection.transaction(), self.connection.cursor() as cursor:
            for target in self.source.targets:
                changed = self._upsert(cursor, target, spools[target.name])
                report.changed_by_table[target.table] = changed
                report.rows_changed += changed
                pause_point("extract")
            cursor.execute(
                "create temp table stage_quarantine (seq bigserial, record_id text, reason text, record jsonb) on commit drop"
            )
            quarantine.copy_into(cursor, sql.SQL("copy stage_quarantine (record_id, reason, record) from stdin (format csv)"))
            cursor.execute("create temp table stage_loaded_ids (record_id text) on commit drop")
            loaded_ids.copy_into(cursor, sql.SQL("copy stage_loaded_ids (record_id) from stdin (format csv)"))
            cursor.execute(
                """
                insert into raw.source_quarantine as q (source, record_id, extract_id, reason, record)
                select distinct on (record_id) %(source)s, record_id, %(extract_id)s, reason, record
                from stage_quarantine order by record_id, seq desc
                on conflict (source, record_id) do update
                    set extract_id = excluded.extract_id, reason = excluded.reason, record = excluded.record,
                        quarantined_at = now()
                    where (q.reason, q.record) is distinct from (excluded.reason, excluded.record)
                """,
                {"source": name, "extract_id": report.extract_id},
            )
            cursor.execute(
                """
                delete from raw.source_quarantine q
                where q.source = %s
                  and q.record_id in (select record_id from stage_loaded_ids)
                  and q.record_id not in (select record_id from stage_quarantine)
                """,
                (name,),
            )
            if report.watermark_to is not None:
                cursor.execute(
                    """
                    insert into ops.source_watermarks (source, watermark, extract_id) values (%s, %s, %s)
                    on conflict (source) do update
                        set watermark = greatest(ops.source_watermarks.watermark, excluded.watermark),
                            extract_id = excluded.extract_id, updated_at = now()
                    """,
                    (name, report.watermark_to, report.extract_id),
                )
            cursor.execute(
                """
                update ops.source_extracts
                set status = 'loaded', watermark_to = %s, records_read = %s, records_loaded = %s,
                    records_quarantined = %s, pages = %s, attempts = %s, finished_at = now()
                where extract_id = %s
                """,
                (
                    report.watermark_to, report.records_read, report.records_loaded, report.records_quarantined,
                    report.pages, report.attempts, report.extract_id,
                ),
            )  # fmt: skip

    def _upsert(self, cursor: psycopg.Cursor, target: Target, spool: _Spool) -> int:
        """Apply the spooled rows of one raw table; return how many raw rows were inserted or updated."""
        schema, table = target.table.split(".")
        raw = sql.Identifier(schema, table)
        stage = sql.Identifier(f"stage_{table}")
        columns = [*target.columns, "extract_id"]
        column_list = sql.SQL(", ").join(map(sql.Identifier, columns))
        key_list = sql.SQL(", ").join(map(sql.Identifier, target.key))
        compared = [c for c in target.columns if c not in target.key]
        cursor.execute(sql.SQL("create temp table {} (like {}) on commit drop").format(stage, raw))
        spool.copy_into(cursor, sql.SQL("copy {} ({}) from stdin (format csv)").format(stage, column_list))
        cursor.execute(
            sql.SQL(
                """
                insert into {raw} as t ({columns})
                select distinct on ({keys}) {columns} from {stage} order by {keys}, updated_at desc
                on conflict ({keys}) do update set {assignments}
                where excluded.updated_at >= t.updated_at
                  and ({old}) is distinct from ({new})
                """
            ).format(
                raw=raw,
                columns=column_list,
                keys=key_list,
                stage=stage,
                assignments=sql.SQL(", ").join(
                    sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c)) for c in columns if c not in target.key
                ),
                old=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in compared),
                new=sql.SQL(", ").join(sql.SQL("excluded.{}").format(sql.Identifier(c)) for c in compared),
            )
        )
        return cursor.rowcount

    def _fail(self, report: ExtractReport, error: BaseException) -> None:
        report.status = "failed"
        message = str(error).strip() or type(error).__name__
        log.error("%s: extract %d failed: %s", self.source.name, report.extract_id, message)
        try:
            with self.connection.transaction():
                self.connection.execute(
                    """
                    update ops.source_extracts
                    set status = 'failed', error = %s, records_read = %s, records_loaded = %s,
                        records_quarantined = %s, pages = %s, attempts = %s, finished_at = now()
                    where extract_id = %s
                    """,
                    (
                        message[:4000], report.records_read, report.records_loaded, report.records_quarantined,
                        report.pages, report.attempts, report.extract_id,
                    ),
                )  # fmt: skip
        except psycopg.Error as bookkeeping_error:
            log.error("%s: could not record the failed extract %d: %s", self.source.name, report.extract_id, bookkeeping_error)


def _lock_key(source: str) -> str:
    return f"konvergensi.extract.{source}"


def extract_source(name: str, run_id: str, *, url: str | None = None, policy: RetryPolicy | None = None) -> ExtractReport:
    """Extract one source (a key of SOURCES) into raw; at most one extract per source at a time.

    `url` is the warehouse (default WAREHOUSE_URL); `policy` the HTTP retry policy (default from the
    KONVERGENSI_HTTP_* settings). Raises SourceUnavailable or SourceRejected after recording the
    failed extract.
    """
    source = SOURCES.get(name)
    if source is None:
        raise ValueError(f"unknown source {name!r}: expected one of {', '.join(SOURCES)}")
    policy = policy or RetryPolicy.from_settings()
    with connect(url, autocommit=True) as connection:
        ensure_schema(connection)
        connection.execute("select pg_advisory_lock(hashtext(%s))", (_lock_key(name),))
        try:
            return Extractor(connection, source, run_id, policy).run()
        finally:
            if not connection.closed:
                connection.execute("select pg_advisory_unlock(hashtext(%s))", (_lock_key(name),))
