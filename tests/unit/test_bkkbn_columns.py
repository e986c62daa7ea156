"""BKKBN Pendataan Keluarga cells: header, flags, dates, counts."""

from __future__ import annotations

from datetime import date

import pytest

from konvergensi.ingest.bkkbn_columns import (
    REQUIRED_HEADERS,
    BadCell,
    BkkbnHeaderError,
    map_header,
    parse_count,
    parse_date,
    parse_flag,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("value", "expected"), [("Ya", True), ("ya", True), ("Y", True), ("1", True),
                                                 ("Tidak", False), ("tidak", False), ("T", False), ("0", False),
                                                 (" YA ", True), ("", None), (None, None)])  # fmt: skip
def test_flags(value: str | None, expected: bool | None) -> None:
    assert parse_flag("PUS", value) is expected


@pytest.mark.parametrize("value", ["Mungkin", "2", "Yes please", "-"])
def test_other_flag_values_name_the_column_and_value(value: str) -> None:
    with pytest.raises(BadCell, match=f"Jamban Layak: '{value}' is not Ya/Tidak"):
        parse_flag("Jamban Layak", value)


def test_dates() -> None:
    today = date(2026, 3, 15)
    assert parse_date("Tanggal Pendataan", "10/03/2026", today=today) == date(2026, 3, 10)
    assert parse_date("Tgl Lahir Istri", "5/7/1995", today=today) == date(1995, 7, 5)
    assert parse_date("Tgl Lahir Istri", "", today=today) is None
    with pytest.raises(BadCell, match="Tanggal Pendataan: missing"):
        parse_date("Tanggal Pendataan", " ", today=today, required=True)
    with pytest.raises(BadCell, match=r"Tanggal Pendataan: '31/02/2026' is not a date dd/mm/yyyy"):
        parse_date("Tanggal Pendataan", "31/02/2026", today=today)
    with pytest.raises(BadCell, match="is not a date"):
        parse_date("Tanggal Pendataan", "2026-03-10", today=today)
    with pytest.raises(BadCell, match="impossible"):
        parse_date("Tanggal Pendataan", "16/03/2026", today=today)
    with pytest.raises(BadCell, match="impossible"):
        parse_date("Tanggal Pendataan", "01/01/1999", today=today)


def test_counts() -> None:
    assert parse_count("Jumlah Anak", "3") == 3 and parse_count("Jumlah Anak", "") is None
    with pytest.raises(BadCell, match="Jumlah Anak: 'tiga'"):
        parse_count("Jumlah Anak", "tiga")


def test_header_in_any_case_and_order() -> None:
    header = ["no", *reversed([h.upper() for h in REQUIRED_HEADERS]), "Catatan"]
    mapped = map_header(header)
    assert mapped[0] == "No" and mapped[-1] is None and mapped[1] == "Tanggal Pendataan"


def test_wrong_header_names_the_missing_columns() -> None:
    header = [h for h in REQUIRED_HEADERS if h not in ("No KK", "Berisiko Stunting")]
    with pytest.raises(BkkbnHeaderError, match="missing column\\(s\\): No KK, Berisiko Stunting"):
        map_header(header)
