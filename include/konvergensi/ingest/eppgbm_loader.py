"""Nightly load of e-PPGBM exports from the landing directory into raw.eppgbm_measurements.

Per file, in one transaction: read (streamed), clean, pseudonymise, COPY the usable rows into
raw.eppgbm_measurements and the unusable ones into raw.eppgbm_quarantine, then record the file in
ops.file_loads. A file already loaded with the same checksum is skipped; a file whose content
changed replaces its earlier rows; a file that cannot be read is recorded as rejected with the
reason, and the other files of the night still load.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import psycopg
from psycopg.copy import QueuedLibpqWriter

from konvergensi.faults import pause_point
from konvergensi.ingest.eppgbm_cleaning import RAW_COLUMNS, clean
from konvergensi.ingest.file_loads import FileLoader, FileResult, IngestReport, ingest_files
from konvergensi.ingest.landing import LandingScan, scan_landing
from konvergensi.ingest.readers import CHUNK_ROWS, UnreadableFile, read_chunks, sniff_format
from konvergensi.pseudonyms import Pseudonymiser

log = logging.getLogger(__name__)

SOURCE = "eppgbm"

EXPORT_SUFFIXES = {".xlsx", ".xls", ".csv", ".html", ".htm", ".txt"}
LINEAGE_COLUMNS = ("batch_id", "source_file", "file_checksum", "source_row")
KEY_COLUMNS = ("child_nik_key", "child_person_key")
MEASUREMENT_COLUMNS = LINEAGE_COLUMNS + RAW_COLUMNS + KEY_COLUMNS
QUARANTINE_COLUMNS = LINEAGE_COLUMNS + ("reason", "record")


def _scan(landing_dir: Path) -> LandingScan:
    """Every delivered file directly in the landing directory, in a stable order.

    Sub-directories belong to other sources (BKKBN files land in `<landing>/bkkbn/`) and are not
    read. Hidden files and files still being uploaded (`~$…`, `.part`, `.tmp`) are left for a later
    night; symbolic links and other non-regular entries are refused (see landing.scan_landing).
    """
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing directory {landing_dir} does not exist")
    return scan_landing(landing_dir)


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, null_value="")
    return buffer.getvalue()


class EppgbmLoader(FileLoader):
    """Loads one night's e-PPGBM files; one instance per run."""

    SOURCE = SOURCE
    LABEL = "e-PPGBM"
    TABLES = ("raw.eppgbm_measurements", "raw.eppgbm_quarantine")
    REJECTED_BY = (UnreadableFile, psycopg.DataError, pl.exceptions.PolarsError, OSError)
    KEEPS_ROWS_READ_OF_REJECTED = True

    def __init__(self, connection: psycopg.Connection, run_id: str, landing_dir: Path, *, chunk_rows: int = CHUNK_ROWS):
        super().__init__(connection, run_id, landing_dir)
        self.chunk_rows = chunk_rows
        self.pseudonyms = Pseudonymiser.for_warehouse(connection)

    def scan(self) -> LandingScan:
        return _scan(self.landing_dir)

    def prepare(self, path: Path, result: FileResult) -> None:
        if path.suffix.lower() not in EXPORT_SUFFIXES:
            raise UnreadableFile(f"unsupported file type {path.suffix or '(none)'}")
        result.file_format = sniff_format(path)

    def settled_tables(self, report: IngestReport) -> list[str]:
        """Tonight's rows in their month's partition, then those partitions, the parent's statistics and the quarantine.

        Rows whose month had no partition yet landed in the default one: raw.eppgbm_partition_months()
        (SECURITY DEFINER, sql/002_raw_eppgbm.sql) gives each such month its own. Only the partitions
        holding tonight's batch are vacuumed; the parent is analysed alone (ONLY), its statistics a
        sample across the partitions, so the settling grows with the night's rows, not the months.
        """
        if not any(f.status == "loaded" for f in report.files):
            return []
        made = self.connection.execute("select raw.eppgbm_partition_months()").fetchone()[0]
        if made:
            log.info("e-PPGBM: %d new monthly partition(s) of raw.eppgbm_measurements", made)
        touched = [name for (name,) in self.connection.execute(
            "select distinct tableoid::regclass::text from raw.eppgbm_measurements where batch_id = %s order by 1",
            (report.batch_id,))]
        return [*touched, "only raw.eppgbm_measurements", "raw.eppgbm_quarantine"]

    def forget(self, name: str) -> None:
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

    def copy_rows(self, path: Path, result: FileResult, batch_id: int) -> None:
        # One COPY at a time per connection: quarantined rows wait in a spooled file meanwhile.
        with self.connection.cursor() as cursor, tempfile.SpooledTemporaryFile(max_size=16 << 20) as quarantine:
            statement = f"copy raw.eppgbm_measurements ({', '.join(MEASUREMENT_COLUMNS)}) from stdin (format csv)"
            # The queued writer sends from its own thread: the server parses one chunk while we clean
            # the next. Its queue is bounded (psycopg: 1024 pieces of 128 kB), so memory is too.
            with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
                for kept, quarantined in self._chunks(path, result, batch_id):
                    copy.write(_csv_bytes(kept))
                    pause_point("eppgbm_copy")
                    if quarantined.height:
                        quarantine.write(_csv_bytes(quarantined))
            if result.rows_quarantined:
                quarantine.seek(0)
                statement = f"copy raw.eppgbm_quarantine ({', '.join(QUARANTINE_COLUMNS)}) from stdin (format csv)"
                with cursor.copy(statement) as copy:
                    while block := quarantine.read(1 << 20):
                        copy.write(block)


def ingest_eppgbm(landing_dir: Path, run_id: str, *, url: str | None = None) -> IngestReport:
    """Load every new or changed e-PPGBM export in `landing_dir`; one run at a time."""
    return ingest_files(EppgbmLoader, landing_dir, run_id, url)
