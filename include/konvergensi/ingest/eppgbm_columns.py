"""The e-PPGBM export layout: header spellings seen in real files mapped to our column names.

Real exports differ between puskesmas and application versions (`Pukesmas` vs `Puskesmas`,
`Tgl Lahir` vs `Tanggal Lahir`, upper case, trailing units). Headers are compared after
normalisation: lower case, anything but letters and digits collapsed to one space.
"""

from __future__ import annotations

import re

# our field name -> header spellings (before normalisation)
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "nik": ("NIK", "NIK Anak", "No NIK"),
    "child_name": ("Nama", "Nama Anak", "Nama Balita"),
    "sex": ("JK", "Jenis Kelamin", "L/P"),
    "birth_date": ("Tgl Lahir", "Tanggal Lahir", "Tgl. Lahir"),
    "birth_weight": ("BB Lahir", "Berat Lahir"),
    "birth_length": ("TB Lahir", "Panjang Lahir", "PB Lahir"),
    "parent_name": ("Nama Ortu", "Nama Orang Tua", "Nama Ibu"),
    "province_name": ("Prov", "Provinsi"),
    "city_name": ("Kab/Kota", "Kabupaten/Kota", "Kota"),
    "kecamatan_name": ("Kec", "Kecamatan"),
    "puskesmas_name": ("Pukesmas", "Puskesmas"),
    "kelurahan_name": ("Desa/Kel", "Desa/Kelurahan", "Kelurahan", "Desa"),
    "posyandu_name": ("Posyandu",),
    "rt": ("RT",),
    "rw": ("RW",),
    "address": ("Alamat",),
    "age_text": ("Usia Saat Ukur", "Umur Saat Ukur", "Usia"),
    "measured_on": ("Tanggal Pengukuran", "Tgl Pengukuran", "Tgl Ukur", "Tanggal Ukur"),
    "measurement_month": ("Bulan Pengukuran", "Bulan Ukur"),
    "weight": ("Berat", "BB", "Berat (kg)", "Berat Badan"),
    "height": ("Tinggi", "TB", "Tinggi (cm)", "Tinggi Badan", "PB/TB"),
    "position_raw": ("Cara Ukur",),
    "muac": ("LiLA", "LILA"),
    "eppgbm_waz_category": ("BB/U",),
    "eppgbm_waz": ("ZS BB/U",),
    "eppgbm_haz_category": ("TB/U",),
    "eppgbm_haz": ("ZS TB/U",),
    "eppgbm_whz_category": ("BB/TB",),
    "eppgbm_whz": ("ZS BB/TB",),
    "weight_gain": ("Naik Berat Badan",),
    "pmt_received": ("PMT Diterima (kg)", "PMT Diterima"),
    "vit_a_count": ("Jml Vit A", "Jumlah Vit A"),
    "kpsp": ("KPSP",),
    "kia": ("KIA",),
    "kk_number": ("Nomor KK", "No KK"),
    "parent_nik": ("NIK Orang Tua", "NIK Ortu"),
    "phone": ("No HP Orang Tua", "No HP"),
}

# Without these a file cannot be an e-PPGBM measurement export.
REQUIRED_FIELDS = ("child_name", "sex", "birth_date", "measured_on", "weight", "height")


def normalise_header(header: object) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(header or "").lower()).strip()


_LOOKUP = {normalise_header(alias): field for field, aliases in HEADER_ALIASES.items() for alias in aliases}


class HeaderError(ValueError):
    """The header row does not look like an e-PPGBM export."""


def map_headers(headers: list[object]) -> list[str | None]:
    """Our field name for each header position (None for columns we do not load).

    Raises HeaderError naming the missing columns, or a column that appears twice.
    """
    mapped: list[str | None] = []
    seen: set[str] = set()
    for header in headers:
        field = _LOOKUP.get(normalise_header(header))
        if field in seen:
            raise HeaderError(f"column {header!r} appears twice")
        if field:
            seen.add(field)
        mapped.append(field)
    missing = [HEADER_ALIASES[f][0] for f in REQUIRED_FIELDS if f not in seen]
    if missing:
        raise HeaderError(f"not an e-PPGBM export: missing column(s) {', '.join(missing)}")
    return mapped


ALL_FIELDS = tuple(HEADER_ALIASES)
