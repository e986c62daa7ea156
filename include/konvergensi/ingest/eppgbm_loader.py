"""Nightly load of e-PPGBM exports from the landing directory into raw.eppgbm_measurements.

Per file, in one transaction: read (streamed), clean, pseudonymise, COPY the usable rows into
raw.eppgbm_measurements and the unusable ones into raw.eppgbm_quarantine, then record the file in
ops.file_loads. A file already loaded with the same checksum is skipped; a file whose content
changed replaces its earlier rows; a file that cannot be read is recorded as rejected with the
reason, and the other files of the night still load.
"""

from __future__ import annotations

import io
import tempfile
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import psycopg
from psycopg.copy import QueuedLibpqWriter

from konvergensi.db import connect, ensure_schema
from konvergensi.ingest.eppgbm_cleaning import RAW_COLUMNS, clean
from konvergensi.ingest.file_loads import (
    FileResult,
    IngestReport,
    file_checksum,
    previous_versions,
    record_file,
    settle_loaded_tables,
)
from konvergensi.ingest.landing import LandingScan, refused_results, scan_landing
from konvergensi.ingest.readers import UnreadableFile, read_chunks, sniff_format
from konvergensi.pseudonyms import Pseudonymiser
from konvergensi.settings import pseudonym_key

log = logging.getLogger(__name__)

SOURCE = "eppgbm"

EXPORT_SUFFIXES = {".xlsx", ".xls", ".csv", ".html", ".htm", ".txt"}
LINEAGE_COLUMNS = ("batch_id", "source_file", "file_checksum", "source_row")
KEY_COLUMNS = ("child_nik_key", "child_person_key")
MEASUREMENT_COLUMNS = LINEAGE_COLUMNS + RAW_COLUMNS + KEY_COLUMNS
QUARANTINE_COLUMNS = LINEAGE_COLUMNS + ("reason", "record")


def discover_files(landing_dir: Path) -> list[Path]:
    """Every delivered file directly in the landing directory, in a stable order.

    Sub-directories belong to other sources (BKKBN files land in `<landing>/bkkbn/`) and are not
    read. Hidden files and files still being uploaded (`~$…`, `.part`, `.tmp`) are left for a later
    night; symbolic links and other non-regular entries are refused (see landing.scan_landing).
    """
    return _scan(landing_dir).files


def _scan(landing_dir: Path) -> LandingScan:
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing directory {landing_dir} does not exist")
    return scan_landing(landing_dir)


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, null_value="")
    return buffer.getvalue()


class EppgbmLoader:
    """Loads one night's e-PPGBM files; one instance per run."""

    def __init__(self, connection: psycopg.Connection, run_id: str, landing_dir: Path, *, chunk_rows: int = 50_000):
        self.connection = connection
        self.run_id = run_id
        self.landing_dir = landing_dir
        self.chunk_rows = chunk_rows
        self.pseudonyms = Pseudonymiser(pseudonym_key())

    def run(self) -> IngestReport:
        scan = _scan(self.landing_dir)
        files = scan.files
        with self.connection.transaction():
            batch_id = self.connection.execute(
                "insert into ops.load_batches (run_id, landing_dir) values (%s, %s) returning batch_id",
                (self.run_id, str(self.landing_dir)),
            ).fetchone()[0]
        report = IngestReport(self.run_id, batch_id)
        log.info("e-PPGBM: %d file(s) in %s, batch %d", len(files), self.landing_dir, batch_id)
        for number, path in enumerate(files, start=1):
            result = self.load_file(path, batch_id)
            report.files.append(result)
            if result.status == "loaded":
                log.info(
                    "[%d/%d] %s (%s): %d rows, %d loaded, %d quarantined%s (%.1f s)",
                    number, len(files), result.file_name, result.file_format, result.rows_read, result.rows_loaded,
                    result.rows_quarantined, ", replaces an earlier version" if result.replaced_checksum else "",
                    result.seconds,
                )  # fmt: skip
            elif result.status == "rejected":
                log.warning("[%d/%d] %s rejected: %s", number, len(files), result.file_name, result.error)
            else:
                log.debug("[%d/%d] %s skipped: %s", number, len(files), result.file_name, result.error)
        for refused in refused_results(scan, self.landing_dir):
            report.files.append(refused)
            with self.connection.transaction():
                self._record(refused, batch_id)
        if skipped := report.count("skipped"):
            log.info("e-PPGBM: %d file(s) skipped, already loaded with the same content", skipped)
        with self.connection.transaction():
            self.connection.execute("update ops.load_batches set finished_at = now() where batch_id = %s", (batch_id,))
        settle_loaded_tables(self.connection, report, ("raw.eppgbm_measurements", "raw.eppgbm_quarantine"))
        return report

    def load_file(self, path: Path, batch_id: int) -> FileResult:
        started = time.perf_counter()
        name = path.relative_to(self.landing_dir).as_posix()
        checksum = file_checksum(path)
        result = FileResult(name, checksum, None, "loaded")
        previous, duplicate_of = self._previous_versions(name, checksum)
        if previous == checksum:
            result.status, result.error = "skipped", "already loaded with this checksum"
        elif duplicate_of:
            result.status, result.error = "skipped", f"same content as {duplicate_of}, already loaded"
        else:
            try:
                if path.suffix.lower() not in EXPORT_SUFFIXES:
                    raise UnreadableFile(f"unsupported file type {path.suffix or '(none)'}")
                result.file_format = sniff_format(path)
                with self.connection.transaction():
                    if previous:
                        self._forget(name)
                        result.replaced_checksum = previous
                    self._copy_rows(path, result, batch_id)
                    self._record(result, batch_id)
                result.seconds = time.perf_counter() - started
                return result
            except (UnreadableFile, psycopg.DataError, pl.exceptions.PolarsError, OSError) as error:
                result.status, result.error = "rejected", str(error).strip().splitlines()[0]
                result.rows_loaded = result.rows_quarantined = 0
                result.title_lines = []
        with self.connection.transaction():
            self._record(result, batch_id)
        result.seconds = time.perf_counter() - started
        return result

    def _previous_versions(self, name: str, checksum: str) -> tuple[str | None, str | None]:
        return previous_versions(self.connection, SOURCE, name, checksum)

    def _forget(self, name: str) -> None:
        """Delete the rows of the loaded version of a file (found through its batch: BRIN-indexed)."""
        self.connection.execute(
            """
            delete from raw.eppgbm_measurements
            where source_file = %(name)s
              and batch_id = any(array(
                  select batch_id from ops.file_loads
                  where file_name = %(name)s and status = 'loaded' and source = 'eppgbm'))
            """,
            {"name": name},
        )
        self.connection.execute("delete from raw.eppgbm_quarantine where source_file = %s", (name,))

    def _chunks(self, path: Path, result: FileResult, batch_id: int) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
        lineage = [
            pl.lit(batch_id, dtype=pl.Int64).alias("batch_id"),
            pl.lit(result.file_name).alias("source_file"),
            pl.lit(result.checksum).alias("file_checksum"),
        ]
        for chunk in read_chunks(path, result.file_format or "csv", self.chunk_rows, result.title_lines):
            kept, quarantined = clean(chunk)
            result.rows_read += chunk.height
            result.rows_loaded += kept.height
            result.rows_quarantined += quarantined.height
            kept = kept.with_columns(
                *lineage,
                self.pseudonyms.column(kept["nik"], "nik:").alias("child_nik_key"),
                self.pseudonyms.column(kept["person_material"]).alias("child_person_key"),
            ).select(MEASUREMENT_COLUMNS)
            yield kept, quarantined.with_columns(*lineage).select(QUARANTINE_COLUMNS)

    def _copy_rows(self, path: Path, result: FileResult, batch_id: int) -> None:
        # One COPY at a time per connection: quarantined rows wait in a spooled file meanwhile.
        with self.connection.cursor() as cursor, tempfile.SpooledTemporaryFile(max_size=16 << 20) as quarantine:
            statement = f"copy raw.eppgbm_measurements ({', '.join(MEASUREMENT_COLUMNS)}) from stdin (format csv)"
            # The queued writer sends from its own thread: the server parses one chunk while we clean
            # the next. Its queue is bounded (psycopg: 1024 pieces of 128 kB), so memory is too.
            with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
                for kept, quarantined in self._chunks(path, result, batch_id):
                    copy.write(_csv_bytes(kept))
                    if quarantined.height:
                        quarantine.write(_csv_bytes(quarantined))
            if result.rows_quarantined:
                quarantine.seek(0)
                statement = f"copy raw.eppgbm_quarantine ({', '.join(QUARANTINE_COLUMNS)}) from stdin (format csv)"
                with cursor.copy(statement) as copy:
                    while block := quarantine.read(1 << 20):
                        copy.write(block)

    def _record(self, result: FileResult, batch_id: int) -> None:
        record_file(self.connection, SOURCE, self.run_id, result, batch_id)


def ingest_eppgbm(landing_dir: Path, run_id: str, *, url: str | None = None) -> IngestReport:
    """Load every new or changed e-PPGBM export in `landing_dir`; one run at a time.

    The connection is in autocommit mode so that each file's `transaction()` block is a real
    transaction, committed when the file is done (not a savepoint inside one night-long transaction).
    """
    with connect(url, autocommit=True) as connection:
        ensure_schema(connection)
        connection.execute("select pg_advisory_lock(hashtext('konvergensi.ingest.eppgbm'))")
        try:
            return EppgbmLoader(connection, run_id, Path(landing_dir)).run()
        finally:
            connection.execute("select pg_advisory_unlock(hashtext('konvergensi.ingest.eppgbm'))")
