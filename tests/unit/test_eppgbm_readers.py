"""Readers: every format an e-PPGBM export arrives in gives the same rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from konvergensi.ingest.eppgbm_columns import HeaderError, map_headers
from konvergensi.ingest.readers import UnreadableFile, read_chunks, sniff_format

pytestmark = pytest.mark.unit

HEADER = ["NIK", "Nama", "JK", "Tgl Lahir", "Pukesmas", "Desa/Kel", "Tanggal Pengukuran", "Berat", "Tinggi", "Cara Ukur"]
ROWS = [
    ["3375014501230001", "Siti Aminah", "P", "05/01/2023", "MEDONO", "Medono", "10/01/2024", "9.5", "75.2", "Terlentang"],
    ["3375010202230002", "Budi Santoso", "L", "02/02/2023", "MEDONO", "Kel. Tirto", "12/01/2024", "10.1", "77", "Telentang"],
]


def _read(path: Path) -> pl.DataFrame:
    return pl.concat(list(read_chunks(path, sniff_format(path), chunk_rows=1)))


def _expected() -> pl.DataFrame:
    return pl.DataFrame({"source_row": [2, 3], "nik": [ROWS[0][0], ROWS[1][0]], "child_name": [ROWS[0][1], ROWS[1][1]]})


@pytest.mark.parametrize("separator", [",", ";"])
def test_csv_comma_and_semicolon(tmp_path: Path, separator: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text("\n".join(separator.join(r) for r in [HEADER, *ROWS]) + "\n", encoding="utf-8")
    frame = _read(path)
    assert frame.select("source_row", "nik", "child_name").to_dicts() == _expected().to_dicts()
    assert frame["kelurahan_name"].to_list() == ["Medono", "Kel. Tirto"]


@pytest.mark.parametrize(("encoding", "prefix"), [("cp1252", ""), ("utf-8", "\ufeff")])
def test_csv_in_windows_encoding_or_with_bom_and_quotes(tmp_path: Path, encoding: str, prefix: str) -> None:
    path = tmp_path / "export.csv"
    rows = [HEADER, [*ROWS[0][:5], '"Medono; Utara"', *ROWS[0][6:]]]
    text = prefix + "\n".join(";".join(r) for r in rows).replace("Siti", "Sîti") + "\n"
    path.write_bytes(text.encode(encoding, errors="strict"))
    frame = _read(path)
    assert frame["child_name"].to_list() == ["Sîti Aminah"]
    assert frame["kelurahan_name"].to_list() == ["Medono; Utara"]


def test_xlsx_with_numeric_nik_dates_and_title_rows(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["Laporan e-PPGBM Puskesmas Medono"])
    sheet.write_row(2, 0, HEADER)
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for offset, row in enumerate(ROWS):
        sheet.write_number(3 + offset, 0, int(row[0]))
        sheet.write_row(3 + offset, 1, row[1:3])
        sheet.write_datetime(3 + offset, 3, dt.datetime.strptime(row[3], "%d/%m/%Y"), date_format)
        sheet.write_row(3 + offset, 4, row[4:7])
        sheet.write_number(3 + offset, 7, float(row[7]))
        sheet.write_row(3 + offset, 8, row[8:])
    workbook.close()
    frame = _read(path)
    assert frame["source_row"].to_list() == [4, 5]
    assert frame["nik"].to_list() == [ROWS[0][0], ROWS[1][0]]
    assert frame["birth_date"].to_list() == ["2023-01-05", "2023-02-02"]
    assert frame["weight"].to_list() == ["9.5", "10.1"]


def test_html_table_saved_as_xls(tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    cells = "".join(f"<th>{h}</th>" for h in HEADER)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in ROWS)
    path.write_text(f"<html><body><table border=1><tr>{cells}</tr>{body}</table></body></html>", encoding="utf-8")
    assert sniff_format(path) == "html"
    frame = _read(path)
    assert frame.select("source_row", "nik", "child_name").to_dicts() == _expected().to_dicts()


def test_binary_xls_is_rejected_with_reason(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(UnreadableFile, match="Excel 97-2003"):
        sniff_format(path)


def test_file_without_measurement_columns_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("tanggal,catatan\n01/01/2024,rapat\n")
    with pytest.raises(UnreadableFile, match="missing column"):
        list(read_chunks(path, sniff_format(path)))


def test_csv_row_with_too_many_fields_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(",".join(r) for r in [HEADER, ROWS[0], ROWS[1] + ["extra", "cells"]]) + "\n")
    with pytest.raises(UnreadableFile, match="malformed CSV"):
        list(read_chunks(path, sniff_format(path)))


def test_header_spellings_map_to_fields() -> None:
    fields = map_headers(["NIK", "Nama", "JK", "Tanggal Lahir", "Puskesmas", "TGL PENGUKURAN", "Berat (kg)", "Tinggi", "Extra"])
    assert fields == ["nik", "child_name", "sex", "birth_date", "puskesmas_name", "measured_on", "weight", "height", None]
    with pytest.raises(HeaderError, match="twice"):
        map_headers(HEADER + ["Nama Anak"])


@pytest.mark.parametrize("block_bytes", [7, 64, 1 << 20])
def test_csv_pieces_never_split_a_quoted_newline(tmp_path: Path, block_bytes: int) -> None:
    from konvergensi.ingest.readers import _csv_pieces

    rows = [f'{i},"line one\nline two {i}",x' for i in range(40)]
    path = tmp_path / "quoted.csv"
    path.write_bytes(("a,b,c\n" + "\n".join(rows) + "\n").encode())
    pieces = list(_csv_pieces(path, block_bytes))
    assert b"".join(pieces).decode() == "\n".join(rows) + "\n"
    for piece in pieces:
        assert piece.count(b'"') % 2 == 0, "a piece ends inside a quoted field"


def test_csv_rows_are_numbered_across_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import konvergensi.ingest.readers as readers

    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 300)
    path = tmp_path / "many.csv"
    body = [ROWS[i % 2][:1] + [f"Anak {i}"] + ROWS[i % 2][2:] for i in range(50)]
    path.write_text("\n".join(",".join(r) for r in [HEADER, *body]) + "\n")
    frame = pl.concat(list(read_chunks(path, "csv")))
    assert frame["source_row"].to_list() == list(range(2, 52))
    assert frame["child_name"].to_list() == [f"Anak {i}" for i in range(50)]


TITLE_BLOCK = ["LAPORAN HASIL PENIMBANGAN PUSKESMAS MEDONO", "BULAN: SEPTEMBER 2026", ""]


@pytest.mark.parametrize(
    ("separator", "encoding", "prefix"),
    [(",", "utf-8", "\ufeff"), (";", "utf-8", "\ufeff"), (";", "cp1252", ""), (",", "cp1252", "")],
)
def test_csv_with_a_title_block_above_the_header(tmp_path: Path, separator: str, encoding: str, prefix: str) -> None:
    """A re-saved export: BOM (UTF-8), CRLF, a one-cell title, a month line and an empty line above the header."""
    path = tmp_path / "export.csv"
    lines = [*TITLE_BLOCK, separator.join(HEADER), *(separator.join(r) for r in ROWS)]
    path.write_bytes((prefix + "\r\n".join(lines).replace("Siti", "Sîti") + "\r\n").encode(encoding))
    titles: list[str] = []
    frame = pl.concat(list(read_chunks(path, sniff_format(path), chunk_rows=1, title_lines=titles)))
    assert titles == TITLE_BLOCK[:2]
    assert frame["source_row"].to_list() == [5, 6]  # the header is row 4 as a spreadsheet shows it
    assert frame["nik"].to_list() == [ROWS[0][0], ROWS[1][0]]
    assert frame["child_name"].to_list() == ["Sîti Aminah", ROWS[1][1]]
    assert frame["position_raw"].to_list() == ["Terlentang", "Telentang"]  # no CR left on the last column


def test_title_cells_spread_over_columns_are_kept_as_one_line(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    lines = ["Laporan,,,", ",Puskesmas Medono,,", ",".join(HEADER), ",".join(ROWS[0])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    titles: list[str] = []
    frame = pl.concat(list(read_chunks(path, "csv", title_lines=titles)))
    assert titles == ["Laporan", "Puskesmas Medono"]
    assert frame["source_row"].to_list() == [4]


def test_csv_without_a_header_in_its_first_lines_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    lines = [f"judul {n}" for n in range(12)] + [",".join(HEADER), ",".join(ROWS[0])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="no header found in the first 10 rows"):
        list(read_chunks(path, "csv"))
