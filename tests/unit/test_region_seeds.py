"""The region seeds nest: province → kab/kota → kecamatan → kelurahan, each code inside its parent's.

dbt checks that every kelurahan's city is in ref_kabupaten_kota (a relationships test); this reads the
CSV files themselves, so that a code typed into the wrong parent, or a city named differently in the
two seeds, fails before any warehouse is built.
"""

from __future__ import annotations

import csv

import pytest
from konvergensi.settings import REFERENCE_SEEDS_DIR

pytestmark = pytest.mark.unit


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCE_SEEDS_DIR / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_jawa_tengah_has_its_35_kabupaten_and_kota() -> None:
    regions = _rows("ref_kabupaten_kota")
    jawa_tengah = [row for row in regions if row["province_code"] == "33"]
    assert len(jawa_tengah) == 35
    assert {row["province_name"] for row in jawa_tengah} == {"Jawa Tengah"}
    by_type = {kind: sorted(row["kab_kota_code"] for row in jawa_tengah if row["kab_kota_type"] == kind)
               for kind in ("kabupaten", "kota")}
    # Kemendagri numbers kabupaten from .01 and kota from .71
    assert by_type["kabupaten"] == [f"33.{n:02d}" for n in range(1, 30)]
    assert by_type["kota"] == [f"33.{n}" for n in range(71, 77)]
    for row in jawa_tengah:
        assert row["kab_kota_name"].lower().startswith(row["kab_kota_type"]), row


def test_every_code_lies_inside_its_parent() -> None:
    regions = {row["kab_kota_code"]: row for row in _rows("ref_kabupaten_kota")}
    assert len(regions) == len(_rows("ref_kabupaten_kota")), "a kab/kota code is listed twice"
    for code, row in regions.items():
        assert code.split(".")[0] == row["province_code"], row
    for kelurahan in _rows("ref_kelurahan"):
        city = regions.get(kelurahan["city_code"])
        assert city is not None, f"kelurahan {kelurahan['kelurahan_code']}: city {kelurahan['city_code']} is not in ref_kabupaten_kota"
        assert city["kab_kota_name"] == kelurahan["city_name"], kelurahan
        assert kelurahan["kecamatan_code"].startswith(kelurahan["city_code"] + "."), kelurahan
        assert kelurahan["kelurahan_code"].startswith(kelurahan["kecamatan_code"] + "."), kelurahan
