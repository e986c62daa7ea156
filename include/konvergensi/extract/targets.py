"""The raw tables the pulled sources land in, and how one record becomes one row of each.

A mapper returns the row as a dict of raw columns (without `extract_id`, which the framework adds)
or raises `Unusable`. Mappers are pure: they read nothing but the record and the context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from konvergensi.extract.records import (
    EARLIEST_BIRTH,
    EARLIEST_EVENT,
    MappingContext,
    Unusable,
    kk_columns,
    nik_columns,
    one_of,
    parse_bool,
    parse_date,
    parse_number,
    parse_small_int,
    parse_updated_at,
    required_text,
    text,
)

SERVICE_CODES = frozenset({
    "ANC", "TTD", "PMT_BUMIL_KEK", "KF", "KELAS_IBU_HAMIL", "KUNJUNGAN_RUMAH", "IMUNISASI_DASAR_LENGKAP",
    "VITAMIN_A", "AKTA_KELAHIRAN", "JKN", "PAUD", "KONSELING_GIZI", "KELAS_BKB", "PMT_BALITA",
    "TATA_LAKSANA_GIZI_BURUK", "ASI_EKSKLUSIF", "MPASI",
})  # fmt: skip
TARGET_TYPES = frozenset({"IBU_HAMIL", "IBU_NIFAS", "BADUTA", "BALITA", "ANAK_PRASEKOLAH"})
SERVICE_STATUSES = frozenset({"AKTIF", "BATAL"})
PREGNANCY_STATUSES = frozenset({"HAMIL", "BERSALIN", "KEGUGURAN"})
PROJECT_TYPES = frozenset({"JAMBAN_SEHAT", "TANGKI_SEPTIK", "SAMBUNGAN_AIR_MINUM", "BEDAH_RUMAH", "IPAL_KOMUNAL"})
PROJECT_STATUSES = frozenset({"DIRENCANAKAN", "SELESAI", "BATAL"})
EXPECTED_DELIVERY_HORIZON = timedelta(days=320)  # an expected date lies at most ~10 months ahead


@dataclass(frozen=True)
class Target:
    """One raw table fed by a source."""

    name: str  # the source's own name for the record kind (also prefixes quarantine ids of multi-table sources)
    table: str
    columns: tuple[str, ...]  # raw columns the mapper fills, `extract_id` excluded
    key: tuple[str, ...]
    mapper: Callable[[dict, MappingContext], dict[str, object]]
    record_id: Callable[[dict], str | None]


def _field_id(field: str) -> Callable[[dict], str | None]:
    return lambda record: text(record.get(field))


def _event(record: dict, field: str, context: MappingContext, *, required: bool = False) -> date | None:
    return parse_date(record, field, earliest=EARLIEST_EVENT, latest=context.today, required=required)


def _birth(record: dict, field: str, context: MappingContext) -> date | None:
    return parse_date(record, field, earliest=EARLIEST_BIRTH, latest=context.today)


# 1. Services API --------------------------------------------------------------------------------


def map_service(record: dict, context: MappingContext) -> dict[str, object]:
    service_id = required_text(record, "id")
    nik, nik_raw, nik_key = nik_columns(context, record.get("nik_sasaran"))
    mother_nik, mother_raw, mother_key = nik_columns(context, record.get("nik_ibu"))
    kk, kk_raw, kk_key = kk_columns(context, record.get("no_kk"))
    return {
        "service_id": service_id,
        "service_code": one_of(record, "kode_layanan", SERVICE_CODES),
        "service_date": _event(record, "tanggal_layanan", context, required=True),
        "target_type": one_of(record, "jenis_sasaran", TARGET_TYPES, required=False),
        "nik": nik,
        "nik_raw": nik_raw,
        "nik_key": nik_key,
        "person_name": text(record.get("nama_sasaran")),
        "birth_date": _birth(record, "tgl_lahir_sasaran", context),
        "mother_nik": mother_nik or mother_raw,
        "mother_nik_key": mother_key,
        "kk_number": kk or kk_raw,
        "kk_key": kk_key,
        "kelurahan_name": text(record.get("kelurahan")),
        "facility_code": text(record.get("kode_faskes")),
        "quantity": parse_number(record, "jumlah"),
        "status": one_of(record, "status", SERVICE_STATUSES),
        "updated_at": parse_updated_at(record, context),
    }


def map_pregnancy(record: dict, context: MappingContext) -> dict[str, object]:
    pregnancy_id = required_text(record, "id")
    mother_nik, mother_raw, mother_key = nik_columns(context, record.get("nik_ibu"))
    kk, kk_raw, kk_key = kk_columns(context, record.get("no_kk"))
    last_period = _event(record, "hpht", context, required=True)
    expected = parse_date(
        record, "taksiran_persalinan", earliest=EARLIEST_EVENT, latest=context.today + EXPECTED_DELIVERY_HORIZON
    )
    delivered = _event(record, "tanggal_persalinan", context)
    if delivered is not None and delivered < last_period:
        raise Unusable(f"tanggal_persalinan {delivered.isoformat()} is before hpht {last_period.isoformat()}")
    return {
        "pregnancy_id": pregnancy_id,
        "mother_nik": mother_nik,
        "mother_nik_raw": mother_raw,
        "mother_nik_key": mother_key,
        "mother_name": text(record.get("nama_ibu")),
        "mother_birth_date": _birth(record, "tgl_lahir_ibu", context),
        "kk_number": kk or kk_raw,
        "kk_key": kk_key,
        "address": text(record.get("alamat")),
        "rt": text(record.get("rt")),
        "rw": text(record.get("rw")),
        "kelurahan_name": text(record.get("kelurahan")),
        "last_menstrual_date": last_period,
        "expected_delivery_date": expected,
        "muac_cm": parse_number(record, "lila_cm"),
        "is_kek": parse_bool(record, "kek"),
        "is_high_risk": parse_bool(record, "risiko_tinggi"),
        "risk_factors": text(record.get("faktor_risiko")),
        "pregnancy_status": one_of(record, "status_kehamilan", PREGNANCY_STATUSES),
        "delivery_date": delivered,
        "facility_code": text(record.get("kode_faskes")),
        "updated_at": parse_updated_at(record, context),
    }


SERVICES = Target(
    "layanan", "raw.mch_services", (
        "service_id", "service_code", "service_date", "target_type", "nik", "nik_raw", "nik_key", "person_name",
        "birth_date", "mother_nik", "mother_nik_key", "kk_number", "kk_key", "kelurahan_name", "facility_code",
        "quantity", "status", "updated_at",
    ), ("service_id",), map_service, _field_id("id"),
)  # fmt: skip
PREGNANCIES = Target(
    "ibu-hamil", "raw.mch_pregnancies", (
        "pregnancy_id", "mother_nik", "mother_nik_raw", "mother_nik_key", "mother_name", "mother_birth_date",
        "kk_number", "kk_key", "address", "rt", "rw", "kelurahan_name", "last_menstrual_date",
        "expected_delivery_date", "muac_cm", "is_kek", "is_high_risk", "risk_factors", "pregnancy_status",
        "delivery_date", "facility_code", "updated_at",
    ), ("pregnancy_id",), map_pregnancy, _field_id("id"),
)  # fmt: skip


# 2. DTSEN ---------------------------------------------------------------------------------------


def map_household(record: dict, context: MappingContext) -> dict[str, object]:
    household_id = required_text(record, "id_rt")
    kk, kk_raw, kk_key = kk_columns(context, record.get("no_kk"))
    return {
        "household_id": household_id,
        "household_key": context.pseudonym("dtsen:" + household_id),
        "kk_number": kk,
        "kk_raw": kk_raw,
        "kk_key": kk_key,
        "kelurahan_code": text(record.get("kode_kelurahan")),
        "kelurahan_name": text(record.get("nama_kelurahan")),
        "address": text(record.get("alamat")),
        "rt": text(record.get("rt")),
        "rw": text(record.get("rw")),
        "desil": parse_small_int(record, "desil"),
        "floor_area_m2": parse_number(record, "b302_luas_lantai"),
        "floor_code": parse_small_int(record, "b303_lantai"),
        "wall_code": parse_small_int(record, "b304_dinding"),
        "roof_code": parse_small_int(record, "b305_atap"),
        "drinking_water_code": parse_small_int(record, "b306a_air_minum"),
        "defecation_code": parse_small_int(record, "b309a_fasilitas_bab"),
        "toilet_code": parse_small_int(record, "b309b_jenis_kloset"),
        "disposal_code": parse_small_int(record, "b310_pembuangan_akhir"),
        "members_count": parse_small_int(record, "jumlah_art"),
        "update_period": text(record.get("periode_pemutakhiran")),
        "updated_at": parse_updated_at(record, context),
    }


def map_member(record: dict, context: MappingContext) -> dict[str, object]:
    member_id = required_text(record, "id_art")
    nik, nik_raw, nik_key = nik_columns(context, record.get("nik"))
    return {
        "member_id": member_id,
        "household_id": required_text(record, "id_rt"),
        "nik": nik,
        "nik_raw": nik_raw,
        "nik_key": nik_key,
        "member_name": text(record.get("nama")),
        "relation_code": parse_small_int(record, "b409_hubungan"),
        "sex_code": parse_small_int(record, "jenis_kelamin"),
        "birth_date": _birth(record, "tgl_lahir", context),
        "birth_certificate_code": parse_small_int(record, "b411_akta_lahir"),
        "occupation_sector_code": parse_small_int(record, "b417_lapangan_usaha"),
        "employment_status_code": parse_small_int(record, "b418_status_pekerjaan"),
        "kms_note_code": parse_small_int(record, "b427_catatan_kms"),
        "health_insurance_code": parse_small_int(record, "b431a_jaminan_kesehatan"),
        "residence_status_code": parse_small_int(record, "status_keberadaan"),
        "updated_at": parse_updated_at(record, context),
    }


def map_programme(record: dict, context: MappingContext) -> dict[str, object]:
    year = parse_small_int(record, "tahun")
    month = parse_small_int(record, "bulan")
    if year is None or month is None:
        raise Unusable("missing tahun or bulan")
    if not 1 <= month <= 12:
        raise Unusable(f"bulan {month} is not a month")
    if not EARLIEST_EVENT.year <= year <= context.today.year:
        raise Unusable(f"tahun {year} is impossible")
    return {
        "household_id": required_text(record, "id_rt"),
        "programme": required_text(record, "program"),
        "year": year,
        "month": month,
        "updated_at": parse_updated_at(record, context),
    }


def _programme_id(record: dict) -> str | None:
    parts = [text(record.get(f)) for f in ("id_rt", "program", "tahun", "bulan")]
    return "/".join(parts) if all(parts) else None


HOUSEHOLDS = Target(
    "rumah_tangga", "raw.dtsen_households", (
        "household_id", "household_key", "kk_number", "kk_raw", "kk_key", "kelurahan_code", "kelurahan_name",
        "address", "rt", "rw", "desil", "floor_area_m2", "floor_code", "wall_code", "roof_code",
        "drinking_water_code", "defecation_code", "toilet_code", "disposal_code", "members_count", "update_period",
        "updated_at",
    ), ("household_id",), map_household, _field_id("id_rt"),
)  # fmt: skip
MEMBERS = Target(
    "anggota_rumah_tangga", "raw.dtsen_members", (
        "member_id", "household_id", "nik", "nik_raw", "nik_key", "member_name", "relation_code", "sex_code",
        "birth_date", "birth_certificate_code", "occupation_sector_code", "employment_status_code",
        "kms_note_code", "health_insurance_code", "residence_status_code", "updated_at",
    ), ("member_id",), map_member, _field_id("id_art"),
)  # fmt: skip
PROGRAMMES = Target(
    "penerimaan_program", "raw.dtsen_programmes", ("household_id", "programme", "year", "month", "updated_at"),
    ("household_id", "programme", "year", "month"), map_programme, _programme_id,
)  # fmt: skip


# 4. Public works GeoJSON ------------------------------------------------------------------------


def _point(feature: dict) -> tuple[float | None, float | None]:
    """(longitude, latitude) of a Point geometry; null geometry is allowed, anything else is not."""
    geometry = feature.get("geometry")
    if geometry is None:
        return None, None
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise Unusable(f"geometry is not a Point: {str(geometry)[:80]}")
    coordinates = geometry.get("coordinates")
    try:
        longitude, latitude = (float(c) for c in coordinates[:2])
    except (TypeError, ValueError):
        raise Unusable(f"Point coordinates {coordinates!r} are not [longitude, latitude]") from None
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        raise Unusable(f"Point coordinates {coordinates!r} are outside WGS 84")
    return longitude, latitude


def _properties(feature: dict) -> dict:
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        raise Unusable("feature without properties")
    return properties


def map_survey(feature: dict, context: MappingContext) -> dict[str, object]:
    record = _properties(feature)
    survey_id = required_text(record, "id_survei")
    kk, kk_raw, kk_key = kk_columns(context, record.get("no_kk"))
    longitude, latitude = _point(feature)
    return {
        "survey_id": survey_id,
        "kk_number": kk,
        "kk_raw": kk_raw,
        "kk_key": kk_key,
        "head_name": text(record.get("nama_kepala_keluarga")),
        "address": text(record.get("alamat")),
        "rt": text(record.get("rt")),
        "rw": text(record.get("rw")),
        "kelurahan_name": text(record.get("kelurahan")),
        "surveyed_on": _event(record, "tanggal_survei", context, required=True),
        "sanitation_access": text(record.get("akses_sanitasi")),
        "water_access": text(record.get("akses_air_minum")),
        "is_uninhabitable": parse_bool(record, "rtlh"),
        "floor_area_m2": parse_number(record, "luas_lantai_m2"),
        "occupants": parse_small_int(record, "jumlah_penghuni"),
        "longitude": longitude,
        "latitude": latitude,
        "updated_at": parse_updated_at(record, context),
    }


def map_project(feature: dict, context: MappingContext) -> dict[str, object]:
    record = _properties(feature)
    project_id = required_text(record, "id_proyek")
    kk, kk_raw, kk_key = kk_columns(context, record.get("no_kk"))
    longitude, latitude = _point(feature)
    return {
        "project_id": project_id,
        "project_type": one_of(record, "jenis", PROJECT_TYPES),
        "kk_number": kk,
        "kk_raw": kk_raw,
        "kk_key": kk_key,
        "recipient_name": text(record.get("nama_penerima")),
        "address": text(record.get("alamat")),
        "rt": text(record.get("rt")),
        "rw": text(record.get("rw")),
        "kelurahan_name": text(record.get("kelurahan")),
        "completed_on": _event(record, "tanggal_selesai", context),
        "budget_year": parse_small_int(record, "tahun_anggaran"),
        "status": one_of(record, "status", PROJECT_STATUSES),
        "longitude": longitude,
        "latitude": latitude,
        "updated_at": parse_updated_at(record, context),
    }


def _property_id(field: str) -> Callable[[dict], str | None]:
    def record_id(feature: dict) -> str | None:
        properties = feature.get("properties")
        return text(properties.get(field)) if isinstance(properties, dict) else None

    return record_id


SURVEYS = Target(
    "survei_rumah_tangga", "raw.pupr_household_surveys", (
        "survey_id", "kk_number", "kk_raw", "kk_key", "head_name", "address", "rt", "rw", "kelurahan_name",
        "surveyed_on", "sanitation_access", "water_access", "is_uninhabitable", "floor_area_m2", "occupants",
        "longitude", "latitude", "updated_at",
    ), ("survey_id",), map_survey, _property_id("id_survei"),
)  # fmt: skip
PROJECTS = Target(
    "proyek", "raw.pupr_projects", (
        "project_id", "project_type", "kk_number", "kk_raw", "kk_key", "recipient_name", "address", "rt", "rw",
        "kelurahan_name", "completed_on", "budget_year", "status", "longitude", "latitude", "updated_at",
    ), ("project_id",), map_project, _property_id("id_proyek"),
)  # fmt: skip
