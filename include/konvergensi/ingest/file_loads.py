"""The shared file loader (e-PPGBM exports, BKKBN family data) and its bookkeeping.

Every delivered file gets one row in ops.file_loads per attempt: loaded (with rows read = loaded +
quarantined), skipped (same content already loaded) or rejected (with the reason). A file's loaded
version is known by name and checksum, so a corrected file replaces its earlier rows and the same
content under another name is skipped.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from konvergensi.db import connect, ensure_schema

if TYPE_CHECKING:  # landing imports this module
    from konvergensi.ingest.landing import LandingScan

log = logging.getLogger(__name__)

# Names of files still being written by an upload or an editor: left for a later night.
IN_FLIGHT_MARKERS = ("~$", ".part", ".tmp", ".crdownload", ".partial")


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class FileResult:
    file_name: str
    checksum: str
    file_format: str | None
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    replaced_checksum: str | None = None
    error: str | None = None
    seconds: float = 0.0
    # lines found above the header (a title block added by whoever re-saved the export), as read
    title_lines: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    run_id: str
    batch_id: int
    files: list[FileResult] = field(default_factory=list)
    settle_seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "batch_id": self.batch_id,
            "files_loaded": self.count("loaded"),
            "files_skipped": self.count("skipped"),
            "files_rejected": self.count("rejected"),
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "settle_seconds": round(self.settle_seconds, 1),
            "rejected": [{"file": f.file_name, "error": f.error} for f in self.files if f.status == "rejected"],
        }


def previous_versions(connection: psycopg.Connection, source: str, name: str,
                      checksum: str) -> tuple[str | None, str | None]:
    """(checksum of this name's loaded version, another file of `source` currently loaded with this content)."""
    row = connection.execute(
        """
        with current_versions as (
            select distinct on (file_name) file_name, file_checksum
            from ops.file_loads where status = 'loaded' and source = %(source)s
            order by file_name, file_load_id desc
        )
        select
            (select file_checksum from current_versions where file_name = %(name)s),
            (select min(file_name) from current_versions where file_checksum = %(checksum)s and file_name <> %(name)s)
        """,
        {"source": source, "name": name, "checksum": checksum},
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def record_file(connection: psycopg.Connection, source: str, run_id: str, result: FileResult, batch_id: int) -> None:
    """One ops.file_loads row for this attempt at the file."""
    connection.execute(
        """
        insert into ops.file_loads (source, batch_id, run_id, file_name, file_checksum, file_format, status,
            rows_read, rows_loaded, rows_quarantined, replaced_checksum, error, title_lines, finished_at)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
        """,
        (
            source, batch_id, run_id, result.file_name, result.checksum, result.file_format, result.status,
            result.rows_read, result.rows_loaded, result.rows_quarantined, result.replaced_checksum, result.error,
            result.title_lines or None,
        ),
    )  # fmt: skip


def settle_loaded_tables(connection: psycopg.Connection, report: IngestReport, tables: tuple[str, ...] | list[str]) -> None:
    """VACUUM (ANALYZE) the raw tables a run wrote to, before dbt reads them (no-op when nothing loaded).

    Without it, what the next readers meet depends on autovacuum's timing (measured, issue 12):
    - statistics: an autovacuum ANALYZE that lands while a file's COPY is still open counts none of
      its rows, so the table is left with reltuples = 0 over all its pages; the planner then expects
      one row and the z-score model joins a million rows by nested loops (hundreds of seconds
      instead of a few). Analysing after the commit gives the planner the rows actually there.
    - hint bits: the first scan of freshly copied rows sets them on every page, and with data
      checksums (PostgreSQL 18's default) each such page is written to the WAL in full (about 8 kB a
      page, 620 MB for a million rows) by whichever query reads first. VACUUM does it here once,
      and marks the pages all-visible, so dbt reads clean pages and autovacuum has nothing left to race.
    VACUUM skips pages already all-visible, so a night costs in proportion to what it loaded.
    The connection must be in autocommit mode (VACUUM cannot run inside a transaction block).
    """
    if not tables or not any(f.status == "loaded" for f in report.files):
        return
    started = time.perf_counter()
    connection.execute(f"vacuum (analyze) {', '.join(tables)}")
    report.settle_seconds = time.perf_counter() - started
    log.info("vacuumed and analysed %s (%.1f s)", ", ".join(tables), report.settle_seconds)


class FileLoader:
    """One night's files of one source: discover, then load each file in its own transaction.

    Per file: a file already loaded with the same checksum, or whose content another loaded file
    has, is skipped; a changed file with the same name replaces its earlier rows; a file that cannot
    be read is recorded as rejected with the reason and the other files still load. Subclasses say
    where the files are, how a file is checked (`prepare`) and read into their raw and quarantine
    tables (`copy_rows`), and which errors reject a file (`REJECTED_BY`).
    """

    SOURCE: str
    LABEL: str  # in log lines
    TABLES: tuple[str, str]  # (raw table, quarantine table), both with a source_file column
    REJECTED_BY: tuple[type[BaseException], ...]
    KEEPS_ROWS_READ_OF_REJECTED = False  # True: a rejected file's rows_read says how far reading got
    FILE_FORMAT: str | None = None  # when every file has one; else `prepare` finds it

    def __init__(self, connection: psycopg.Connection, run_id: str, landing_dir: Path):
        self.connection = connection
        self.run_id = run_id
        self.landing_dir = landing_dir

    def scan(self) -> LandingScan:
        """Tonight's files of this source, and the entries refused without being read (symlinks, …)."""
        raise NotImplementedError

    def batch_directory(self) -> Path:
        """The directory recorded in ops.load_batches.landing_dir."""
        return self.landing_dir

    def prepare(self, path: Path, result: FileResult) -> None:
        """Check the file before its transaction starts (raise one of REJECTED_BY to reject it)."""

    def copy_rows(self, path: Path, result: FileResult, batch_id: int) -> None:
        raise NotImplementedError

    def settled_tables(self, report: IngestReport) -> list[str]:
        """What `settle_loaded_tables` vacuums and analyses after the loads (after rows are in place)."""
        return list(self.TABLES)

    def forget(self, name: str) -> None:
        """Delete the rows of the loaded version of file `name`."""
        for table in self.TABLES:
            self.connection.execute(f"delete from {table} where source_file = %s", (name,))

    def run(self) -> IngestReport:
        from konvergensi.ingest.landing import refused_results

        scan = self.scan()
        files = scan.files
        with self.connection.transaction():
            row = self.connection.execute(
                "insert into ops.load_batches (run_id, landing_dir) values (%s, %s) returning batch_id",
                (self.run_id, str(self.batch_directory())),
            ).fetchone()
        assert row is not None
        batch_id = int(row[0])
        report = IngestReport(self.run_id, batch_id)
        log.info("%s: %d file(s) in %s, batch %d", self.LABEL, len(files), self.batch_directory(), batch_id)
        for number, path in enumerate(files, start=1):
            result = self.load_file(path, batch_id)
            report.files.append(result)
            progress = f"{self.LABEL} [{number}/{len(files)}] {result.file_name}"
            if result.status == "loaded":
                log.info(
                    "%s (%s): %d rows, %d loaded, %d quarantined%s (%.1f s)",
                    progress, result.file_format, result.rows_read, result.rows_loaded, result.rows_quarantined,
                    ", replaces an earlier version" if result.replaced_checksum else "", result.seconds,
                )  # fmt: skip
            elif result.status == "rejected":
                log.warning("%s rejected: %s", progress, result.error)
            else:
                log.debug("%s skipped: %s", progress, result.error)
        for refused in refused_results(scan, self.landing_dir):
            report.files.append(refused)
            with self.connection.transaction():
                record_file(self.connection, self.SOURCE, self.run_id, refused, batch_id)
        if skipped := report.count("skipped"):
            log.info("%s: %d file(s) skipped, already loaded with the same content", self.LABEL, skipped)
        with self.connection.transaction():
            self.connection.execute("update ops.load_batches set finished_at = now() where batch_id = %s", (batch_id,))
        settle_loaded_tables(self.connection, report, self.settled_tables(report))
        return report

    def load_file(self, path: Path, batch_id: int) -> FileResult:
        started = time.perf_counter()
        name = path.relative_to(self.landing_dir).as_posix()
        checksum = file_checksum(path)
        result = FileResult(name, checksum, self.FILE_FORMAT, "loaded")
        previous, duplicate_of = previous_versions(self.connection, self.SOURCE, name, checksum)
        if previous == checksum:
            result.status, result.error = "skipped", "already loaded with this checksum"
        elif duplicate_of:
            result.status, result.error = "skipped", f"same content as {duplicate_of}, already loaded"
        else:
            try:
                self.prepare(path, result)
                with self.connection.transaction():
                    if previous:
                        self.forget(name)
                        result.replaced_checksum = previous
                    self.copy_rows(path, result, batch_id)
                    record_file(self.connection, self.SOURCE, self.run_id, result, batch_id)
                result.seconds = time.perf_counter() - started
                return result
            except self.REJECTED_BY as error:
                result.status, result.error = "rejected", str(error).strip().splitlines()[0]
                result.rows_loaded = result.rows_quarantined = 0
                if not self.KEEPS_ROWS_READ_OF_REJECTED:
                    result.rows_read = 0
                result.title_lines = []
        with self.connection.transaction():
            record_file(self.connection, self.SOURCE, self.run_id, result, batch_id)
        result.seconds = time.perf_counter() - started
        return result


def ingest_files(loader: type[FileLoader], landing_dir: Path, run_id: str, url: str | None = None,
                 **options: object) -> IngestReport:
    """Run `loader` over `landing_dir`, one run of this source at a time.

    The connection is in autocommit mode so that each file's `transaction()` block is a real
    transaction, committed when the file is done (not a savepoint inside one night-long transaction).
    """
    lock = f"konvergensi.ingest.{loader.SOURCE}"
    with connect(url, autocommit=True) as connection:
        ensure_schema(connection)
        connection.execute("select pg_advisory_lock(hashtext(%s))", (lock,))
        try:
            return loader(connection, run_id, Path(landing_dir), **options).run()  # type: ignore[call-arg]
        finally:
            connection.execute("select pg_advisory_unlock(hashtext(%s))", (lock,))
