"""Readers for the file formats e-PPGBM exports arrive in.

Every reader yields polars DataFrames (spreadsheets and HTML: at most `chunk_rows` rows; UTF-8 CSV:
one per 16 MB piece of the file) whose columns are our field names (see eppgbm_columns) holding
the cell text, plus `source_row`: the row number a person sees in a spreadsheet (the header row
counts). Values stay text here; cleaning decides what they mean.
Large files are streamed: no reader holds more than one chunk.

In every format the header is looked for among the first HEADER_SEARCH_ROWS rows, whatever stands
above it: a puskesmas that opens an export and saves it again often adds a title block ("LAPORAN
PENIMBANGAN …", "BULAN: SEPTEMBER 2026", an empty line). Those title lines are handed back to the
caller (`title_lines`) so that the file's ops.file_loads row keeps them.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from konvergensi.ingest.eppgbm_columns import HeaderError, map_headers

HEADER_SEARCH_ROWS = 10


class UnreadableFile(ValueError):
    """The file cannot be read as an e-PPGBM export; the message says why."""


def sniff_format(path: Path) -> str:
    """'xlsx', 'html' (an HTML table saved with .xls), 'csv', or raise UnreadableFile."""
    head = path.open("rb").read(4096)
    if not head:
        raise UnreadableFile("empty file")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile("binary Excel 97-2003 workbook: save it as .xlsx or .csv and deliver again")
    lowered = head.lower()
    if b"<table" in lowered or b"<html" in lowered or b"<!doctype html" in lowered:
        return "html"
    if b"\x00" in head:
        raise UnreadableFile("binary file that is neither .xlsx nor text")
    return "csv"


def read_chunks(path: Path, file_format: str, chunk_rows: int = 50_000,
                title_lines: list[str] | None = None) -> Iterator[pl.DataFrame]:
    """Yield chunks of the file as text DataFrames keyed by our field names.

    The non-empty lines found above the header (title lines) are appended to `title_lines` when given,
    as their cells joined by " | ".
    """
    titles = title_lines if title_lines is not None else []
    if file_format == "csv":
        yield from _read_csv(path, chunk_rows, titles)
    elif file_format == "xlsx":
        yield from _rows_to_chunks(_xlsx_rows(path), chunk_rows, titles)
    elif file_format == "html":
        yield from _rows_to_chunks(_html_rows(path), chunk_rows, titles)
    else:
        raise UnreadableFile(f"unknown format {file_format!r}")


def title_text(cells: list[object]) -> str | None:
    """A line above the header as a person reads it (its non-empty cells), or None for an empty line."""
    texts = [text for text in (_cell_text(c) for c in cells) if text]
    return " | ".join(texts) or None


def _cell_text(value: object) -> str | None:
    """Spreadsheet cell to text as a person would read it (a NIK typed as a number stays whole)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    text = str(value).strip()
    return text or None


def _find_header(rows: Iterator[tuple[int, list[object]]], titles: list[str]) -> tuple[int, list[str | None]]:
    """Return (row number, field per column) of the header among the first rows; collect the lines above it."""
    best = HeaderCandidate()
    above: list[str] = []
    for row_number, cells in rows:
        try:
            fields = map_headers(cells)
        except HeaderError as error:
            best.consider(cells, error)
            if text := title_text(cells):
                above.append(text)
        else:
            titles.extend(above)
            return row_number, fields
        if row_number >= HEADER_SEARCH_ROWS:
            break
    raise UnreadableFile(best.message())


class HeaderCandidate:
    """Of the lines that were not the header, the one most like it (most non-empty cells, the first on a tie).

    Its mapping error is the reason given when no line maps: it names the columns a header lacks,
    not every column a title line lacks.
    """

    def __init__(self) -> None:
        self.cells = 0
        self.error: Exception | None = None

    def consider(self, cells: list[object], error: Exception) -> None:
        filled = sum(1 for c in cells if c is not None and str(c).strip())
        if filled > self.cells:
            self.cells, self.error = filled, error

    def message(self) -> str:
        if self.error is None:
            return "no header row found"
        return f"{self.error} (no header found in the first {HEADER_SEARCH_ROWS} rows)"


def _rows_to_chunks(rows: Iterator[tuple[int, list[object]]], chunk_rows: int,
                    titles: list[str]) -> Iterator[pl.DataFrame]:
    """Group (row number, cells) into DataFrames after locating and mapping the header."""
    header_row, fields = _find_header(rows, titles)
    keep = [(i, f) for i, f in enumerate(fields) if f]
    names = [f for _, f in keep]
    width = len(fields)
    buffer: dict[str, list[str | None]] = {name: [] for name in names}
    numbers: list[int] = []
    for row_number, cells in rows:
        if row_number <= header_row:
            continue
        if all(c is None or c == "" for c in cells):
            continue
        if len(cells) > width and any(_cell_text(c) for c in cells[width:]):
            raise UnreadableFile(f"row {row_number}: {len(cells)} cells but the header has {width} columns")
        for index, name in keep:
            buffer[name].append(_cell_text(cells[index]) if index < len(cells) else None)
        numbers.append(row_number)
        if len(numbers) >= chunk_rows:
            yield _frame(buffer, numbers)
            buffer = {name: [] for name in names}
            numbers = []
    if numbers:
        yield _frame(buffer, numbers)


def _frame(buffer: dict[str, list[str | None]], numbers: list[int]) -> pl.DataFrame:
    columns = {"source_row": pl.Series(numbers, dtype=pl.Int32)}
    columns.update({name: pl.Series(values, dtype=pl.String) for name, values in buffer.items()})
    return pl.DataFrame(columns)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged zip
        raise UnreadableFile(f"damaged .xlsx: {error}") from error
    try:
        sheet = workbook.worksheets[0]
        for row_number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield row_number, list(row)
    finally:
        workbook.close()


def _html_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    from lxml import etree

    row_number = 0
    try:
        for _, element in etree.iterparse(str(path), events=("end",), tag="tr", html=True, recover=True):
            row_number += 1
            cells = [" ".join(cell.itertext()).strip() or None for cell in element if cell.tag in ("td", "th")]
            element.clear()
            yield row_number, cells
    except etree.LxmlError as error:
        raise UnreadableFile(f"damaged HTML table: {error}") from error
    if row_number == 0:
        raise UnreadableFile("HTML file without table rows")


def _detect_encoding(path: Path) -> str:
    """'utf-8' when the whole file decodes as UTF-8, else 'cp1252' (what Excel on Windows writes)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while block := handle.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def _separator(line: str) -> str:
    return ";" if line.count(";") > line.count(",") else ","


def csv_header(path: Path, encoding: str) -> tuple[int, str, list[str | None], list[str]]:
    """(header line number, separator, field per column, title lines above) of a CSV export.

    Each of the first HEADER_SEARCH_ROWS lines is tried as the header with the separator it uses most;
    the lines before the one that maps are title lines, whatever they hold.
    """
    best = HeaderCandidate()
    titles: list[str] = []
    with path.open(encoding=encoding, errors="strict", newline="") as handle:
        for number in range(1, HEADER_SEARCH_ROWS + 1):
            line = handle.readline()
            if not line:
                break
            if number == 1:
                line = line.lstrip("\ufeff")
            separator = _separator(line)
            cells = next(csv.reader([line], delimiter=separator), [])
            try:
                return number, separator, map_headers(cells), titles
            except HeaderError as error:
                best.consider(list(cells), error)
                if text := title_text(list(cells)):
                    titles.append(text)
    raise UnreadableFile(best.message())


def _read_csv(path: Path, chunk_rows: int, titles: list[str]) -> Iterator[pl.DataFrame]:
    encoding = _detect_encoding(path)
    header_line, separator, fields, above = csv_header(path, encoding)
    titles.extend(above)

    if encoding != "utf-8":
        yield from _read_csv_slow(path, encoding, separator, chunk_rows)
        return
    names = [f"column_{i + 1}" for i in range(len(fields))]
    keep = [(name, field) for name, field in zip(names, fields) if field]
    next_row = header_line + 1
    for piece in _csv_pieces(path, CSV_BLOCK_BYTES, skip_lines=header_line):
        try:
            frame = pl.read_csv(
                piece,
                separator=separator,
                has_header=False,
                new_columns=names,
                infer_schema_length=0,
                encoding="utf8",
            )
        except pl.exceptions.PolarsError as error:
            raise UnreadableFile(f"malformed CSV near row {next_row}: {str(error).splitlines()[0]}") from error
        if frame.width != len(fields):
            raise UnreadableFile(f"malformed CSV near row {next_row}: {frame.width} columns, header has {len(fields)}")
        frame = frame.select(
            pl.int_range(next_row, next_row + frame.height, dtype=pl.Int32).alias("source_row"),
            *[pl.col(c).str.strip_chars().replace("", None).alias(f) for c, f in keep],
        )
        next_row += frame.height
        yield frame


CSV_BLOCK_BYTES = 16 << 20


def _csv_pieces(path: Path, block_bytes: int, skip_lines: int = 1) -> Iterator[bytes]:
    """The data rows of a CSV file in pieces of about block_bytes that end on a record boundary.

    The first `skip_lines` lines (title lines and the header) are left out. A newline ends a record
    only outside quotes, that is after an even number of quote characters since the start of the
    data; a quoted field may itself contain newlines.
    """
    with path.open("rb") as handle:
        for _ in range(skip_lines):
            handle.readline()
        carry = b""
        while block := handle.read(block_bytes):
            data = carry + block
            cut = _last_record_end(data)
            if cut < 0:
                carry = data
                continue
            if data[: cut + 1].strip():
                yield data[: cut + 1]
            carry = data[cut + 1 :]
        if carry.strip():
            yield carry


def _last_record_end(data: bytes) -> int:
    """Index of the last newline in data that lies outside quotes (data starts at a record), or -1."""
    position = data.rfind(b"\n")
    while position >= 0:
        if data.count(b'"', 0, position) % 2 == 0:
            return position
        position = data.rfind(b"\n", 0, position)
    return -1


def _read_csv_slow(path: Path, encoding: str, separator: str, chunk_rows: int) -> Iterator[pl.DataFrame]:
    """Row-by-row CSV for files that are not UTF-8 (rare; the fast path needs UTF-8)."""

    def rows() -> Iterator[tuple[int, list[object]]]:
        with path.open(encoding=encoding, newline="") as handle:
            for row_number, cells in enumerate(csv.reader(handle, delimiter=separator), start=1):
                if row_number == 1 and cells:
                    cells[0] = cells[0].lstrip("\ufeff")
                yield row_number, [c.strip() or None for c in cells]

    yield from _rows_to_chunks(rows(), chunk_rows, [])  # the title lines were collected by csv_header

