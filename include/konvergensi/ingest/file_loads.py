"""Bookkeeping shared by the file loaders (e-PPGBM exports, BKKBN family data).

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

import psycopg

log = logging.getLogger(__name__)

# Names of files still being written by an upload or an editor: left for a later night.
IN_FLIGHT_MARKERS = ("~$", ".part", ".tmp", ".crdownload", ".partial")


def is_delivered(path: Path) -> bool:
    """A regular, visible file that is not still being uploaded."""
    return (path.is_file() and not path.name.startswith(".")
            and not any(marker in path.name for marker in IN_FLIGHT_MARKERS))


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


def settle_loaded_tables(connection: psycopg.Connection, report: IngestReport, tables: tuple[str, ...]) -> None:
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
    if not any(f.status == "loaded" for f in report.files):
        return
    started = time.perf_counter()
    connection.execute(f"vacuum (analyze) {', '.join(tables)}")
    report.settle_seconds = time.perf_counter() - started
    log.info("vacuumed and analysed %s (%.1f s)", ", ".join(tables), report.settle_seconds)
