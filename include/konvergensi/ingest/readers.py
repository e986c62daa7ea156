"""Readers for the file formats e-PPGBM exports arrive in.

Every reader yields polars DataFrames (spreadsheets and HTML: at most `chunk_rows` rows; UTF-8 CSV:
one per 4 MB piece of the file, CSV_BLOCK_BYTES) whose columns are our field names (see eppgbm_columns) holding
the cell text, plus `source_row`: the row number a person sees in a spreadsheet (the header row
counts). Values stay text here; cleaning decides what they mean.
Large files are streamed: no reader holds more than one chunk. Files are bounded before they are
read: a file above KONVERGENSI_MAX_FILE_BYTES is refused unread, an .xlsx whose parts declare more
than KONVERGENSI_XLSX_MAX_UNCOMPRESSED_BYTES (or compress implausibly well: a zip bomb) is refused
before openpyxl opens it, and a quoted CSV field may span at most CSV_MAX_FIELD_LINES lines and
CSV_MAX_FIELD_BYTES bytes (an unclosed quote would otherwise carry the rest of the file along).

In every format the header is looked for among the first HEADER_SEARCH_ROWS rows, whatever stands
above it: a puskesmas that opens an export and saves it again often adds a title block ("LAPORAN
PENIMBANGAN …", "BULAN: SEPTEMBER 2026", an empty line). Those title lines are handed back to the
caller (`title_lines`) so that the file's ops.file_loads row keeps them.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from konvergensi.ingest.eppgbm_columns import HeaderError, map_headers
from konvergensi.ingest.xlsx_sheet import sheet_values
from konvergensi.settings import max_file_bytes, xlsx_max_uncompressed_bytes

HEADER_SEARCH_ROWS = 10
# Rows of a spreadsheet, HTML or non-UTF-8 CSV chunk. Their cells are Python strings until the chunk
# becomes a DataFrame: a chunk of 50,000 rows of 43 columns peaked at 279 MB over 200,000 .xlsx rows,
# one of 10,000 at 111 MB, at the same speed (measured 2026-12-04).
CHUNK_ROWS = 10_000
# A quoted CSV field (an address with line breaks, say) spans a few lines; more means a quote was not closed.
CSV_MAX_FIELD_LINES = 100
CSV_MAX_FIELD_BYTES = 1 << 20
CSV_MAX_RECORD_BYTES = 16 << 20
# Spreadsheet XML compresses 5-30 times; a part that claims far more is a zip bomb (checked above 1 MB).
XLSX_MAX_RATIO = 200
XLSX_RATIO_FROM_BYTES = 1 << 20


class UnreadableFile(ValueError):
    """The file cannot be read as an e-PPGBM export; the message says why."""


def _size(count: int) -> str:
    return f"{count / 2**20:,.0f} MB" if count >= 1 << 20 else f"{count:,} bytes"


def too_large(size: int) -> str | None:
    """Why a file of `size` bytes is refused unread, or None when it may be read."""
    limit = max_file_bytes()
    if size <= limit:
        return None
    return (f"file of {_size(size)} is larger than the {_size(limit)} allowed"
            " (KONVERGENSI_MAX_FILE_BYTES): split the export by month or kelurahan")


def check_size(path: Path) -> None:
    """Refuse a file larger than the configured maximum before anything reads it."""
    if reason := too_large(path.stat().st_size):
        raise UnreadableFile(reason)


def sniff_format(path: Path) -> str:
    """'xlsx', 'html' (an HTML table saved with .xls), 'csv', or raise UnreadableFile (too large, binary, empty)."""
    check_size(path)
    with path.open("rb") as handle:
        head = handle.read(4096)
    if not head:
        raise UnreadableFile("empty file")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile("UTF-16 text (Excel's 'Unicode text'): save it as CSV UTF-8 and deliver again")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile("binary Excel 97-2003 workbook: save it as .xlsx or .csv and deliver again")
    lowered = head.lower()
    if b"<table" in lowered or b"<html" in lowered or b"<!doctype html" in lowered:
        return "html"
    if (nul := head.find(b"\x00")) >= 0:
        raise UnreadableFile(
            f"line {head.count(NEWLINE, 0, nul) + 1}: NUL byte: a binary file that is neither .xlsx nor text, or a damaged one"
        )
    return "csv"


def read_chunks(path: Path, file_format: str, chunk_rows: int = CHUNK_ROWS,
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


def check_xlsx_archive(path: Path) -> None:
    """Refuse an .xlsx whose zip parts declare too much uncompressed data, before openpyxl reads it.

    The declared sizes can be trusted as a bound: Python's zipfile never inflates a part beyond its
    declared size (it fails the CRC check instead), so a part that lies about its size cannot
    expand further than checked here.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise UnreadableFile(f"damaged .xlsx (not a readable zip archive: {error})") from error
    limit = xlsx_max_uncompressed_bytes()
    total = 0
    for part in parts:
        total += part.file_size
        if total > limit:
            raise UnreadableFile(
                f"refused .xlsx: its parts declare more than {_size(limit)} uncompressed"
                f" (KONVERGENSI_XLSX_MAX_UNCOMPRESSED_BYTES; {part.filename} alone {_size(part.file_size)})"
            )
        if part.file_size > XLSX_RATIO_FROM_BYTES and part.file_size > XLSX_MAX_RATIO * max(part.compress_size, 1):
            raise UnreadableFile(
                f"refused .xlsx: part {part.filename} expands {part.file_size // max(part.compress_size, 1):,}"
                f" times ({part.compress_size:,} to {part.file_size:,} bytes), a zip bomb, not a spreadsheet"
            )


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    """Rows of the first visible sheet (hidden sheets hold lookups and macros' scratch, not the export).

    Formulas give the value Excel last computed (a workbook saved without computed values gives
    empty cells). A merged range shows its value in every cell it covers, as a person sees it.
    openpyxl opens the workbook (sheets, visibility, shared strings, date styles); the sheet's values
    are read by xlsx_sheet, several times faster than openpyxl's own rows and the same values.
    """
    from openpyxl import load_workbook

    check_xlsx_archive(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged zip
        raise UnreadableFile(f"damaged .xlsx: {error}") from error
    try:
        visible = [sheet for sheet in workbook.worksheets if getattr(sheet, "sheet_state", "visible") == "visible"]
        if not visible:
            raise UnreadableFile("the workbook has no visible sheet")
        sheet = visible[0]
        merged = _merged_ranges(path, sheet)
        values = sheet_values(
            workbook._archive, sheet._worksheet_path, shared_strings=sheet._shared_strings,
            date_styles=workbook._date_formats, duration_styles=workbook._timedelta_formats, epoch=workbook.epoch,
            max_column=sheet.max_column, max_row=sheet.max_row,
        )  # fmt: skip
        rows = enumerate(values, start=1)
        if merged:
            rows = _fill_merged(rows, merged)
        for row_number, row in rows:
            yield row_number, list(row)
    except zipfile.BadZipFile as error:
        raise UnreadableFile(f"damaged .xlsx: {error}") from error
    finally:
        workbook.close()


_MERGE_CELL = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
# A formula cell whose computed value was never stored (written by a program, not saved by Excel).
_UNCOMPUTED_FORMULA = re.compile(
    rb'<(?:\w+:)?c\s+r="([A-Z]+\d+)"[^>]*>\s*<(?:\w+:)?f(?:\s[^>]*)?(?:/>|>([^<]*)</(?:\w+:)?f>)'
    rb'\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>'
)
MAX_MERGED_RANGES = 100_000


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _merged_ranges(path: Path, sheet: object) -> list[tuple[int, int, int, int]]:
    """(first row, first column, last row, last column) of each merged range of the sheet.

    openpyxl's streaming reader ignores merges, and they are listed after the rows in the sheet's
    XML, so the part is scanned once for them first (inflated piece by piece, never held whole).
    The same pass refuses a formula cell without a computed value: read as empty, its value would
    vanish without a trace.
    """
    part = getattr(sheet, "_worksheet_path", None)
    if not part:
        return []
    ranges: list[tuple[int, int, int, int]] = []
    with zipfile.ZipFile(path) as archive, archive.open(part) as stream:
        tail = b""
        while block := stream.read(1 << 20):
            data = tail + block
            last = 0
            if formula := _UNCOMPUTED_FORMULA.search(data):
                cell, text = formula.group(1).decode(), (formula.group(2) or b"").decode(errors="replace")
                raise UnreadableFile(
                    f"cell {cell} of sheet {sheet.title!r} holds a formula (={text}) without a computed value:"
                    " open the file in Excel or LibreOffice and save it again"
                )
            for match in _MERGE_CELL.finditer(data):
                first_col, first_row, last_col, last_row = match.groups()
                ranges.append((int(first_row), _column_number(first_col), int(last_row), _column_number(last_col)))
                last = match.end()
                if len(ranges) > MAX_MERGED_RANGES:
                    raise UnreadableFile(f"sheet {sheet.title!r} has more than {MAX_MERGED_RANGES:,} merged ranges")
            tail = data[max(last, len(data) - 4096):]
    return sorted(ranges)


def _fill_merged(rows: Iterator[tuple[int, tuple[object, ...]]],
                 ranges: list[tuple[int, int, int, int]]) -> Iterator[tuple[int, list[object]]]:
    """Repeat each merged range's value down the rows below its first (a posyandu merged over its children).

    The first row of a range is left as it is, so a title merged across the columns stays one title.
    """
    pending = iter(ranges)
    upcoming = next(pending, None)
    active: list[tuple[int, int, int, object]] = []  # (last row, first column, last column, value)
    for number, row in rows:
        cells = list(row)
        active = [span for span in active if span[0] >= number]
        for last_row, first_col, last_col, value in active:
            cells.extend([None] * (last_col - len(cells)))
            cells[first_col - 1 : last_col] = [value] * (last_col - first_col + 1)
        while upcoming is not None and upcoming[0] <= number:
            first_row, first_col, last_row, last_col = upcoming
            if first_row == number and last_row > number:
                active.append((last_row, first_col, last_col, cells[first_col - 1] if first_col <= len(cells) else None))
            upcoming = next(pending, None)
        yield number, cells


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
    """'utf-8' when the whole file decodes as UTF-8, else 'cp1252' (what Excel on Windows writes).

    A file whose text is UTF-8 (non-ASCII letters decoded as UTF-8) until a byte that is not is
    refused: two exports of different encodings pasted together, which neither reading would
    decode right. The error names the line of the first foreign byte.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    seen_non_ascii = False
    line = 1
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as error:
                if seen_non_ascii or not block[: error.start].isascii():
                    raise UnreadableFile(
                        f"line {line + block.count(NEWLINE, 0, error.start)}: byte {block[error.start]:#04x} is not UTF-8"
                        " but the text before it is: mixed encodings, save the whole file as CSV UTF-8"
                    ) from None
                return "cp1252"
            seen_non_ascii = seen_non_ascii or not block.isascii()
            line += block.count(NEWLINE)
        try:
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
    names = _numbered(len(fields))
    keep = [(name, field) for name, field in zip(names, fields) if field]
    next_row = header_line + 1
    for piece in _csv_pieces(path, CSV_BLOCK_BYTES, skip_lines=header_line):
        frame = _read_piece(piece, separator, len(fields), next_row)
        _check_field_lines(frame, next_row)
        frame = frame.select(
            pl.int_range(next_row, next_row + frame.height, dtype=pl.Int32).alias("source_row"),
            *[pl.col(c).str.strip_chars().replace("", None).alias(f) for c, f in keep],
        )
        next_row += frame.height
        yield frame


def _numbered(width: int) -> list[str]:
    return [f"column_{i + 1}" for i in range(width)]


def _read_piece(piece: bytes, separator: str, width: int, first_row: int) -> pl.DataFrame:
    """A piece of CSV rows as `width` text columns column_1 … column_<width>.

    A row with fewer cells than the header gets empty cells (some tools leave off trailing empty
    cells; what is missing is for cleaning to judge). A row with more is refused, naming the row,
    unless its extra cells are empty (a trailing separator).
    """
    options = {"separator": separator, "has_header": False, "infer_schema_length": 0, "encoding": "utf8"}
    try:
        frame = pl.read_csv(piece, **options)
    except pl.exceptions.PolarsError as error:
        if message := _too_many_cells(piece, separator, width, first_row):
            raise UnreadableFile(message) from error
        try:
            frame = pl.read_csv(piece, truncate_ragged_lines=True, **options)
        except pl.exceptions.PolarsError as again:
            raise UnreadableFile(f"malformed CSV in the rows from {first_row}: {str(again).splitlines()[0]}") from again
    frame = frame.rename(dict(zip(frame.columns, _numbered(frame.width))))
    if frame.width > width:
        extra = frame.select(pl.any_horizontal(pl.col(c).str.strip_chars().fill_null("") != "" for c in frame.columns[width:]))
        if extra.to_series().any():
            row = first_row + int(extra.to_series().arg_true()[0])
            raise UnreadableFile(f"malformed CSV, row {row}: more cells than the header's {width} columns")
        frame = frame.select(frame.columns[:width])
    if frame.width < width:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in _numbered(width)[frame.width :])
    return frame


def _too_many_cells(piece: bytes, separator: str, width: int, first_row: int) -> str | None:
    """The first row of the piece with non-empty cells beyond the header's columns, as an error message."""
    text = piece.decode("utf-8", errors="replace").splitlines(keepends=True)
    for number, cells in enumerate(csv.reader(text, delimiter=separator), start=first_row):
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            return f"malformed CSV, row {number}: {len(cells)} cells but the header has {width} columns"
    return None


def _check_field_lines(frame: pl.DataFrame, first_row: int) -> None:
    """Refuse a piece in which one field spans more than CSV_MAX_FIELD_LINES lines.

    Such a field is a stray quote that a later stray quote happened to close: the rows in between
    would otherwise vanish into one cell.
    """
    if frame.height == 0:
        return
    spans = frame.select(pl.max_horizontal(pl.all().str.count_matches("\n").fill_null(0)).alias("lines"))["lines"]
    worst = spans.arg_max()
    if worst is not None and spans[worst] > CSV_MAX_FIELD_LINES:
        raise UnreadableFile(
            f"row {first_row + worst}: a quoted field spans {spans[worst] + 1} lines (at most"
            f" {CSV_MAX_FIELD_LINES} allowed): a quote that is not closed where it should be"
        )


# 4 MB pieces: a piece and its parsed, cleaned and re-serialised copies are what a load holds at once,
# so the piece size sets the peak memory (measured on the client side at 1M rows: 16 MB pieces peaked at
# 623 MB, 4 MB pieces at 287 MB, and were not slower).
CSV_BLOCK_BYTES = 4 << 20
NEWLINE = b"\n"


def _csv_pieces(path: Path, block_bytes: int, skip_lines: int = 1) -> Iterator[bytes]:
    """The data rows of a CSV file in pieces of about block_bytes that end on a record boundary.

    The first `skip_lines` lines (title lines and the header) are left out. A newline ends a record
    only outside quotes, that is after an even number of quote characters since the start of the
    data; a quoted field may itself contain newlines, but not more than CSV_MAX_FIELD_LINES of them
    nor CSV_MAX_FIELD_BYTES: what is carried over to the next block stays bounded, and a quote that
    is never closed is reported at the line where it opened. NUL bytes (a damaged file) are refused
    with their line.
    """
    with path.open("rb") as handle:
        for _ in range(skip_lines):
            handle.readline()
        line = skip_lines + 1  # the file's line number where `carry` starts
        carry = b""
        while block := handle.read(block_bytes):
            data = carry + block
            cut = _last_record_end(data)
            if cut >= 0:
                piece, carry = data[: cut + 1], data[cut + 1 :]
                _check_nul(piece, line)
                if piece.strip():
                    yield piece
                line += piece.count(b"\n")
            else:
                carry = data
            _check_carry(carry, line)
        if carry.strip():
            _check_nul(carry, line)
            if carry.count(b'"') % 2:
                opened = carry.rfind(b'"')
                raise UnreadableFile(f"line {line + carry.count(NEWLINE, 0, opened)}: a quote opened here is never closed")
            yield carry


def _check_nul(data: bytes, line: int) -> None:
    position = data.find(b"\x00")
    if position >= 0:
        raise UnreadableFile(f"line {line + data.count(NEWLINE, 0, position)}: NUL byte in the text (a damaged file)")


def _check_carry(carry: bytes, line: int) -> None:
    """The unfinished record carried to the next block: an open quote may not run on without bound."""
    if carry.count(b'"') % 2:
        opened = carry.rfind(b'"')  # quotes pair up in order, so with an odd count the last one is open
        field = carry[opened:]
        if field.count(b"\n") > CSV_MAX_FIELD_LINES or len(field) > CSV_MAX_FIELD_BYTES:
            raise UnreadableFile(
                f"line {line + carry.count(NEWLINE, 0, opened)}: a quote opened here is not closed within"
                f" {CSV_MAX_FIELD_LINES} lines or {CSV_MAX_FIELD_BYTES >> 20} MB"
            )
    elif len(carry) > CSV_MAX_RECORD_BYTES:
        raise UnreadableFile(f"line {line}: a line longer than {CSV_MAX_RECORD_BYTES >> 20} MB (not a CSV export)")


def _last_record_end(data: bytes) -> int:
    """Index of the last newline in data that lies outside quotes (data starts at a record), or -1.

    Walks back over the newlines counting the quotes after each once, so a block full of
    newlines inside an open quote costs one pass, not one pass per newline.
    """
    quotes = data.count(b'"')
    end = len(data)
    position = data.rfind(b"\n")
    while position >= 0:
        quotes -= data.count(b'"', position, end)
        end = position
        if quotes % 2 == 0:
            return position
        position = data.rfind(b"\n", 0, position)
    return -1


def csv_records(handle: Iterator[str], separator: str, name: str = "") -> Iterator[tuple[int, list[str]]]:
    """(record number, cells) of a CSV text stream read by the csv module, the first record being 1.

    A record is what a spreadsheet shows as one row. Errors name the line: a malformed quote, a
    NUL byte, a field over the csv module's size limit, or a quoted field spanning more than
    CSV_MAX_FIELD_LINES lines (an unclosed quote).
    """
    reader = csv.reader(handle, delimiter=separator)
    prefix = f"{name}: " if name else ""
    number, line = 0, 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise UnreadableFile(f"{prefix}line {line + 1}: {error}") from None
        if reader.line_num - line > CSV_MAX_FIELD_LINES:
            raise UnreadableFile(
                f"{prefix}line {line + 1}: a quoted field spans {reader.line_num - line} lines (at most"
                f" {CSV_MAX_FIELD_LINES} allowed): a quote that is not closed where it should be"
            )
        if any("\x00" in cell for cell in cells):
            raise UnreadableFile(f"{prefix}line {line + 1}: NUL byte in the text (a damaged file)")
        line = reader.line_num
        number += 1
        if number == 1 and cells:
            cells[0] = cells[0].lstrip("\ufeff")
        yield number, cells


def _read_csv_slow(path: Path, encoding: str, separator: str, chunk_rows: int) -> Iterator[pl.DataFrame]:
    """Row-by-row CSV for files that are not UTF-8 (rare; the fast path needs UTF-8)."""

    def rows() -> Iterator[tuple[int, list[object]]]:
        with path.open(encoding=encoding, newline="") as handle:
            for row_number, cells in csv_records(handle, separator):
                yield row_number, [c.strip() or None for c in cells]

    yield from _rows_to_chunks(rows(), chunk_rows, [])  # the title lines were collected by csv_header
