"""The Web Aksi Bangda layout: rows, coverage, the UNKNOWN kelurahan and the files (no database)."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from konvergensi import aksi_export

pytestmark = pytest.mark.unit


def _score(code: str, women: int, young: int, older: int, partial: bool = False) -> dict:
    return {"quarter": "2026-Q3", "cutoff_date": dt.date(2026, 9, 30), "is_partial_quarter": partial,
            "city_code": "33.75", "city_name": "Kota Pekalongan", "kecamatan_code": "33.75.01",
            "kecamatan_name": "Pekalongan Barat", "kelurahan_code": code, "kelurahan_name": code,
            "women_targets": women, "children_0_23_targets": young, "children_2_6_targets": older,
            "women_y": 6, "women_due": 8, "women_level": Decimal("75.00"), "children_y": 9, "children_due": 12,
            "children_level": Decimal("75.00"), "combined_level": Decimal("75.00")}


def test_unknown_kelurahan_is_left_out_and_its_targets_counted() -> None:
    rows, unknown = aksi_export.score_rows([_score("33.75.01.1002", 1, 1, 0), _score("UNKNOWN", 2, 3, 4),
                                            _score("33.75.01.1003", 1, 0, 1, partial=True)])
    assert [r["kelurahan_code"] for r in rows] == ["33.75.01.1002", "33.75.01.1003"]
    assert [r["row_number"] for r in rows] == [1, 2]
    assert (rows[0]["year"], rows[0]["quarter_number"]) == (2026, 3)
    assert [r["data_status"] for r in rows] == [aksi_export.COMPLETE, aksi_export.PARTIAL]
    assert unknown == 9


@pytest.mark.parametrize(("y", "targets", "ts", "expected"), [
    (3, 5, 1, Decimal("75.00")),     # 3 of the 4 due
    (2, 3, 0, Decimal("66.67")),
    (0, 2, 2, None),                 # nothing due
    (None, 4, None, None),           # indicator without data
])
def test_indicator_coverage_is_y_over_due(y: int | None, targets: int, ts: int | None, expected: Decimal | None) -> None:
    assert aksi_export.indicator_coverage(y, targets, ts) == expected


def test_quarter_must_be_year_and_quarter() -> None:
    assert aksi_export.quarter_parts("2025-Q4") == (2025, 4)
    with pytest.raises(ValueError, match="YYYY-Qn"):
        aksi_export.quarter_parts("2025-Q5")


def test_files_have_the_upload_headers(tmp_path: Path) -> None:
    rows, _ = aksi_export.score_rows([_score("33.75.01.1002", 1, 1, 0)])
    aksi_export.write_csv(tmp_path / "s.csv", aksi_export.SCORE_COLUMNS, rows)
    aksi_export.write_xlsx(tmp_path / "s.xlsx", [("Skor Konvergensi", aksi_export.SCORE_COLUMNS, rows)])
    with (tmp_path / "s.csv").open(encoding="utf-8") as handle:
        written = list(csv.reader(handle))
    assert written[0][:4] == ["No", "Tahun", "Triwulan", "Tanggal Data"]
    assert written[1][written[0].index("Tingkat Konvergensi Desa/Kelurahan (%)")] == "75.00"
    sheet = load_workbook(tmp_path / "s.xlsx")["Skor Konvergensi"]
    assert sheet.cell(row=2, column=len(aksi_export.SCORE_COLUMNS)).value == 75.0
