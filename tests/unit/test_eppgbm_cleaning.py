"""Cleaning: each kind of dirt seen in real e-PPGBM exports is corrected and noted, or quarantined."""

from __future__ import annotations

import json

import polars as pl
import pytest

from konvergensi.ingest.eppgbm_cleaning import clean
from konvergensi.pseudonyms import Pseudonymiser

pytestmark = pytest.mark.unit

BASE = {
    "nik": "3375014501230001",
    "child_name": "Siti Aminah",
    "sex": "P",
    "birth_date": "05/01/2023",
    "measured_on": "10/01/2024",
    "weight": "9.5",
    "height": "75.2",
    "position_raw": "Terlentang",
    "eppgbm_haz": "-0.8",
}


def _clean_one(**changes: str | None) -> tuple[dict, dict | None]:
    row = {"source_row": 2, **BASE, **changes}
    kept, quarantined = clean(pl.DataFrame([row], schema={k: pl.Int32 if k == "source_row" else pl.String for k in row}))
    return (kept.to_dicts()[0] if kept.height else {}), (quarantined.to_dicts()[0] if quarantined.height else None)


def test_clean_row_is_unchanged() -> None:
    row, quarantined = _clean_one()
    assert quarantined is None
    assert (row["weight_kg"], row["height_cm"], row["position"], row["nik_status"]) == (9.5, 75.2, "lying", "valid")
    assert row["cleaning_notes"] is None
    assert row["eppgbm_haz"] == -0.8


@pytest.mark.parametrize(
    ("changes", "weight", "height", "note"),
    [
        ({"weight": "9,5", "height": "75,2"}, 9.5, 75.2, "decimal_comma"),
        ({"weight": "9500"}, 9.5, 75.2, "weight_grams"),
        ({"height": "752"}, 9.5, 75.2, "height_mm"),
        ({"weight": "999.99"}, None, 75.2, "weight_sentinel"),
        ({"height": "999,99"}, 9.5, None, "height_sentinel"),
        ({"weight": "75.2", "height": "9.5"}, 9.5, 75.2, "swapped_weight_height"),
        ({"height": "83..9"}, 9.5, None, "height_unparseable"),
        ({"weight": "10.7 it"}, None, 75.2, "weight_unparseable"),
    ],
)
def test_dirty_measurements_are_corrected_and_noted(changes: dict, weight: float | None, height: float | None, note: str) -> None:
    row, quarantined = _clean_one(**changes)
    assert quarantined is None
    assert row["weight_kg"] == pytest.approx(weight) if weight else row["weight_kg"] is None
    assert row["height_cm"] == pytest.approx(height) if height else row["height_cm"] is None
    assert note in row["cleaning_notes"].split(",")


def test_original_text_is_kept() -> None:
    row, _ = _clean_one(weight="9500", height="752")
    assert (row["weight_raw"], row["height_raw"]) == ("9500", "752")


@pytest.mark.parametrize(("text", "position"), [("Telentang", "lying"), ("TERLENTANG", "lying"), ("Berdiri", "standing"), (None, None)])
def test_measurement_position(text: str | None, position: str | None) -> None:
    row, _ = _clean_one(position_raw=text)
    assert row["position"] == position


@pytest.mark.parametrize(
    ("raw", "nik", "status"),
    [
        ("3375014501230001", "3375014501230001", "valid"),
        ("3375014501230001.0", "3375014501230001", "valid"),
        ("'3375014501230001", "3375014501230001", "valid"),
        ("3375014501230001,0", "3375014501230001", "valid"),
        ("3.37501E+15", None, "scientific"),
        ("3,37501E+15", None, "scientific"),
        (None, None, "missing"),
        ("0000000000000000", None, "malformed"),
        ("337501450123001", None, "malformed"),
        ("3375019901230001", None, "malformed"),
    ],
)
def test_nik_variants(raw: str | None, nik: str | None, status: str) -> None:
    row, quarantined = _clean_one(nik=raw)
    assert quarantined is None
    assert (row["nik"], row["nik_status"]) == (nik, status)
    assert row["nik_raw"] == raw


def test_sentinel_zscore_becomes_null() -> None:
    row, _ = _clean_one(eppgbm_haz="999.99")
    assert row["eppgbm_haz"] is None
    assert "zscore_sentinel" in row["cleaning_notes"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"measured_on": None}, "measurement date"),
        ({"measured_on": "31/02/2024"}, "measurement date"),
        ({"birth_date": "kemarin"}, "birth date"),
        ({"sex": "X"}, "sex"),
        ({"birth_date": "01/02/2024"}, "birth date after measurement date"),
        ({"weight": "", "height": "999.99"}, "no usable weight or height"),
        ({"nik": None, "child_name": None}, "neither NIK nor name"),
    ],
)
def test_unusable_rows_are_quarantined_with_reason(changes: dict, reason: str) -> None:
    row, quarantined = _clean_one(**changes)
    assert row == {}
    assert quarantined is not None and reason in quarantined["reason"]
    assert json.loads(quarantined["record"])["child_name"] == changes.get("child_name", BASE["child_name"])


def test_every_row_is_kept_or_quarantined() -> None:
    rows = [{**BASE, "source_row": i, "sex": ("L", "P", "?")[i % 3]} for i in range(2, 302)]
    chunk = pl.DataFrame(rows, schema={k: pl.Int32 if k == "source_row" else pl.String for k in rows[0]})
    kept, quarantined = clean(chunk)
    assert kept.height + quarantined.height == chunk.height == 300
    assert set(kept["source_row"]) | set(quarantined["source_row"]) == set(chunk["source_row"])
    assert quarantined.height == 100


def test_person_material_normalises_name() -> None:
    first, _ = _clean_one(child_name="Siti  Aminah")
    second, _ = _clean_one(child_name="SITI AMINAH.")
    assert first["person_material"] == second["person_material"] == "person:SITI AMINAH|2023-01-05|P"


def test_pseudonyms_are_keyed_and_stable() -> None:
    values = pl.Series(["a", None, "b", "a"])
    one = Pseudonymiser(b"k" * 32).column(values)
    other = Pseudonymiser(b"z" * 32).column(values)
    assert one[0] == one[3] and one[0] != one[2] and one[1] is None
    assert one[0] != other[0] and len(one[0]) == 32


def test_pseudonym_is_rfc2104_hmac_sha256() -> None:
    import hmac

    for key in (b"k" * 16, b"k" * 32, b"k" * 100):
        expected = hmac.new(key, "nik:3375014501230001".encode(), "sha256").hexdigest()[:32]
        assert Pseudonymiser(key).one("nik:3375014501230001") == expected
