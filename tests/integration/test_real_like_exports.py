"""Exports the simulator did not write (another spreadsheet writer, title rows, other header
spellings, cp1252, an HTML table with <thead>) load through the same production code."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from konvergensi.ingest.eppgbm_loader import ingest_eppgbm

pytestmark = pytest.mark.integration

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "eppgbm_exports"


def test_hand_made_exports_load(tmp_path: Path, fresh_database_url: str) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(EXPORTS, landing)
    report = ingest_eppgbm(landing, "real-like", url=fresh_database_url)
    by_file = {f.file_name: f for f in report.files}
    assert {f.status for f in report.files} == {"loaded"}
    assert (by_file["PKM KRAPYAK JANUARI 2026.xlsx"].file_format, by_file["PKM KRAPYAK JANUARI 2026.xlsx"].rows_read) == ("xlsx", 6)
    assert by_file["Laporan_PPGBM_Medono_Jan2026.xls"].file_format == "html"
    assert (by_file["pkm_klego_januari_2026.csv"].rows_loaded, by_file["pkm_klego_januari_2026.csv"].rows_quarantined) == (4, 1)
    with psycopg.connect(fresh_database_url) as connection:
        rows = dict(
            connection.execute(
                """select source_file || ':' || source_row, concat_ws(' ', nik_status, weight_kg, height_cm, position, cleaning_notes)
                   from raw.eppgbm_measurements"""
            ).fetchall()
        )
    assert rows["PKM KRAPYAK JANUARI 2026.xlsx:4"] == "valid 10.2 76.5 lying"
    assert rows["PKM KRAPYAK JANUARI 2026.xlsx:8"] == "valid 7.3 69.4 lying weight_grams"
    assert rows["PKM KRAPYAK JANUARI 2026.xlsx:6"].startswith("scientific")
    assert rows["Laporan_PPGBM_Medono_Jan2026.xls:4"] == "valid 9.3 81 lying swapped_weight_height"
    assert rows["pkm_klego_januari_2026.csv:2"] == "valid 9.8 79.1 lying decimal_comma"
