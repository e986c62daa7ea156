"""The fast worksheet reader gives, cell for cell, what openpyxl's read-only `iter_rows(values_only=True)` gives.

openpyxl is the reference: every kind of cell the exports can hold (shared and inline strings, rich
text, integers, decimals, exponents, dates, datetimes, times and durations by their style, booleans,
errors, formulas with their stored results, sparse cells, missing rows), written by the two libraries
that write .xlsx here (openpyxl itself, xlsxwriter in both of its modes) and by the simulator.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from konvergensi.ingest.xlsx_sheet import sheet_values
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

pytestmark = pytest.mark.unit


def both_readings(path: Path) -> tuple[list[tuple], list[tuple]]:
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        expected = list(sheet.iter_rows(values_only=True))
        actual = list(sheet_values(
            workbook._archive, sheet._worksheet_path, shared_strings=sheet._shared_strings,
            date_styles=workbook._date_formats, duration_styles=workbook._timedelta_formats, epoch=workbook.epoch,
            max_column=sheet.max_column, max_row=sheet.max_row,
        ))  # fmt: skip
    finally:
        workbook.close()
    return expected, actual


def test_a_workbook_written_by_openpyxl(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["NIK", "Nama", "Tgl Lahir", "Berat", "Tinggi", "KIA", "Catatan"])
    sheet.append([3375011234560001, "SITI", dt.date(2024, 2, 29), 9.5, 71, True, "#N/A"])
    sheet.append(["3375011234560002", "BUDI & ANI <x>", dt.datetime(2023, 12, 31, 23, 59), 1.25e-3, -4, False, None])
    sheet["C3"].number_format = "dd/mm/yyyy hh:mm"
    sheet["B6"] = "after two empty rows"
    sheet["J6"] = dt.time(7, 30)
    sheet["K6"] = dt.timedelta(hours=30, minutes=15)
    sheet["K6"].number_format = "[h]:mm"
    sheet["D7"] = "=D2*2"  # a formula without a stored result: no value for a data-only reader
    sheet["A8"] = CellRichText(["Posyandu ", TextBlock(InlineFont(b=True), "Mawar"), " 1"])
    sheet["A9"] = "  spaces kept  "
    sheet["A10"] = 12345678901234567890
    path = tmp_path / "openpyxl.xlsx"
    workbook.save(path)
    expected, actual = both_readings(path)
    assert actual == expected
    assert expected[1][2] == dt.datetime(2024, 2, 29) and expected[1][5] is True
    assert expected[3] == (None,) * len(expected[0]) and expected[4] == (None,) * len(expected[0])


@pytest.mark.parametrize("constant_memory", [False, True], ids=["shared strings", "inline strings"])
def test_a_workbook_written_by_xlsxwriter(tmp_path: Path, constant_memory: bool) -> None:
    path = tmp_path / "xlsxwriter.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory})
    sheet = book.add_worksheet("Data Balita")
    dates = book.add_format({"num_format": "dd/mm/yyyy"})
    merged = book.add_format({"align": "center"})
    sheet.write_row(0, 0, ["NIK", "Nama", "Tgl Lahir", "Berat", "Tinggi", "Posyandu", "Status", "Jumlah"])
    for row in range(1, 40):
        sheet.write_number(row, 0, 3375011234560000 + row)
        sheet.write_string(row, 1, f"ANAK {row}")
        sheet.write_datetime(row, 2, dt.datetime(2022, 1, 1) + dt.timedelta(days=row * 17), dates)
        sheet.write_number(row, 3, 7.5 + row / 10)
        if row % 3:
            sheet.write_number(row, 4, 60 + row)
        if row % 5 == 0:
            sheet.write_blank(row, 5, None)
        sheet.write_formula(row, 6, f'=IF(D{row + 1}>9,"Naik","Tetap")', None, "Naik" if 7.5 + row / 10 > 9 else "Tetap")
        sheet.write_formula(row, 7, f"=D{row + 1}*2", None, (7.5 + row / 10) * 2)
        if row == 20:
            sheet.write_boolean(row, 8, True)
    if not constant_memory:
        sheet.merge_range(41, 0, 43, 0, "Posyandu Melati", merged)
    sheet.write_string(50, 2, "far below")
    book.close()
    expected, actual = both_readings(path)
    assert actual == expected
    assert len(expected) == 51


def test_the_simulators_export(tmp_path: Path) -> None:
    from konvergensi_simulator import write_bench_csv

    write_bench_csv(tmp_path / "bench.csv", 300, seed=4, xlsx_path=tmp_path / "bench.xlsx")
    expected, actual = both_readings(tmp_path / "bench.xlsx")
    assert actual == expected and len(expected) == 301


def test_rows_below_a_stale_dimension_are_read(tmp_path: Path) -> None:
    """openpyxl stops at the declared dimension; a file whose dimension was not updated keeps its last rows here."""
    workbook = openpyxl.Workbook()
    for row in range(1, 6):
        workbook.active.append([f"r{row}", row])
    source = tmp_path / "right.xlsx"
    workbook.save(source)
    stale = tmp_path / "stale.xlsx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(stale, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<dimension ref="A1:B5"/>', b'<dimension ref="A1:B3"/>')
            copy.writestr(item, data)
    expected, actual = both_readings(stale)
    assert len(expected) == 3
    assert actual == [("r1", 1), ("r2", 2), ("r3", 3), ("r4", 4), ("r5", 5)]
