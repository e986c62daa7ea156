"""The values of one worksheet of an .xlsx, row by row, as openpyxl's read-only `iter_rows(values_only=True)`.

openpyxl builds a dictionary and a cell object for every value and parses the whole stylesheet of
each cell on the way; for a 43-column e-PPGBM export that made the .xlsx path ten times slower than
the CSV one (1,400 rows/s, `make bench`). This reads the same sheet XML with lxml and keeps only the
values, with openpyxl's own rule for each cell type, so that a file reads the same either way
(tests/unit/test_xlsx_sheet.py compares the two on every kind of cell):

- no type or `n`: a number (int unless the text has a '.', 'e' or 'E'); a date, datetime or duration
  when the cell's style is a date format (the workbook's `_date_formats`, as openpyxl found them);
- `s`: the shared string; `inlineStr`: the text of its runs; `str` (a formula's text result) and `e`
  (an error such as #N/A): the text itself; `b`: a boolean; `d`: an ISO 8601 date;
- formula cells give the value Excel last stored (the workbook is opened with data_only=True);
- every row is as wide as the sheet's declared dimension (missing cells are None), and rows absent
  from the XML are given as empty rows, as openpyxl does. Unlike openpyxl, rows below the declared
  dimension are read too (openpyxl stops at it, so a file with a stale dimension lost its last rows).

Entities are not resolved and nothing is fetched from the network: the file comes from outside.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator

from lxml import etree
from openpyxl.utils.datetime import from_excel, from_ISO8601

_DIGITS = "0123456789"


def _number(text: str) -> int | float:
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


def _inline_text(element: etree._Element, t_tag: str, r_tag: str) -> str:
    """The text of an inline string: its `t`, or its runs' `t` joined (phonetic runs left out)."""
    parts = []
    for child in element:
        if child.tag == t_tag:
            parts.append(child.text or "")
        elif child.tag == r_tag:
            parts.extend(run_part.text or "" for run_part in child if run_part.tag == t_tag)
    return "".join(parts)


def sheet_values(archive: zipfile.ZipFile, worksheet_path: str, *, shared_strings: list, date_styles: set[int],
                 duration_styles: set[int], epoch: object, max_column: int | None,
                 max_row: int | None) -> Iterator[tuple[object, ...]]:  # fmt: skip
    """Rows of the worksheet part, from row 1, each a tuple of values (see the module's docstring).

    One loop with the tags compared as strings: this runs once per cell, tens of millions of times
    for a large export, so it avoids a function call per cell where it can.
    """
    width = max_column
    empty_row: tuple[object, ...] = (None,) * width if width else ()
    date_style_texts = {str(style) for style in date_styles}
    columns: dict[str, int] = {}
    expected = 1  # the next row number to give
    with archive.open(worksheet_path) as stream:
        rows = etree.iterparse(stream, events=("end",), tag="{*}row", resolve_entities=False, no_network=True,
                               remove_comments=True)  # fmt: skip
        row_number = 0
        tags: tuple[str, str, str, str, str] | None = None
        for _, row in rows:
            if tags is None:  # the namespace of this workbook (transitional or strict SpreadsheetML)
                namespace = row.tag[: row.tag.index("}") + 1] if row.tag.startswith("{") else ""
                tags = tuple(namespace + name for name in ("c", "v", "is", "t", "r"))  # type: ignore[assignment]
            c_tag, v_tag, is_tag, t_tag, r_tag = tags
            number_text = row.get("r")
            row_number = row_number + 1 if number_text is None else int(float(number_text))
            cells: list[tuple[int, object]] = []
            column = 0
            for cell in row:
                if cell.tag != c_tag:
                    continue
                coordinate = cell.get("r")
                if coordinate:
                    letters = coordinate.rstrip(_DIGITS)
                    column = columns.get(letters) or 0
                    if not column:
                        for letter in letters:
                            column = column * 26 + ord(letter) - 64
                        columns[letters] = column
                else:
                    column += 1
                kind = cell.get("t")
                text = None
                inline = None
                for child in cell:
                    if child.tag == v_tag:
                        text = child.text
                    elif child.tag == is_tag:
                        inline = child
                if kind == "inlineStr":
                    if inline is None:
                        value = None
                    elif len(inline) == 1 and inline[0].tag == t_tag:  # plain text, the usual case
                        value = inline[0].text or ""
                    else:
                        value = _inline_text(inline, t_tag, r_tag)
                elif not text:
                    value = None
                elif kind is None or kind == "n":
                    value = _number(text)
                    style = cell.get("s")
                    if style and style in date_style_texts:
                        value = _date(value, coordinate, epoch, int(style) in duration_styles)
                elif kind == "s":
                    value = shared_strings[int(text)]
                elif kind == "b":
                    value = bool(int(text))
                elif kind == "d":
                    value = from_ISO8601(text)
                else:
                    value = text  # str (a formula's text), e (an error), anything else as openpyxl keeps it
                cells.append((column, value))
            row.clear(keep_tail=True)
            while row.getprevious() is not None:
                del row.getparent()[0]
            while expected < row_number:
                expected += 1
                yield empty_row
            if expected > row_number:
                continue  # a row repeated out of order: openpyxl keeps the first
            expected += 1
            yield _row(cells, width)
    if max_row is not None:
        while expected <= max_row:
            expected += 1
            yield empty_row


def _date(value: int | float, coordinate: str | None, epoch: object, duration: bool) -> object:
    try:
        return from_excel(value, epoch, timedelta=duration)
    except (OverflowError, ValueError):
        warnings.warn(f"Cell {coordinate} is marked as a date but the serial value {value} is outside the limits "
                      "for dates. The cell will be treated as an error.", stacklevel=2)  # fmt: skip
        return "#VALUE!"


def _row(cells: list[tuple[int, object]], width: int | None) -> tuple[object, ...]:
    if not cells and not width:
        return ()
    size = width or cells[-1][0]
    values: list[object] = [None] * size
    for column, value in cells:
        if 1 <= column <= size:
            values[column - 1] = value
    return tuple(values)
