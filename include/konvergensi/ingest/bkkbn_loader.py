"""Load BKKBN Pendataan Keluarga CSV files from `<landing>/bkkbn/` into raw.bkkbn_families.

Per file, in one transaction: read the CSV (UTF-8 or cp1252, `;` or `,`) row by row, map each
row to raw columns with pseudonyms, COPY the usable rows into raw.bkkbn_families and the others
with their reason into raw.bkkbn_quarantine, and record the file in ops.file_loads
(source 'bkkbn', rows_read = rows_loaded + rows_quarantined). A file already loaded with the same
checksum is skipped; a changed file with the same name (the corrected file of a kelurahan and
month) replaces its earlier rows; a file whose header is not the layout is rejected with the
missing columns named, and the other files still load. Blank lines are not rows.
"""

from __future__ import annotations

import csv
import json
import logging
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from konvergensi.extract.records import MappingContext, kk_columns, nik_columns, text
from konvergensi.ingest.bkkbn_columns import (
    DATE_HEADERS,
    FLAG_HEADERS,
    HEADERS,
    BadCell,
    BkkbnHeaderError,
    map_header,
    parse_count,
    parse_date,
    parse_flag,
)
from konvergensi.ingest.file_loads import FileLoader, FileResult, IngestReport, ingest_files
from konvergensi.ingest.landing import LandingScan, scan_landing, source_directory
from konvergensi.ingest.readers import (
    HEADER_SEARCH_ROWS,
    HeaderCandidate,
    UnreadableFile,
    _detect_encoding,
    check_size,
    csv_records,
    title_text,
)
from konvergensi.pseudonyms import Pseudonymiser

log = logging.getLogger(__name__)

SOURCE = "bkkbn"
SUBDIRECTORY = "bkkbn"
SPOOL_BYTES = 8 << 20

LINEAGE_COLUMNS = ("batch_id", "source_file", "file_checksum", "source_row")
FAMILY_COLUMNS = LINEAGE_COLUMNS + (
    "kelurahan_code", "kelurahan_name", "rw", "rt", "kk_number", "kk_raw", "kk_key", "head_nik", "head_nik_key",
    "head_name", "wife_nik", "wife_nik_raw", "wife_nik_key", "wife_name", "wife_birth_date", "children_count",
    "last_child_birth_date", "has_baduta", "has_balita", "is_pus", "is_pregnant", "improved_water",
    "proper_latrine", "too_young", "too_old", "too_close", "too_many", "uninhabitable_house",
    "at_risk_of_stunting", "surveyed_on",
)  # fmt: skip
QUARANTINE_COLUMNS = LINEAGE_COLUMNS + ("reason", "record")


class RejectedFile(ValueError):
    """The whole file cannot be loaded; the message says why."""


def _scan(landing_dir: Path) -> LandingScan:
    """Delivered files in `<landing>/bkkbn/` (none when the directory does not exist yet)."""
    directory = source_directory(landing_dir, SUBDIRECTORY)
    return scan_landing(directory) if directory else LandingScan()


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number as a spreadsheet shows it, cells) of the CSV, the first line being row 1.

    The separator is the one the first lines use most (title lines above the header usually have none).
    """
    check_size(path)
    encoding = _detect_encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        head = "".join(handle.readline() for _ in range(HEADER_SEARCH_ROWS))
        separator = ";" if head.count(";") > head.count(",") else ","
        handle.seek(0)
        yield from csv_records(handle, separator)


def _find_header(rows: Iterator[tuple[int, list[str]]], result: FileResult) -> tuple[list[str], list[str | None]]:
    """The header among the first rows (whatever stands above it); the lines above go to result.title_lines."""
    best = HeaderCandidate()
    above: list[str] = []
    for number, cells in rows:
        try:
            positions = map_header(cells)
        except BkkbnHeaderError as failure:
            best.consider(list(cells), failure)
            if line := title_text(list(cells)):
                above.append(line)
        else:
            result.title_lines = above
            return cells, positions
        if number >= HEADER_SEARCH_ROWS:
            break
    raise RejectedFile(f"{result.file_name}: not a Pendataan Keluarga file: {best.message()}")


def map_row(cells: dict[str, str | None], context: MappingContext) -> dict[str, object]:
    """One data row (header -> cell text) as raw columns; raises BadCell with the reason."""
    values: dict[str, object] = {}
    for header, column in HEADERS.items():
        if column is None or header in FLAG_HEADERS or header in DATE_HEADERS:
            continue
        values[column] = text(cells.get(header))
    for header in FLAG_HEADERS:
        values[HEADERS[header]] = parse_flag(header, cells.get(header))
    for header in DATE_HEADERS:
        values[HEADERS[header]] = parse_date(
            header, cells.get(header), today=context.today, required=header == "Tanggal Pendataan"
        )
    values["children_count"] = parse_count("Jumlah Anak", cells.get("Jumlah Anak"))
    values["kk_number"], values["kk_raw"], values["kk_key"] = kk_columns(context, cells.get("No KK"))
    head_nik, head_raw, values["head_nik_key"] = nik_columns(context, cells.get("NIK Kepala Keluarga"))
    values["head_nik"] = head_nik or head_raw
    values["wife_nik"], values["wife_nik_raw"], values["wife_nik_key"] = nik_columns(context, cells.get("NIK Istri"))
    return values


class BkkbnLoader(FileLoader):
    SOURCE = SOURCE
    LABEL = "BKKBN"
    TABLES = ("raw.bkkbn_families", "raw.bkkbn_quarantine")
    REJECTED_BY = (RejectedFile, UnreadableFile, UnicodeDecodeError, csv.Error, psycopg.DataError, OSError)
    FILE_FORMAT = "csv"

    def __init__(self, connection: psycopg.Connection, run_id: str, landing_dir: Path, *, today: date | None = None):
        super().__init__(connection, run_id, landing_dir)
        now = datetime.now(UTC) if today is None else datetime.combine(today, datetime.min.time(), UTC)
        self.context = MappingContext(now, Pseudonymiser.for_warehouse(connection))

    def scan(self) -> LandingScan:
        return _scan(self.landing_dir)

    def batch_directory(self) -> Path:
        return self.landing_dir / SUBDIRECTORY

    def prepare(self, path: Path, result: FileResult) -> None:
        if path.suffix.lower() not in (".csv", ".txt"):
            raise RejectedFile(f"{result.file_name}: unsupported file type {path.suffix or '(none)'}, expected .csv")

    def copy_rows(self, path: Path, result: FileResult, batch_id: int) -> None:
        rows = _rows(path)
        header, positions = _find_header(rows, result)
        width = len(header)
        lineage = [batch_id, result.file_name, result.checksum]
        with (
            tempfile.SpooledTemporaryFile(SPOOL_BYTES, "w+", newline="", encoding="utf-8") as families,
            tempfile.SpooledTemporaryFile(SPOOL_BYTES, "w+", newline="", encoding="utf-8") as quarantine,
        ):
            family_writer, quarantine_writer = csv.writer(families), csv.writer(quarantine)
            for number, cells in rows:
                if not any(c.strip() for c in cells):
                    continue
                result.rows_read += 1
                record = {header[i] if i < width else f"column {i + 1}": c for i, c in enumerate(cells)}
                try:
                    if len(cells) != width:
                        raise BadCell(f"row has {len(cells)} cells, the header has {width}")
                    named = {h: cells[i] for i, h in enumerate(positions) if h}
                    values = map_row(named, self.context)
                except BadCell as reason:
                    quarantine_writer.writerow([*lineage, number, str(reason), json.dumps(record, ensure_ascii=False)])
                    result.rows_quarantined += 1
                    continue
                family_writer.writerow([*lineage, number, *(_csv(values[c]) for c in FAMILY_COLUMNS[4:])])
                result.rows_loaded += 1
            with self.connection.cursor() as cursor:
                for spool, table, columns in (
                    (families, "raw.bkkbn_families", FAMILY_COLUMNS),
                    (quarantine, "raw.bkkbn_quarantine", QUARANTINE_COLUMNS),
                ):
                    spool.seek(0)
                    with cursor.copy(f"copy {table} ({', '.join(columns)}) from stdin (format csv)") as copy:
                        while block := spool.read(1 << 20):
                            copy.write(block)


def _csv(value: object) -> object:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date):
        return value.isoformat()
    return value


def ingest_bkkbn(landing_dir: Path, run_id: str, *, url: str | None = None) -> IngestReport:
    """Load every new or changed BKKBN file in `<landing_dir>/bkkbn/`; one run at a time."""
    return ingest_files(BkkbnLoader, landing_dir, run_id, url)
