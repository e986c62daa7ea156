"""Mapping one source record to raw columns, or to a quarantine reason."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from konvergensi.extract.records import MappingContext, Unusable, normalise_kk, normalise_nik, parse_flag
from konvergensi.extract.targets import map_household, map_member, map_pregnancy, map_project, map_service, map_survey
from konvergensi.pseudonyms import Pseudonymiser
from tests.fixtures.sources.fake_http import load_fixture

pytestmark = pytest.mark.unit

KEY = bytes.fromhex("00" * 16 + "11" * 16)


@pytest.fixture
def context() -> MappingContext:
    return MappingContext(datetime(2026, 3, 5, 1, 0, tzinfo=UTC), Pseudonymiser(KEY))


def test_service_maps_to_raw_columns_with_pseudonyms(context: MappingContext) -> None:
    row = map_service(load_fixture("layanan.json")[1], context)
    assert row["service_id"] == "LYN-0002" and row["service_code"] == "TTD"
    assert row["service_date"] == date(2026, 3, 2) and row["quantity"] == Decimal("30")
    assert row["nik"] == "3375014507950001" and row["nik_raw"] == "3375014507950001"
    assert row["nik_key"] == Pseudonymiser(KEY).one("nik:3375014507950001")
    assert row["kk_key"] == Pseudonymiser(KEY).one("kk:3375010101200001")
    assert row["updated_at"] == datetime.fromisoformat("2026-03-02T09:16:00+07:00")


def test_invalid_identifiers_keep_their_text_and_get_no_key(context: MappingContext) -> None:
    row = map_service(load_fixture("layanan.json")[2], context)
    assert (row["nik"], row["nik_raw"], row["nik_key"]) == (None, None, None)
    assert (row["mother_nik"], row["mother_nik_key"]) == ("0000000000000000", None)
    assert (row["kk_number"], row["kk_key"]) == ("3.37501E+15", None)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"kode_layanan": "PIJAT_BAYI"}, "unknown kode_layanan 'PIJAT_BAYI'"),
        ({"id": None}, "missing id"),
        ({"tanggal_layanan": "2099-01-01"}, "tanggal_layanan 2099-01-01 is impossible: after 2026-03-05"),
        ({"tanggal_layanan": "1999-12-31"}, "tanggal_layanan 1999-12-31 is impossible: before 2000-01-01"),
        ({"tanggal_layanan": "02/03/2026"}, "tanggal_layanan '02/03/2026' is not a date (YYYY-MM-DD)"),
        ({"tanggal_layanan": "2026-02-30"}, "tanggal_layanan '2026-02-30' is not a date (YYYY-MM-DD)"),
        ({"updated_at": "2026-03-02 09:16"}, "updated_at '2026-03-02 09:16' has no UTC offset"),
        ({"updated_at": None}, "missing updated_at"),
        ({"jumlah": "banyak"}, "jumlah 'banyak' is not a number"),
        ({"status": "HAPUS"}, "unknown status 'HAPUS'"),
    ],
)
def test_unusable_services_get_a_reason(context: MappingContext, change: dict, reason: str) -> None:
    record = {**load_fixture("layanan.json")[0], **change}
    with pytest.raises(Unusable) as caught:
        map_service(record, context)
    assert str(caught.value) == reason


def test_pregnancy_dates_and_flags(context: MappingContext) -> None:
    records = load_fixture("ibu_hamil.json")
    first = map_pregnancy(records[0], context)
    assert first["is_kek"] is True and first["expected_delivery_date"] == date(2026, 9, 7)
    second = map_pregnancy(records[1], context)
    assert (second["mother_nik"], second["mother_nik_raw"], second["mother_nik_key"]) == (None, "33750152039", None)
    with pytest.raises(Unusable, match="hpht '10/01/2026' is not a date"):
        map_pregnancy(records[2], context)
    with pytest.raises(Unusable, match="before hpht"):
        map_pregnancy({**records[1], "tanggal_persalinan": "2025-01-01"}, context)


def test_geojson_points_null_geometry_and_other_shapes(context: MappingContext) -> None:
    surveys = load_fixture("survei_rumah_tangga.json")
    first = map_survey(surveys[0], context)
    assert (first["longitude"], first["latitude"]) == (109.6753, -6.8886)
    assert first["is_uninhabitable"] is False and first["occupants"] == 4
    assert map_survey(surveys[1], context)["longitude"] is None
    with pytest.raises(Unusable, match="geometry is not a Point"):
        map_survey(surveys[2], context)
    with pytest.raises(Unusable, match="missing id_proyek"):
        map_project(load_fixture("proyek.json")[2], context)


def test_dtsen_codes_outside_the_domain_are_kept_but_non_numbers_are_not(context: MappingContext) -> None:
    household = {
        "id_rt": "RT-1", "no_kk": "3375010101200001", "desil": 14, "b303_lantai": "99", "jumlah_art": 4,
        "updated_at": datetime(2026, 3, 1, tzinfo=UTC),
    }  # fmt: skip
    row = map_household(household, context)
    assert row["desil"] == 14 and row["floor_code"] == 99
    assert row["household_key"] == Pseudonymiser(KEY).one("dtsen:RT-1")
    with pytest.raises(Unusable, match="b303_lantai 'keramik' is not a whole number"):
        map_household({**household, "b303_lantai": "keramik"}, context)
    member = {"id_art": "ART-1", "id_rt": "RT-1", "nik": None, "updated_at": datetime(2026, 3, 1)}
    assert map_member(member, context)["updated_at"].tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "nik", "kk"),
    [
        ("3375014507950001", "3375014507950001", "3375014507950001"),
        (" 3375 0145 0795 0001 ", "3375014507950001", "3375014507950001"),
        ("'3375014507950001", "3375014507950001", "3375014507950001"),
        ("0000000000000000", None, None),
        ("337501450795000", None, None),
        ("3.37501E+15", None, None),
        ("3375019907950001", None, "3375019907950001"),  # day 99 cannot be a NIK birth day
    ],
)
def test_identifier_normalisation(value: str, nik: str | None, kk: str | None) -> None:
    assert normalise_nik(value) == (nik, value.strip())
    assert normalise_kk(value) == (kk, value.strip())


def test_flags() -> None:
    assert [parse_flag(v) for v in (True, "Ya", "y", "1", "true")] == [True] * 5
    assert [parse_flag(v) for v in (False, "Tidak", "T", "0", "false")] == [False] * 5
    assert parse_flag(None) is None and parse_flag(" ") is None
    with pytest.raises(ValueError):
        parse_flag("mungkin")
